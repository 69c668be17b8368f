"""Pagination of the CMS API (docs/API.md "Pagination").

Lists of accounts and contacts page by *marker*: a position in the list's key order (`TYPE:ID` for
accounts, the RPN for contacts) that need not exist. Every page is one keyset query
(`WHERE (key) >= (marker) ORDER BY key LIMIT n+1`, or `< marker ORDER BY key DESC` backward, then
reversed). The other side of the page (is there a previous page? where does the next one start?) is
read by the same statement as a `LIMIT 1` scalar subquery from the marker, or after an `offset` by
one `LIMIT 1` probe: the cost of a page does not depend on how deep it lies, and nothing ever counts
rows.

History lists page by limit/offset, with a `next` link when more records follow.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Expression, F, Q, Subquery

from .precompiled import PrecompiledQuery

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "LAST",
    "RowCompare",
    "row_compare",
    "MAX_OFFSET",
    "parse_limit",
    "parse_offset",
    "parse_direction",
    "page_url",
    "kept_params",
    "Page",
    "MarkerPagination",
    "AccountPagination",
    "ContactPagination",
    "OffsetPagination",
    "PrecompiledPages",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
LAST = "last"
FORWARD, BACKWARD = "forward", "backward"


class RowCompare(Expression):
    """`(col, ...) <op> (%s, ...)`: a row-value comparison, answered from the index on those columns."""

    output_field = BooleanField()
    conditional = True
    OPERATORS = {">", ">=", "<", "<=", "<>"}

    def __init__(self, fields, operator, values):
        if operator not in self.OPERATORS or len(fields) != len(values):
            raise ValueError("RowCompare needs one value per field and a comparison operator.")
        super().__init__()
        self.columns = [F(name) for name in fields]
        self.operator = operator
        self.values = list(values)

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = list(exprs)

    def as_sql(self, compiler, connection):
        parts, params = [], []
        for column in self.columns:
            sql, column_params = compiler.compile(column)
            parts.append(sql)
            params.extend(column_params)
        placeholders = ", ".join(["%s"] * len(self.values))
        return f"({', '.join(parts)}) {self.operator} ({placeholders})", (*params, *self.values)


def row_compare(fields, operator, values) -> Q:
    """The keys `(fields) <operator> (values)`, written so that PostgreSQL estimates them sensibly.

    PostgreSQL estimates a row comparison by its first column alone: `(type, account_id) > ('MANAGED_HOSTING', x)`
    counts as `type > 'MANAGED_HOSTING'`, no rows at all when that is the last type. Expecting a single row, it may
    read the page from an index that answers fewer of the conditions (metadata by key alone, the value filtered)
    and read far past the page. A strict comparison of several fields is therefore written non-strict, minus the
    key itself: the same rows, and the index scan starts at the same place.
    """
    if len(fields) > 1 and operator in (">", "<"):
        return Q(RowCompare(fields, operator + "=", values), RowCompare(fields, "<>", values))
    return Q(RowCompare(fields, operator, values))


# The deepest offset served: far beyond any list, and with a page added still inside a signed 64-bit integer,
# which both databases require of OFFSET.
MAX_OFFSET = 10**15


def _non_negative_int(params, name, default, minimum, maximum=None):
    """An ASCII decimal parameter (`²` is a digit to str.isdigit(), not here); 400 below `minimum` or above `maximum`.

    Digits are counted before converting, so a number of any length costs nothing (Python refuses to convert more
    than 4,300 digits); without a `maximum`, anything over 18 digits reads as 10**18, for the caller to cap.
    """
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    kind = "a positive integer" if minimum > 0 else "a non-negative integer"
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationError({name: f"{name} must be {kind}, not {raw[:40]!r}."})
    digits = raw.lstrip("0") or "0"
    if maximum is not None and (len(digits) > len(str(maximum)) or int(digits) > maximum):
        raise ValidationError({name: f"{name} must be at most {maximum}."})
    value = int(digits) if len(digits) <= 18 else 10**18
    if value < minimum:
        raise ValidationError({name: f"{name} must be {kind}, not {raw[:40]!r}."})
    return value


def parse_limit(params) -> int:
    """`limit`: default 50; larger than 1000 (however large) is 1000; anything but a positive integer is 400."""
    return min(_non_negative_int(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)


def parse_offset(params) -> int:
    """`offset`: default 0; a non-negative integer up to MAX_OFFSET, else 400."""
    return _non_negative_int(params, "offset", 0, 0, MAX_OFFSET)


def parse_direction(params) -> str:
    direction = (params.get("direction") or FORWARD).strip().lower()
    if direction not in (FORWARD, BACKWARD):
        raise ValidationError({"direction": f"direction is forward or backward, not {direction!r}."})
    return direction


def page_url(request, params) -> str:
    """Absolute URL of the requested path with these query parameters."""
    return request.build_absolute_uri(request.path) + ("?" + urlencode(params) if params else "")


def kept_params(request, names) -> list[tuple[str, str]]:
    """The filters of the request (in `names` order) that every link keeps."""
    return [(name, value) for name in names for value in request.GET.getlist(name) if value != ""]


@dataclass
class Page:
    items: list
    links: list[dict] = field(default_factory=list)


_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


class MarkerPagination:
    """Keyset pagination by marker over `key_fields`; subclasses parse and format markers.

    `rels` maps the link kinds (current, self, last, next, previous) a list shows to their rel text;
    kinds missing from it are not shown.
    """

    key_fields: tuple[str, ...] = ()
    rels: dict[str, str] = {}
    # The list's order: its key ascending, or (newest first, a change feed) descending. `forward` always walks
    # the list's own order; the comparisons and sort orders below are written for ascending and flipped here.
    descending: bool = False

    def __init__(self, filters=()):
        self.filters = tuple(filters)

    def parse_marker(self, text: str) -> tuple:
        raise NotImplementedError

    def marker_of_key(self, key: tuple) -> str:
        """The marker text of the position `key` (a tuple of `key_fields` values)."""
        raise NotImplementedError

    def marker_of(self, obj) -> str:
        return self.marker_of_key(self.key_of(obj))

    def key_of(self, obj) -> tuple:
        return tuple(getattr(obj, name) for name in self.key_fields)

    def _keyset(self, queryset, operator, key, fixed, columns):
        """`queryset` limited to the keys `operator` `key` (compared on `columns`), so that the key index answers it.

        `fixed` holds the values the filters pin the leading key fields to (`type = T` under `accountType`).
        PostgreSQL does not combine such an equality with a row comparison that starts with the same column:
        it starts reading at the first row of `T` and checks the comparison row by row, so cost grows with
        depth. With the leading fields pinned, the comparison is decided on them here, and only the rest of
        the key is compared in SQL (`type = T AND account_id >= id`: a range scan from the marker). A marker
        of another type (only ever typed by hand) keeps the full comparison.
        """
        fixed, pinned = tuple(fixed), len(fixed)
        # Only equality is decided here: ordering is the database's (its collation), never Python's.
        if fixed and pinned < len(columns) and tuple(key[:pinned]) == fixed:
            return queryset.filter(row_compare(columns[pinned:], operator, key[pinned:]))
        scope = queryset.filter(row_compare(columns, operator, key))
        if fixed:
            # A marker of another type: the bound the comparison implies on the pinned fields, which the
            # database sets against `type = T` before reading (empty when they contradict), where the row
            # comparison alone would be checked on every row of T.
            loose = ">=" if operator in (">", ">=") else "<="
            scope = scope.filter(RowCompare(columns[:pinned], loose, key[:pinned]))
        return scope

    def paginate(self, queryset, request, fixed=(), columns=None, precompiled=None) -> Page:
        """One page of `queryset` as the request asks.

        `fixed`: values the filters pin the leading key fields (and `columns`) to. `columns`: what the queryset
        is ordered and compared by, when not `key_fields` themselves: names (fields or aliases) holding the same
        values in each row, such as a joined table's copy of the key that an index of that table orders.
        `precompiled`: the `PrecompiledPages` of `queryset` (which it must be unfiltered, in key order), for
        the default pages it answers.
        """
        params = request.GET
        limit, offset, direction = parse_limit(params), parse_offset(params), parse_direction(params)
        raw_marker = (params.get("marker") or "").strip()
        marker = None if raw_marker == "" else (LAST if raw_marker == LAST else self.parse_marker(raw_marker))
        columns = tuple(columns or self.key_fields)
        if len(columns) != len(self.key_fields):
            raise ValueError("paginate needs one column per key field.")
        ascending = list(columns)
        descending = [f"-{name}" for name in columns]
        if self.descending:
            ascending, descending = descending, ascending

        def keyset(operator, key):
            return self._keyset(queryset, _FLIPPED[operator] if self.descending else operator, key, fixed, columns)

        # Beside a marker, what lies on the other side of the page is read by the page's own query, as scalar
        # subqueries PostgreSQL runs once, each an index probe from the marker: nothing precedes the page's first
        # row that does not precede the marker, and (backward) the row after the page is the first at the marker.
        beside_marker = marker not in (None, LAST) and offset == 0
        if direction == FORWARD:
            if marker == LAST:
                rows = []  # "last" going forward is past the end
            elif precompiled is not None and offset == 0 and limit == DEFAULT_LIMIT:
                rows = precompiled.fetch(marker)
            else:
                scope = queryset if marker is None else keyset(">=", marker)
                if beside_marker:
                    before = keyset("<", marker).order_by(*descending)
                    scope = scope.annotate(_cms_before=Subquery(before.values("pk")[:1]))
                rows = list(scope.order_by(*ascending)[offset : offset + limit + 1])
            following = self.key_of(rows[limit]) if len(rows) > limit else None
            rows = rows[:limit]
            if marker is None and offset == 0:
                precedes = False
            elif rows and beside_marker:
                precedes = rows[0]._cms_before is not None
            elif rows or beside_marker:
                # The nearest preceding key, read backwards from this page (or, past the end, from the marker)
                # through the key index: one entry whatever the data (EXISTS without an order may scan the table
                # for a match).
                before = keyset("<", self.key_of(rows[0]) if rows else marker).order_by(*descending)
                precedes = bool(before.values_list("pk", flat=True)[:1])
            else:
                precedes = queryset.exists()
        else:
            scope = queryset if marker in (None, LAST) else keyset("<", marker)
            if beside_marker:
                after = keyset(">=", marker).order_by(*ascending)
                scope = scope.annotate(
                    **{f"_cms_next{i}": Subquery(after.values(name)[:1]) for i, name in enumerate(self.key_fields)}
                )
            rows = list(scope.order_by(*descending)[offset : offset + limit + 1])
            precedes = len(rows) > limit
            rows = rows[:limit][::-1]
            if marker in (None, LAST) and offset == 0:
                following = None  # the page ends the list
            elif rows and beside_marker:
                following = tuple(getattr(rows[-1], f"_cms_next{i}") for i in range(len(self.key_fields)))
                following = None if following[0] is None else following
            else:
                after = keyset(">", self.key_of(rows[-1])) if rows else queryset
                first = after.order_by(*ascending).first()
                following = self.key_of(first) if first is not None else None

        base = kept_params(request, self.filters) + [("limit", limit)]
        links = []
        if "current" in self.rels:
            links.append({"rel": self.rels["current"], "href": page_url(request, base)})
        if "self" in self.rels:
            links.append({"rel": self.rels["self"], "href": request.build_absolute_uri()})
        if precedes and "previous" in self.rels:
            before = self.marker_of_key(self.key_of(rows[0])) if rows else LAST
            links.append(
                {
                    "rel": self.rels["previous"],
                    "href": page_url(request, base + [("marker", before), ("direction", BACKWARD)]),
                }
            )
        if following is not None and "next" in self.rels:
            links.append(
                {
                    "rel": self.rels["next"],
                    "href": page_url(
                        request, base + [("marker", self.marker_of_key(following)), ("direction", FORWARD)]
                    ),
                }
            )
        if "last" in self.rels:
            links.append(
                {
                    "rel": self.rels["last"],
                    "href": page_url(request, base + [("marker", LAST), ("direction", BACKWARD)]),
                }
            )
        return Page(rows, links)


class PrecompiledPages:
    """The default pages of an unfiltered marker list (DEFAULT_LIMIT rows forward, from the start or from a
    marker) as queries compiled once per connection (see PrecompiledQuery): the same SQL `paginate` builds
    for them, the row before the marker included (`_cms_before`), without compiling it on every request.

    `base(*params)` is the list's queryset before any filter (every row in the caller's view, with what the rows'
    representation reads: `select_related` names in `related`), in the pagination's order (ascending, or
    descending for a newest-first list); `params` are placeholders for its parameters (the account whose
    contacts are listed, say), given to `bound` on each request. The key fields are text or integers.
    """

    def __init__(self, pagination: MarkerPagination, base, model, related=(), params=()):
        key = pagination.key_fields
        ascending, descending = list(key), [f"-{name}" for name in key]
        below, from_ = "<", ">="
        if pagination.descending:
            ascending, descending, below, from_ = descending, ascending, ">", "<="
        count = len(params)

        def from_marker(*values):
            args, marker = values[:count], values[count:]
            before = pagination._keyset(base(*args), below, marker, (), key).order_by(*descending)
            scope = pagination._keyset(base(*args), from_, marker, (), key)
            return scope.annotate(_cms_before=Subquery(before.values("pk")[:1])).order_by(*ascending)[
                : DEFAULT_LIMIT + 1
            ]

        self.first = PrecompiledQuery(
            lambda *args: base(*args).order_by(*ascending)[: DEFAULT_LIMIT + 1],
            model,
            placeholders=list(params),
            related=related,
        )
        self.from_marker = PrecompiledQuery(
            from_marker,
            model,
            placeholders=[*params, *(_placeholder(model, name, i) for i, name in enumerate(key))],
            related=related,
            annotations=["_cms_before"],
        )

    def fetch(self, marker: tuple | None, *args) -> list:
        """The rows of the default page from `marker` (None: the first page), one more than DEFAULT_LIMIT, for the
        base's parameters `args`."""
        return self.first.fetch(*args) if marker is None else self.from_marker.fetch(*args, *marker)

    def bound(self, *args) -> "_BoundPages":
        """These pages for the base's parameters `args`, as `paginate(precompiled=...)` takes them."""
        return _BoundPages(self, args)


class _BoundPages:
    def __init__(self, pages: PrecompiledPages, args: tuple):
        self.pages, self.args = pages, args

    def fetch(self, marker: tuple | None) -> list:
        return self.pages.fetch(marker, *self.args)


def _placeholder(model, name: str, index: int):
    """A marker value no request sends, of the key field's type (see PrecompiledQuery)."""
    if model._meta.get_field(name).get_internal_type() in ("AutoField", "BigAutoField", "BigIntegerField"):
        return -(2**62) - index
    return f"\x00marker{index}"


class AccountPagination(MarkerPagination):
    """Accounts by `TYPE:ID`; rels upper case in JSON (the XML renderer lower-cases every rel)."""

    key_fields = ("type", "account_id")
    rels = {"current": "CURRENT", "self": "SELF", "previous": "PREVIOUS", "next": "NEXT", "last": "LAST"}

    def parse_marker(self, text):
        account_type, sep, account_id = text.partition(":")
        if not sep:
            raise ValidationError({"marker": "An account marker is TYPE:ID, e.g. CLOUD:440369."})
        return (account_type.upper(), account_id)

    def marker_of_key(self, key):
        return f"{key[0]}:{key[1]}"


class ContactPagination(MarkerPagination):
    """Contacts by RPN; only `next` and `previous` links."""

    key_fields = ("contact_number",)
    rels = {"previous": "previous", "next": "next"}

    def parse_marker(self, text):
        return (text,)

    def marker_of_key(self, key):
        return key[0]


class OffsetPagination:
    """limit/offset for the history lists, with a `next` link when more records follow."""

    def __init__(self, filters=()):
        self.filters = tuple(filters)

    def paginate(self, queryset, request, first_page=None) -> Page:
        """A page of `queryset`. `first_page`: a callable answering the rows of the default page (the first
        DEFAULT_LIMIT + 1), used for a request without parameters (a precompiled query, say)."""
        if first_page is not None and not request.GET:
            limit, offset, rows = DEFAULT_LIMIT, 0, list(first_page())
        else:
            limit, offset = parse_limit(request.GET), parse_offset(request.GET)
            rows = list(queryset[offset : offset + limit + 1])
        links = []
        if len(rows) > limit:
            params = kept_params(request, self.filters) + [("limit", limit), ("offset", offset + limit)]
            links.append({"rel": "next", "href": page_url(request, params)})
        return Page(rows[:limit], links)
