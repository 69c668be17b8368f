"""Declared resources: one declaration of a resource's fields, from which its representations are derived.

An app declares each resource it serves once (`accounts/representations.py`, ...): the JSON key of
every field, the attribute it reads, its type and the checks a value must pass (length, pattern,
choices), and whether it is always present or left out when absent. From that one declaration come:

- the representation function (`Resource.to_dict`, compiled once from the declaration into plain
  Python, see `compile_resource`; `Resource.represent` is the same thing interpreted, the reference the
  compiled one is tested against);
- `snapshot(obj)`: the representation, with arguments loaded from the object (the change log's
  before/after copies);
- the OpenAPI component schemas (`cmsportal.api.schema.serializer_for`);
- the staff CSV columns (`Resource.csv`: a tuple of JSON keys; `csv_header`, `csv_row`);
- the exchange's import checks, staging columns, writes, SELECTs and line encoders
  (`cmsportal/exchange/`: fields.py, staging.py, importer.py, exporter.py, encoders.py), from the
  fields' facts (`max_length`, `pattern`, `choices`, `required`, `attr`) and the declared model's
  tables (`Resource.table`, `Resource.related_table`).

Representation rules (docs/API.md "Representations"): keys in the declared order; an absent (None)
value is left out, never `null`, unless the field is `required` (always present: identifiers,
booleans); a nested object with nothing in it and an empty list are left out too; dates are
`cmsportal.dates.format_date` strings. The functions read attributes only: they never query, so any
object with the same attribute names works (rows, test doubles).

This module knows no resource by name and imports no app.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from cmsportal.dates import format_date

__all__ = [
    "Field",
    "text",
    "integer",
    "boolean",
    "date",
    "choice",
    "nested",
    "many",
    "strings",
    "Resource",
    "declaration_of",
    "snapshot",
    "compile_resource",
]

STR, INT, BOOL, DATE, CHOICE, OBJECT, LIST = "str", "int", "bool", "date", "choice", "object", "list"


@dataclass(frozen=True)
class Field:
    """One key of a representation.

    key:        the JSON key (camelCase), also the XML attribute name.
    attr:       the attribute read, dotted through relations (`customer.rcn`); None for an `arg` field.
    type:       str, int, bool, date, choice, object (a nested `resource` read from the same object,
                its attributes prefixed with `prefix`) or list (of `resource` objects read from
                `attr`.all(), or of strings).
    required:   always present; otherwise left out when None (or empty, for objects and lists).
    max_length, min_length, pattern, choices: what a valid value is (the database's and the contract's).
    wrap:       a list is written as `{wrap: [...]}` (`{"address": [...]}`).
    arg:        the value is an argument of the representation function, not an attribute; with
                `attr` (and `item_attr`), `snapshot` loads it from the object.
    """

    key: str
    attr: str | None = None
    type: str = STR
    required: bool = False
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] | None = None
    resource: "Resource | None" = None
    prefix: str = ""
    wrap: str | None = None
    arg: str | None = None
    item_attr: str | None = None
    description: str = ""


def _choices(values) -> tuple[str, ...]:
    return tuple(getattr(values, "values", values))


def text(key, attr, *, required=False, max_length=None, min_length=None, pattern=None, description="") -> Field:
    return Field(key, attr, STR, required, max_length, min_length, pattern, description=description)


def integer(key, attr, *, required=False, description="") -> Field:
    return Field(key, attr, INT, required, description=description)


def boolean(key, attr, *, description="") -> Field:
    """Booleans are always present."""
    return Field(key, attr, BOOL, True, description=description)


def date(key, attr, *, required=False, description="") -> Field:
    return Field(key, attr, DATE, required, description=description)


def choice(key, attr, choices, *, required=False, max_length=None, description="") -> Field:
    """One of `choices` (a TextChoices class or a sequence of values)."""
    return Field(key, attr, CHOICE, required, max_length, choices=_choices(choices), description=description)


def nested(key, resource, *, prefix="", required=False, description="") -> Field:
    """An object made of `resource`'s fields, read from the same object (attributes prefixed with `prefix`)."""
    return Field(key, None, OBJECT, required, resource=resource, prefix=prefix, description=description)


def many(key, attr, resource, *, wrap=None, description="") -> Field:
    """A list of `resource` objects, from `obj.<attr>.all()`; left out when empty."""
    return Field(key, attr, LIST, False, resource=resource, wrap=wrap, description=description)


def strings(
    key, *, arg, attr=None, item_attr=None, choices=None, max_length=None, wrap=None, required=False, description=""
) -> Field:
    """A list of strings given as the argument `arg` of the representation function (in the order given)."""
    return Field(
        key,
        attr,
        LIST,
        required,
        max_length,
        choices=_choices(choices) if choices is not None else None,
        wrap=wrap,
        arg=arg,
        item_attr=item_attr,
        description=description,
    )


def _model_field(model, path: str):
    """The model field at the end of a dotted attribute path, or None when a step is not a field."""
    from django.core.exceptions import FieldDoesNotExist

    *steps, last = path.split(".")
    for step in steps:
        try:
            model = model._meta.get_field(step).related_model
        except FieldDoesNotExist:
            return None
        if model is None:
            return None
    try:
        return model._meta.get_field(last)
    except FieldDoesNotExist:
        return None


@dataclass(frozen=True, eq=False)
class Resource:
    """A resource's declaration.

    name:       the record kind / element name (`customerAccount`).
    fields:     the representation's keys, in order.
    model:      the model it reads; string fields without a `max_length` take the model field's.
    component:  the OpenAPI component name.
    function:   the representation function's name (`account_to_dict`), for readable tracebacks.
    csv:        the JSON keys of the staff list's CSV columns, in column order.
    title:      the key whose value names one item where a list of them is one CSV cell.
    excluded:   model fields deliberately not represented, each with the reason (tests hold the
                declaration to the model: every model field is declared or listed here).
    computed:   attributes read that are not model fields (properties), each with what they are.
    derived:    model fields computed from the representation's values on write (a normaliser), each
                as (function, the JSON keys it takes, in order): the exchange stages them with the row.
    """

    name: str
    fields: tuple[Field, ...]
    model: type | None = None
    component: str = ""
    function: str = "to_dict"
    csv: tuple[str, ...] = ()
    title: str | None = None
    excluded: Mapping[str, str] = field(default_factory=dict)
    computed: Mapping[str, str] = field(default_factory=dict)
    derived: Mapping[str, tuple[Callable, tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self):
        if self.model is not None:
            filled = []
            for f in self.fields:
                if f.type in (STR, CHOICE) and f.attr and f.max_length is None:
                    model_field = _model_field(self.model, f.attr)
                    if model_field is not None and getattr(model_field, "max_length", None):
                        f = replace(f, max_length=model_field.max_length)
                filled.append(f)
            object.__setattr__(self, "fields", tuple(filled))
        for f in self.fields:
            # Attribute paths and argument names become Python source (compile_resource): identifiers only.
            names = [*(f.attr or "").split("."), f.prefix + "x", f.arg or "x", f.item_attr or "x"]
            if f.attr is None:
                names = names[1:]
            if not all(name.isidentifier() for name in names):
                raise ValueError(f"{self.name}.{f.key}: attributes and arguments must be identifiers")
        keys = [f.key for f in self.fields]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.name}: a key is declared twice")
        unknown = set(self.csv) - set(keys)
        if unknown:
            raise ValueError(f"{self.name}: CSV columns {sorted(unknown)} are not declared keys")
        if not self.component:
            object.__setattr__(self, "component", self.name[0].upper() + self.name[1:])
        if self.model is not None:
            _BY_MODEL.setdefault(self.model, self)

    def __repr__(self):
        return f"<Resource {self.name}>"

    # -- storage (the exchange writes and reads the tables directly) ----------------------------

    @property
    def table(self) -> str:
        """The database table of the declared model."""
        return self.model._meta.db_table

    def column(self, path: str) -> str:
        """The database column of the attribute `path` (dotted through relations: the related table's
        column); the last step of the path when it names no model field (a nested object's prefix
        applied, or a declaration without a model)."""
        model_field = _model_field(self.model, path) if self.model is not None else None
        return model_field.column if model_field is not None else path.split(".")[-1]

    def related_table(self, path: str, *, through: bool = False) -> str:
        """The table of the model at the end of the relations `path` (dotted, from the declared model;
        reverse relations by their related name), or with `through` the many-to-many table of the last."""
        model = self.model
        *steps, last = path.split(".")
        for step in steps:
            model = model._meta.get_field(step).related_model
        relation = model._meta.get_field(last)
        if through:
            return relation.remote_field.through._meta.db_table
        return relation.related_model._meta.db_table

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(f"{self.name} has no field {key!r}")

    @property
    def args(self) -> tuple[Field, ...]:
        """The fields given as arguments of the representation function, in order."""
        return tuple(f for f in self.fields if f.arg)

    def leaves(self, prefix: str = "") -> list[tuple[Field, str]]:
        """(field, attribute path) of every field read from the object itself, nested objects' fields
        included with their prefix; lists of objects by their relation, arguments by their `attr`."""
        out = []
        for f in self.fields:
            if f.type == OBJECT:
                out += f.resource.leaves(prefix + f.prefix)
            elif f.attr:
                out.append((f, prefix + f.attr))
        return out

    def attributes(self) -> list[str]:
        """Every attribute path read from the object."""
        return [path for _, path in self.leaves()]

    # -- the representation ---------------------------------------------------------------------

    def represent(self, obj, *args, **kwargs) -> dict:
        """The representation, interpreted field by field: the reference `to_dict` is compiled from."""
        values = self._bind(args, kwargs)
        return self._represent(obj, "", values)

    def _bind(self, args, kwargs) -> dict:
        values = {}
        params = self.args
        for f, value in zip(params, args, strict=False):
            values[f.arg] = value
        values.update(kwargs)
        for f in params:
            if f.arg not in values:
                if f.required:
                    raise TypeError(f"{self.function}() missing argument {f.arg!r}")
                values[f.arg] = None
        return values

    def _represent(self, obj, prefix: str, values: dict) -> dict:
        data = {}
        for f in self.fields:
            if f.type == OBJECT:
                value = f.resource._represent(obj, prefix + f.prefix, {}) or None
                if f.required and value is None:
                    value = {}
            elif f.arg:
                value = values[f.arg]
                if value is not None:
                    value = list(value)
                    value = {f.wrap: value} if f.wrap else value
            elif f.type == LIST:
                items = [f.resource._represent(item, "", {}) for item in _read(obj, prefix + f.attr).all()]
                value = ({f.wrap: items} if f.wrap else items) if items else None
            else:
                value = _read(obj, prefix + f.attr)
                if f.type == DATE and value is not None:
                    value = format_date(value)
            if value is not None or f.required:
                data[f.key] = value
        return data

    @cached_property
    def to_dict(self) -> Callable[..., dict]:
        """The representation function, compiled from the declaration (see `compile`)."""
        return compile_resource(self)

    def snapshot(self, obj) -> dict:
        """The representation of `obj` as the change log keeps it: arguments loaded from the object
        (`attr`/`item_attr` of `arg` fields; those without are left out), sorted, so that a snapshot
        does not depend on the order the database returns them in. May query, unlike `to_dict`."""
        kwargs = {}
        for f in self.args:
            if f.attr:
                related = _read(obj, f.attr).all()
                kwargs[f.arg] = sorted(_read(item, f.item_attr) if f.item_attr else str(item) for item in related)
        return self.to_dict(obj, **kwargs)

    # -- CSV ----------------------------------------------------------------------------------------

    @property
    def csv_header(self) -> list[str]:
        return list(self.csv)

    @cached_property
    def csv_row(self) -> Callable[[object], list]:
        """The values of one object's CSV row: attributes as read (None for absent), dates formatted, a
        list of objects as their `title` values joined by spaces."""
        readers = []
        for key in self.csv:
            f = self.field(key)
            if f.type == LIST and f.resource is not None:
                title = f.resource.field(f.resource.title).attr

                def cell(obj, attr=f.attr, title=title):
                    return " ".join(str(_read(item, title)) for item in _read(obj, attr).all())

            elif f.type == DATE:

                def cell(obj, attr=f.attr):
                    return format_date(_read(obj, attr))

            elif f.attr and not f.arg and f.type != OBJECT:

                def cell(obj, attr=f.attr):
                    return _read(obj, attr)

            else:
                raise ValueError(f"{self.name}.{key} cannot be a CSV column")
            readers.append(cell)
        return lambda obj: [cell(obj) for cell in readers]


_BY_MODEL: dict[type, Resource] = {}


def declaration_of(model) -> Resource:
    """The resource declared for `model` (the apps' `representations` modules are loaded on first use)."""
    if model not in _BY_MODEL:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("representations")
    return _BY_MODEL[model]


def snapshot(obj) -> dict:
    """The declared representation of a model instance, as the change log keeps it (`Resource.snapshot`)."""
    return declaration_of(type(obj)).snapshot(obj)


def _read(obj, path: str):
    """`obj.a.b`, None when a step is None."""
    for step in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, step)
    return obj


# -- compiling ------------------------------------------------------------------------------------
#
# The representation functions run for every item of every API list (a thousand accounts a page)
# and every version check. Interpreting the declaration costs a loop and several branches per field;
# the compiled function is what a careful hand would write: one `if value is not None` per optional
# field, constants inlined. tests/test_resources.py holds every compiled function equal to
# `represent` on random objects.


class _Source:
    def __init__(self):
        self.names: dict[str, object] = {"format_date": format_date}
        self.counter = 0

    def name(self, value, hint: str) -> str:
        self.counter += 1
        name = f"_{hint}{self.counter}"
        self.names[name] = value
        return name


def _access(var: str, path: str, safe: bool) -> list[str]:
    """Statements leaving `obj.<path>` in `v` (None-safe through relations when `safe`)."""
    steps = path.split(".")
    if len(steps) == 1 or not safe:
        return [f"v = {var}.{path}"]
    lines = [f"v = {var}.{steps[0]}"]
    for step in steps[1:]:
        lines.append(f"v = None if v is None else v.{step}")
    return lines


def _literal(f: Field, prefix: str, src: "_Source") -> str | None:
    """The expression of an always-present field that needs no statement, or None."""
    if not f.required:
        return None
    if f.type == OBJECT:
        parts = [_literal(inner, prefix + f.prefix, src) for inner in f.resource.fields]
        if None in parts:
            return None
        return (
            "{"
            + ", ".join(f"{inner.key!r}: {part}" for inner, part in zip(f.resource.fields, parts, strict=True))
            + "}"
        )
    if f.arg:
        return f"{{{f.wrap!r}: list({f.arg})}}" if f.wrap else f"list({f.arg})"
    if f.type == LIST:
        return None
    value = f"obj.{prefix}{f.attr}"
    return f"format_date({value})" if f.type == DATE else value


def _emit(resource: Resource, src: _Source, prefix: str, indent: str, out: list[str]) -> None:
    """Statements filling `data` with `resource`'s fields; the leading always-present ones make the
    dict literal `data = {...}`, as a careful hand would write it."""
    fields = list(resource.fields)
    leading = []
    while fields and (literal := _literal(fields[0], prefix, src)) is not None:
        leading.append(f"{fields.pop(0).key!r}: {literal}")
    out.append(f"{indent}data = {{{', '.join(leading)}}}")
    for f in fields:
        key = repr(f.key)
        literal = _literal(f, prefix, src)
        if literal is not None:
            out.append(f"{indent}data[{key}] = {literal}")
            continue
        if f.type == OBJECT:
            inner = src.name(_compile_body(f.resource, src, prefix + f.prefix), "object")
            out.append(f"{indent}v = {inner}(obj)")
            out.append(f"{indent}data[{key}] = v" if f.required else f"{indent}if v:\n{indent}    data[{key}] = v")
            continue
        if f.arg:
            value = f"{{{f.wrap!r}: list({f.arg})}}" if f.wrap else f"list({f.arg})"
            out.append(f"{indent}if {f.arg} is not None:\n{indent}    data[{key}] = {value}")
            continue
        path = prefix + f.attr
        if f.type == LIST:
            item = src.name(compile_resource(f.resource), "item")
            out.append(f"{indent}v = [{item}(x) for x in obj.{path}.all()]")
            value = f"{{{f.wrap!r}: v}}" if f.wrap else "v"
            out.append(f"{indent}if v:\n{indent}    data[{key}] = {value}")
            continue
        out += [indent + line for line in _access("obj", path, True)]
        value = "format_date(v)" if f.type == DATE else "v"
        out.append(f"{indent}if v is not None:\n{indent}    data[{key}] = {value}")


def _compile_body(resource: Resource, src: _Source, prefix: str):
    """A function obj -> dict of `resource`'s fields read with `prefix` (nested objects)."""
    body: list[str] = []
    _emit(resource, src, prefix, "    ", body)
    code = "def _object(obj):\n" + "\n".join(body) + "\n    return data\n"
    namespace = dict(src.names)
    exec(code, namespace)  # noqa: S102 - source generated from a declaration, no outside text
    return namespace["_object"]


def compile_resource(resource: Resource) -> Callable[..., dict]:
    """The representation function of `resource`, as Python source compiled once; its source is kept
    in the function's `__source__` attribute, for reading."""
    src = _Source()
    params = []
    for f in resource.args:
        params.append(f.arg if f.required else f"{f.arg}=None")
    body: list[str] = []
    _emit(resource, src, "", "    ", body)
    name = resource.function
    code = f"def {name}(obj{''.join(', ' + p for p in params)}):\n" + "\n".join(body)
    code += "\n    return data\n"
    namespace = dict(src.names)
    exec(compile(code, f"<{resource.name} representation>", "exec"), namespace)  # noqa: S102 - see above
    function = namespace[name]
    function.__source__ = code
    function.__doc__ = f"The {resource.name} representation (compiled from its declaration)."
    return function
