"""OpenAPI building blocks shared by the API's views: fault bodies and the common parameters."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from accounts.models import AccountType

from .faults import DEFAULT_MESSAGES, FAULT_NAMES


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


FAULTS = {
    status: OpenApiResponse(_fault_serializer(status), description=DEFAULT_MESSAGES[status]) for status in FAULT_NAMES
}


def faults(*statuses: int) -> dict:
    """The fault responses of an operation: the given statuses plus those every operation may answer."""
    common = (401, 404, 405, 406, 500)
    return {status: FAULTS[status] for status in sorted({*statuses, *common})}


ACCOUNT_PATH = [
    OpenApiParameter(
        "accountType",
        str,
        OpenApiParameter.PATH,
        enum=AccountType.values,
        description="Account type (matched case-insensitively).",
    ),
    OpenApiParameter("accountId", str, OpenApiParameter.PATH, description="Account id, unique within its type."),
]

LIMIT = OpenApiParameter(
    "limit", OpenApiTypes.INT, description="Records per page: default 50, at most 1000 (more is 1000)."
)
OFFSET = OpenApiParameter("offset", OpenApiTypes.INT, description="Records to skip from the marker (or the start).")
DIRECTION = OpenApiParameter(
    "direction", str, enum=["forward", "backward"], description="forward (default) or backward from the marker."
)


def marker(description: str) -> OpenApiParameter:
    return OpenApiParameter("marker", str, description=description)
