"""A change record as the feed, the webhooks and the CSV show it: one shape, here. (Not a declared resource:
its before/after hold the declared resources' snapshots, `cmsportal.resources.snapshot`.)"""

import json

from cmsportal.dates import format_date

from .access import Redactor
from .models import Change

__all__ = ["CSV_HEADER", "change_csv_row", "change_to_dict"]


def change_to_dict(change: Change, redactor: Redactor | None = None) -> dict:
    """The change as its reader may see it: `redactor` (the reader's) hides restricted metadata values;
    without one (a webhook, configured by an administrator), values are shown as recorded."""
    before, after = redactor.values(change) if redactor is not None else (change.before, change.after)
    return {
        "id": str(change.id),
        "time": format_date(change.time),
        "requestId": str(change.request_id),
        "actor": {"username": change.actor_username, "type": change.actor_type},
        "objectType": change.object_type,
        "objectKey": change.object_key,
        "action": change.action,
        "rcn": change.rcn,
        "account": change.account_key,
        "before": before,
        "after": after,
    }


CSV_HEADER = [
    "id",
    "time",
    "requestId",
    "actor",
    "actorType",
    "objectType",
    "objectKey",
    "action",
    "rcn",
    "account",
    "before",
    "after",
]


def change_csv_row(change: Change, redactor: Redactor) -> list:
    before, after = redactor.values(change)
    return [
        change.id,
        format_date(change.time),
        str(change.request_id),
        change.actor_username,
        change.actor_type,
        change.object_type,
        change.object_key,
        change.action,
        change.rcn or "",
        change.account_key or "",
        json.dumps(before, sort_keys=True) if before is not None else "",
        json.dumps(after, sort_keys=True) if after is not None else "",
    ]
