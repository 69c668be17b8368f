"""OpenAPI building blocks shared by the API's views: fault bodies, the common parameters, and the
component schemas of declared resources (`serializer_for`)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from cmsportal import resources as r

from .faults import DEFAULT_MESSAGES, FAULT_NAMES
from .pagination import MAX_OFFSET

__all__ = [
    "FAULT_BODIES",
    "FAULTS",
    "BODY_TOO_LARGE",
    "faults",
    "LIMIT",
    "OFFSET",
    "DIRECTION",
    "marker",
    "serializer_for",
]


def _fault_serializer(status: int):
    name = FAULT_NAMES[status]
    title = name[0].upper() + name[1:]
    body = inline_serializer(
        name=f"{title}FaultBody",
        fields={
            "code": serializers.IntegerField(help_text=f"{status}"),
            "message": serializers.CharField(),
            "details": serializers.CharField(required=False),
        },
    )
    return inline_serializer(name=f"{title}Fault", fields={name: body})


# One serializer per fault name: the schema has one component each, however many responses use it.
FAULT_BODIES = {status: _fault_serializer(status) for status in FAULT_NAMES}
FAULTS = {status: OpenApiResponse(FAULT_BODIES[status], description=DEFAULT_MESSAGES[status]) for status in FAULT_NAMES}
FAULTS[400] = OpenApiResponse(
    FAULT_BODIES[400],
    description="A parameter or the body is not valid (a NUL character anywhere, a limit or offset that is not a "
    "plain decimal number, malformed or too deeply nested JSON).",
)
# Answered by the server in front of the application (gunicorn, gunicorn.conf.py) with the badRequest body.
FAULTS[414] = OpenApiResponse(
    FAULT_BODIES[400], description="The request line is longer than the server accepts (8,190 bytes by default)."
)
BODY_TOO_LARGE = OpenApiResponse(
    FAULT_BODIES[413],
    description="overLimit: the request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE, "
    "2.5 MiB by default).",
)


def faults(*statuses: int) -> dict:
    """The fault responses of an operation: the given statuses plus those every operation may answer.

    An operation that takes a body (it may answer 415) may also answer 413, a body over the size limit.
    """
    common = (400, 401, 404, 405, 406, 414, 500)
    answers = {status: FAULTS[status] for status in sorted({*statuses, *common})}
    if 415 in statuses:
        answers[413] = BODY_TOO_LARGE
        answers = dict(sorted(answers.items()))
    return answers


LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1},
    description="Records per page: default 50, at most 1000 (more is 1000). ASCII digits only.",
)
OFFSET = OpenApiParameter(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
    description="Records to skip from the marker (or the start). ASCII digits only.",
)
DIRECTION = OpenApiParameter(
    "direction", str, enum=["forward", "backward"], description="forward (default) or backward from the marker."
)


def marker(description: str) -> OpenApiParameter:
    return OpenApiParameter("marker", str, description=description)


# -- declared resources ----------------------------------------------------------------------------
#
# drf-spectacular describes serializers; these are built from a resource's declaration
# (cmsportal/resources.py) and only ever describe: the views return the representation functions'
# dicts. One class per (resource, always-present keys), so each component is described once.

_DESCRIBED: dict = {}


def serializer_for(resource: r.Resource, *, always: tuple[str, ...] = ()) -> type[serializers.Serializer]:
    """The serializer class describing `resource`, named `<component>Serializer` (its component is
    `<component>`). `always`: keys the API always writes although the declaration lets them be left
    out (an argument the view always passes)."""
    cache_key = (id(resource), tuple(always))
    if cache_key not in _DESCRIBED:
        fields = {f.key: _describe(f, f.required or f.key in always) for f in resource.fields}
        _DESCRIBED[cache_key] = type(f"{resource.component}Serializer", (serializers.Serializer,), fields)
    return _DESCRIBED[cache_key]


def _wrapper(f: r.Field, items) -> type[serializers.Serializer]:
    """`{wrap: [...]}`, as the component named after the key (`addresses` -> Addresses)."""
    name = f.key[0].upper() + f.key[1:]
    cache_key = (name, f.wrap)
    if cache_key not in _DESCRIBED:
        _DESCRIBED[cache_key] = type(f"{name}Serializer", (serializers.Serializer,), {f.wrap: items})
    return _DESCRIBED[cache_key]


def _scalar(f: r.Field, **options) -> serializers.Field:
    if f.type == r.BOOL:
        return serializers.BooleanField(**options)
    if f.type == r.INT:
        return serializers.IntegerField(**options)
    if f.type == r.DATE:
        return serializers.DateTimeField(**options)
    if f.choices:
        return serializers.ChoiceField(list(f.choices), **options)
    lengths = {"max_length": f.max_length, "min_length": f.min_length}
    if f.pattern:
        return serializers.RegexField(f.pattern, **lengths, **options)
    return serializers.CharField(**lengths, **options)


def _describe(f: r.Field, required: bool) -> serializers.Field:
    options = {"required": required}
    if f.description:
        options["help_text"] = f.description
    if f.type == r.OBJECT:
        return serializer_for(f.resource)(**options)
    if f.type == r.LIST:
        if f.resource is not None:
            items = serializer_for(f.resource)(many=True)
        else:
            items = serializers.ListField(child=_scalar(f))
        if f.wrap:
            return _wrapper(f, items)(**options)
        return items if f.resource is None else serializer_for(f.resource)(many=True, **options)
    return _scalar(f, **options)
