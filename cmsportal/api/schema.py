"""OpenAPI building blocks shared by the API's views: fault bodies and the common parameters."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from accounts.choices import AccountType

from .faults import DEFAULT_MESSAGES, FAULT_NAMES
from .pagination import MAX_OFFSET


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


ACCOUNT_PATH = [
    OpenApiParameter(
        "accountType",
        str,
        OpenApiParameter.PATH,
        enum=AccountType.values,
        description="Account type (matched case-insensitively).",
    ),
    OpenApiParameter(
        "accountId",
        {"type": "string", "minLength": 1, "maxLength": 64},
        OpenApiParameter.PATH,
        description="Account id, unique within its type.",
    ),
]

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
