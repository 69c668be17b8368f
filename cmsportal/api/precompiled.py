"""Fixed-shape ORM queries compiled to SQL once per database connection, then run with new parameters.

Compiling a queryset (resolving lookups, joins, select lists) costs about a millisecond of CPU, more
than PostgreSQL needs to answer an indexed lookup. The queries every API call makes (the token, the
account in the path) always have the same shape, so they are built with the ORM once per connection,
with placeholder values, and afterwards only their parameters change. The SQL is Django's own (same
quoting, same vendor), the values go through the same converters, and the rows become ordinary model
instances; a query like this still shows in `connection.queries` and in query-count assertions.

On PostgreSQL the SQL also runs as a server-side prepared statement (unless
`CMS_PREPARED_STATEMENTS` is off): PostgreSQL then parses and plans it once per connection. Planning
the token query (a join and two EXISTS) took 0.3-0.5 ms and the account query 0.2 ms, against
0.03-0.06 ms to execute either; on a shared two-core machine that planning competes with the
application for the same CPUs. Both queries select by a unique key, so the generic plan PostgreSQL
settles on is the plan every value gets.
"""

import threading
from collections.abc import Callable, Sequence

import orjson
from django.conf import settings
from django.db import connections, router
from django.db.models import ForeignKey, Model, QuerySet, fields
from django.db.models.base import ModelState
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

__all__ = ["PrecompiledQuery", "PrecompiledTogether"]


def _plain(model: type[Model], attnames: Sequence[str]) -> bool:
    """Whether `Model.from_db` of every column would only store the values (while no receiver listens to the
    model's init signals, checked on each fetch): the model keeps Django's `from_db` and each attribute is a
    plain deferred attribute (the foreign keys' one checks a cache that a new instance does not have yet)."""
    if model.from_db.__func__ is not Model.from_db.__func__:
        return False
    if len(attnames) != len(model._meta.concrete_fields):
        return False
    return all(isinstance(getattr(model, name, None), DeferredAttribute) for name in attnames)


def _cursor(connection):
    """A cursor for `connection`; on PostgreSQL (cmsportal.postgresql) one whose statements are prepared."""
    if getattr(settings, "CMS_PREPARED_STATEMENTS", True) and hasattr(connection, "prepared_cursor"):
        return connection.prepared_cursor()
    return connection.cursor()


class PrecompiledQuery:
    """`build(*placeholders)` (a QuerySet of `model`) compiled once per connection; `fetch(*values)` runs it.

    `placeholders` are values of the right type that no real call uses: every one must reach the SQL
    parameters unchanged (a lookup that transforms its value cannot be precompiled; this is checked).
    `related` names forward foreign keys whose objects are loaded with each row (like select_related);
    `annotations` names annotations of `build`'s queryset, set as attributes on each instance.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet],
        model: type[Model],
        placeholders: Sequence,
        related: Sequence[str] = (),
        annotations: Sequence[str] = (),
    ):
        self.build = build
        self.model = model
        self.placeholders = tuple(placeholders)
        self.related = [(name, model._meta.get_field(name).related_model) for name in related]
        self.annotations = tuple(annotations)
        self._local = threading.local()  # a connection belongs to one thread; so does its compiled query

    def _attnames(self, model) -> list[str]:
        return [field.attname for field in model._meta.concrete_fields]

    def _compile(self, using: str):
        queryset = self.build(*self.placeholders).using(using)
        own = self._attnames(self.model)
        names = [*own]
        for name, related_model in self.related:
            names.extend(f"{name}__{attname}" for attname in self._attnames(related_model))
        compiler = queryset.values_list(*names, *self.annotations).query.get_compiler(using)
        sql, params = compiler.as_sql()
        selected = [*compiler.query.values_select, *compiler.query.annotation_select]
        if selected != [*names, *self.annotations]:
            raise ValueError(f"Unexpected select list for {self.model.__name__}: {selected}")
        slots: list[tuple[int, int]] = []  # (parameter position, placeholder index)
        for index, placeholder in enumerate(self.placeholders):
            positions = [
                pos for pos, value in enumerate(params) if value == placeholder and type(value) is type(placeholder)
            ]
            if not positions:
                raise ValueError(f"Placeholder {placeholder!r} does not reach the SQL of {self.model.__name__}.")
            slots.extend((pos, index) for pos in positions)
        converters = compiler.get_converters([entry[0] for entry in compiler.select[: compiler.col_count]])
        layout = [
            (None, self.model, own, _plain(self.model, own)),
            *(
                (name, model, self._attnames(model), _plain(model, self._attnames(model)) and self._cacheable(name))
                for name, model in self.related
            ),
        ]
        return compiler, sql, list(params), slots, converters, layout

    def _cacheable(self, name: str) -> bool:
        """Whether the related object can go straight into the instance's cache: a many-to-one key (a one-to-one
        descriptor also fills the other side's cache), read with its own key column already set."""
        field = self.model._meta.get_field(name)
        return type(field) is ForeignKey and field.remote_field.multiple

    def compiled(self, using: str):
        """(compiler, sql, parameter template, slots, converters, layout) for connection `using`."""
        cache = getattr(self._local, "compiled", None)
        if cache is None:
            cache = self._local.compiled = {}
        if using not in cache:
            cache[using] = self._compile(using)
        return cache[using]

    def parameters(self, using: str, values: Sequence) -> list:
        """The SQL parameters for these values."""
        _, _, template, slots, _, _ = self.compiled(using)
        params = list(template)
        for pos, index in slots:
            params[pos] = values[index]
        return params

    def fetch(self, *values, using: str | None = None) -> list[Model]:
        """The instances the query answers for these values (in the order of the placeholders), read from
        `using` or, by default, where the database routers send reads of the model (cmsportal/replicas.py)."""
        if using is None:
            using = router.db_for_read(self.model)
        compiler, sql, _, _, converters, _ = self.compiled(using)
        with _cursor(connections[using]) as cursor:
            cursor.execute(sql, self.parameters(using, values))
            rows = cursor.fetchall()
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        return self.instances(using, rows)

    def instances(self, using: str, rows) -> list[Model]:
        """Model instances of rows of the query's select list (converted)."""
        layout = self.compiled(using)[5]
        if any(pre_init.has_listeners(entry[1]) or post_init.has_listeners(entry[1]) for entry in layout):
            layout = [(name, model, attnames, False) for name, model, attnames, _ in layout]
        return [self._instance(using, layout, row) for row in rows]

    def _instance(self, using: str, layout, row) -> Model:
        obj, start = None, 0
        for name, model, attnames, plain in layout:
            values = row[start : start + len(attnames)]
            start += len(attnames)
            if name is None:
                obj = _from_db(model, using, attnames, values) if plain else model.from_db(using, attnames, values)
            else:
                # A nullable foreign key is a LEFT JOIN: no related row reads as None everywhere.
                missing = values[attnames.index(model._meta.pk.attname)] is None
                if plain:
                    # What the descriptor's __set__ does for a many-to-one key whose column already holds the key.
                    obj._state.fields_cache[name] = None if missing else _from_db(model, using, attnames, values)
                else:
                    setattr(obj, name, None if missing else model.from_db(using, attnames, values))
        for name, value in zip(self.annotations, row[start:], strict=True):
            setattr(obj, name, value)
        return obj


def _from_db(model: type[Model], using: str, attnames: Sequence[str], values: Sequence) -> Model:
    """`model.from_db(using, attnames, values)` for a model `_plain` accepts, without Model.__init__'s per-field
    work (its signals have no receivers and its setattr calls only store): about a third of the cost."""
    obj = model.__new__(model)
    state = obj._state = ModelState()
    state.adding = False
    state.db = using
    obj.__dict__.update(zip(attnames, values, strict=True))
    return obj


# Fields whose values JSON carries unchanged (str, int, bool, null) and that no converter touches on PostgreSQL.
_JSON_SAFE = (
    fields.CharField,
    fields.TextField,
    fields.BooleanField,
    fields.IntegerField,  # and its big, small and auto kinds
)


def _json_safe(field) -> bool:
    if isinstance(field, ForeignKey):
        return _json_safe(field.target_field)
    if isinstance(field, fields.generated.GeneratedField):
        return _json_safe(field.output_field)
    return isinstance(field, _JSON_SAFE)


class PrecompiledTogether:
    """Several PrecompiledQuery that take the same values, run as one statement: one round trip, one execution.

    On PostgreSQL each query becomes a column of one row: its rows as a JSON array of arrays (in the query's
    order), which become the same model instances `fetch` makes. Only columns that JSON carries unchanged may
    be read this way (text, integers, booleans; checked when compiled). Elsewhere each query runs by itself.
    """

    def __init__(self, *queries: PrecompiledQuery):
        self.queries = queries
        self._local = threading.local()

    def _compile(self, using: str) -> str:
        columns = []
        for query in self.queries:
            compiler, sql, _, _, converters, layout = query.compiled(using)
            unsafe = [
                f"{model.__name__}.{attname}"
                for _, model, attnames, _ in layout
                for attname in attnames
                if not _json_safe(next(f for f in model._meta.concrete_fields if f.attname == attname))
            ]
            if unsafe or converters or query.annotations:
                raise ValueError(f"Not readable as JSON: {unsafe or 'converted or annotated columns'}")
            width = compiler.col_count
            names = [f"c{i}" for i in range(width)]
            own = layout[0][2]
            order = []
            for entry in compiler.query.order_by:
                descending = entry.startswith("-")
                name = entry.lstrip("-")
                if name not in own:
                    raise ValueError(f"{query.model.__name__} is ordered by {entry}, not one of its own columns")
                order.append(f"q.c{own.index(name)}{' DESC' if descending else ''}")
            ordering = f" ORDER BY {', '.join(order)}" if order else ""
            # Django's compiled SQL and column names of our own; every value is a parameter.
            rows = f"json_agg(json_build_array({', '.join('q.' + n for n in names)}){ordering})"
            columns.append(f"(SELECT coalesce({rows}, '[]')::text FROM ({sql}) AS q({', '.join(names)}))")  # noqa: S608
        return "SELECT " + ", ".join(columns)

    def fetch(self, *values, using: str | None = None) -> list[list[Model]]:
        """For each query, the instances it answers for these values."""
        if using is None:
            using = router.db_for_read(self.queries[0].model)
        connection = connections[using]
        if connection.vendor != "postgresql":
            return [query.fetch(*values, using=using) for query in self.queries]
        cache = getattr(self._local, "sql", None)
        if cache is None:
            cache = self._local.sql = {}
        if using not in cache:
            cache[using] = self._compile(using)
        params = [param for query in self.queries for param in query.parameters(using, values)]
        with _cursor(connection) as cursor:
            cursor.execute(cache[using], params)
            row = cursor.fetchone()
        return [query.instances(using, orjson.loads(column)) for query, column in zip(self.queries, row, strict=True)]
