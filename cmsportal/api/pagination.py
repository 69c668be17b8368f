"""Pagination of the CMS API (API.md "Pagination").

Lists of accounts and contacts page by *marker*: a position in the list's key order (`TYPE:ID` for
accounts, the RPN for contacts) that need not exist. Every page is one keyset query
(`WHERE (key) >= (marker) ORDER BY key LIMIT n+1`, or `< marker ORDER BY key DESC` backward, then
reversed), plus at most one `LIMIT 1` probe for the other side of the page: the cost of a page does
not depend on how deep it lies, and nothing ever counts rows.

History lists page by limit/offset, with a `next` link when more records follow.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Expression, F

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
LAST = "last"
FORWARD, BACKWARD = "forward", "backward"


class RowCompare(Expression):
    """`(col, ...) <op> (%s, ...)`: a row-value comparison, answered from the index on those columns."""

    output_field = BooleanField()
    conditional = True
    OPERATORS = {">", ">=", "<", "<="}

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


def _positive_int(params, name, default, minimum):
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not raw.isdigit() or int(raw) < minimum:
        kind = "a positive integer" if minimum > 0 else "a non-negative integer"
        raise ValidationError({name: f"{name} must be {kind}, not {raw!r}."})
    return int(raw)


def parse_limit(params) -> int:
    """`limit`: default 50; larger than 1000 is 1000; anything but a positive integer is 400."""
    return min(_positive_int(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)


def parse_offset(params) -> int:
    return _positive_int(params, "offset", 0, 0)


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


class MarkerPagination:
    """Keyset pagination by marker over `key_fields`; subclasses parse and format markers.

    `rels` maps the link kinds (current, self, last, next, previous) a list shows to their rel text;
    kinds missing from it are not shown.
    """

    key_fields: tuple[str, ...] = ()
    rels: dict[str, str] = {}

    def __init__(self, filters=()):
        self.filters = tuple(filters)

    def parse_marker(self, text: str) -> tuple:
        raise NotImplementedError

    def marker_of(self, obj) -> str:
        raise NotImplementedError

    def key_of(self, obj) -> tuple:
        return tuple(getattr(obj, name) for name in self.key_fields)

    def _where(self, operator, key):
        return RowCompare(self.key_fields, operator, key)

    def paginate(self, queryset, request) -> Page:
        params = request.GET
        limit, offset, direction = parse_limit(params), parse_offset(params), parse_direction(params)
        raw_marker = (params.get("marker") or "").strip()
        marker = None if raw_marker == "" else (LAST if raw_marker == LAST else self.parse_marker(raw_marker))
        ascending = list(self.key_fields)
        descending = [f"-{name}" for name in self.key_fields]

        if direction == FORWARD:
            if marker == LAST:
                rows = []  # "last" going forward is past the end
            else:
                scope = queryset if marker is None else queryset.filter(self._where(">=", marker))
                rows = list(scope.order_by(*ascending)[offset : offset + limit + 1])
            following = rows[limit] if len(rows) > limit else None
            rows = rows[:limit]
            if marker is None and offset == 0:
                precedes = False
            elif rows:
                precedes = queryset.filter(self._where("<", self.key_of(rows[0]))).exists()
            else:
                precedes = queryset.exists()
        else:
            scope = queryset if marker in (None, LAST) else queryset.filter(self._where("<", marker))
            rows = list(scope.order_by(*descending)[offset : offset + limit + 1])
            precedes = len(rows) > limit
            rows = rows[:limit][::-1]
            after = queryset.filter(self._where(">", self.key_of(rows[-1]))) if rows else queryset
            following = after.order_by(*ascending).first()

        base = kept_params(request, self.filters) + [("limit", limit)]
        links = []
        if "current" in self.rels:
            links.append({"rel": self.rels["current"], "href": page_url(request, base)})
        if "self" in self.rels:
            links.append({"rel": self.rels["self"], "href": request.build_absolute_uri()})
        if precedes and "previous" in self.rels:
            before = self.marker_of(rows[0]) if rows else LAST
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
                    "href": page_url(request, base + [("marker", self.marker_of(following)), ("direction", FORWARD)]),
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


class AccountPagination(MarkerPagination):
    """Accounts by `TYPE:ID`; rels upper case in JSON (the XML renderer lower-cases every rel)."""

    key_fields = ("type", "account_id")
    rels = {"current": "CURRENT", "self": "SELF", "previous": "PREVIOUS", "next": "NEXT", "last": "LAST"}

    def parse_marker(self, text):
        account_type, sep, account_id = text.partition(":")
        if not sep:
            raise ValidationError({"marker": "An account marker is TYPE:ID, e.g. CLOUD:440369."})
        return (account_type.upper(), account_id)

    def marker_of(self, obj):
        return obj.marker


class ContactPagination(MarkerPagination):
    """Contacts by RPN; only `next` and `previous` links."""

    key_fields = ("contact_number",)
    rels = {"previous": "previous", "next": "next"}

    def parse_marker(self, text):
        return (text,)

    def marker_of(self, obj):
        return obj.contact_number


class OffsetPagination:
    """limit/offset for the history lists, with a `next` link when more records follow."""

    def __init__(self, filters=()):
        self.filters = tuple(filters)

    def paginate(self, queryset, request) -> Page:
        limit, offset = parse_limit(request.GET), parse_offset(request.GET)
        rows = list(queryset[offset : offset + limit + 1])
        links = []
        if len(rows) > limit:
            params = kept_params(request, self.filters) + [("limit", limit), ("offset", offset + limit)]
            links.append({"rel": "next", "href": page_url(request, params)})
        return Page(rows[:limit], links)
