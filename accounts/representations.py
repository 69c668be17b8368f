"""Customers, accounts and the three trails, declared once (docs/API.md "Representations").

Each declaration gives the JSON key, the attribute, the type and the checks of every field, in the
order the API writes them. The representation functions below are compiled from them
(`cmsportal.resources`); so are the OpenAPI components (`api/serializers.py`), the staff list's CSV
columns (`csv`), and the change log's snapshots (`Resource.snapshot`).

The functions are pure: they read attributes only and never query. Callers load `account.customer`
first (select_related). Any object with the same attribute names works.
"""

from cmsportal import resources as r

from .models import (
    RCN_RE,
    AccessPolicy,
    Account,
    AccountChangeType,
    AccountHistory,
    AccountStatus,
    AccountType,
    CollectionsStatus,
    Customer,
    FraudStatus,
    RCNChange,
    RCNChangeType,
    StatusChange,
    UserType,
)

__all__ = [
    "ACCOUNT_ID_RE",
    "TRAIL_EXCLUDED",
    "CUSTOMER",
    "ACCOUNT",
    "STATUS_CHANGE",
    "ACTOR",
    "ACCOUNT_HISTORY",
    "RCN_CHANGE",
    "RESOURCES",
    "customer_to_dict",
    "account_to_dict",
    "status_change_to_dict",
    "account_history_to_dict",
    "rcn_change_to_dict",
]

# An account id travels in URL paths (`TYPE/ID`): not empty, no '/', no control characters.
ACCOUNT_ID_RE = r"^[^/\x00-\x1f\x7f]+$"

TRAIL_EXCLUDED = {
    "id": "the database key",
    "account": "the trail's account: named by the API path, and by accountType/accountId beside the entry in the "
    "exchange format",
}

CUSTOMER = r.Resource(
    "customer",
    model=Customer,
    function="customer_to_dict",
    fields=(
        r.text("rcn", "rcn", required=True, pattern=RCN_RE),
        r.text("name", "name"),
    ),
    csv=("rcn", "name"),
    excluded={
        "id": "the database key; the RCN identifies a customer",
        "implicit": "import bookkeeping: created only because a record named the RCN; the export leaves it out",
    },
)

ACCOUNT = r.Resource(
    "customerAccount",
    model=Account,
    component="Account",
    function="account_to_dict",
    fields=(
        r.text("id", "account_id", required=True, min_length=1, pattern=ACCOUNT_ID_RE),
        r.choice("type", "type", AccountType, required=True),
        r.integer("number", "number"),
        r.text("rcn", "customer.rcn", required=True, pattern=RCN_RE),
        r.text("name", "name"),
        r.text("nickname", "nickname"),
        r.choice("status", "status", AccountStatus),
        r.text("tenantId", "tenant_id"),
        r.text("domain", "domain"),
        r.text("serviceLevel", "service_level"),
        r.choice("collectionsStatus", "collections_status", CollectionsStatus),
        r.choice("accessPolicy", "access_policy", AccessPolicy),
        r.integer("parentAccountNumber", "parent_account_number"),
        r.text("createdBy", "created_by"),
        r.date("createdDate", "created_date"),
        r.text("lastUpdatedBy", "last_updated_by"),
        r.date("lastUpdatedDate", "last_updated_date"),
    ),
    csv=(
        "type",
        "id",
        "number",
        "rcn",
        "name",
        "nickname",
        "status",
        "collectionsStatus",
        "accessPolicy",
        "tenantId",
        "domain",
        "serviceLevel",
    ),
    excluded={"id": "the database key; TYPE/ID identifies an account"},
)

STATUS_CHANGE = r.Resource(
    "statusChange",
    model=StatusChange,
    function="status_change_to_dict",
    fields=(
        r.date("date", "date", required=True),
        # Free text: the trail keeps what was recorded, including statuses no longer offered.
        r.text("status", "status"),
        r.text("username", "username"),
        r.choice("usertype", "usertype", UserType),
        r.choice("collectionsStatus", "collections_status", CollectionsStatus),
        r.choice("accessPolicy", "access_policy", AccessPolicy),
        r.choice("fraudStatus", "fraud_status", FraudStatus),
    ),
    # The reason staff give for a risky change is kept for the staff pages; the documented statusChange
    # shape (API and exchange) has no such field.
    excluded={**TRAIL_EXCLUDED, "reason": "staff pages only: not in the documented statusChange shape"},
)

# Who made a change: read from the history entry's `<prefix>username` and `<prefix>type`.
ACTOR = r.Resource(
    "actor",
    fields=(
        r.text("username", "username", max_length=150),
        r.choice("type", "type", UserType, max_length=16),
    ),
)

ACCOUNT_HISTORY = r.Resource(
    "customerAccountHistory",
    model=AccountHistory,
    component="AccountHistoryEntry",
    function="account_history_to_dict",
    fields=(
        r.choice("accountChangeType", "change_type", AccountChangeType, required=True),
        r.text("rcn", "rcn", pattern=RCN_RE),
        r.date("updatedDate", "updated_date"),
        # Free text, as recorded (see STATUS_CHANGE).
        r.text("accountStatus", "account_status"),
        r.text("collectionsStatus", "collections_status"),
        r.text("nickname", "nickname"),
        r.nested("updatedBy", ACTOR, prefix="updated_by_"),
        r.nested("destinationUpdatedBy", ACTOR, prefix="destination_updated_by_"),
    ),
    excluded=TRAIL_EXCLUDED,
)

RCN_CHANGE = r.Resource(
    "accountRCNChange",
    model=RCNChange,
    component="RCNChange",
    function="rcn_change_to_dict",
    fields=(
        r.choice("accountChangeType", "change_type", RCNChangeType, required=True),
        r.text("username", "username"),
        r.text("rcn", "rcn", pattern=RCN_RE),
        r.date("date", "date"),
    ),
    excluded=TRAIL_EXCLUDED,
)

RESOURCES = (CUSTOMER, ACCOUNT, STATUS_CHANGE, ACCOUNT_HISTORY, RCN_CHANGE)

customer_to_dict = CUSTOMER.to_dict
account_to_dict = ACCOUNT.to_dict
status_change_to_dict = STATUS_CHANGE.to_dict
account_history_to_dict = ACCOUNT_HISTORY.to_dict
rcn_change_to_dict = RCN_CHANGE.to_dict
