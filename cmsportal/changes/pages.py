"""The change log as the staff pages show it: rows with their before/after diff and a link to the object.

Shared by the global change log (cmsportal.changes.views) and the "Changes" sections of the customer,
account and contact pages. Every read goes through `visible_changes`; values the reader may not read are
redacted with the reader's `Redactor`. A page of rows costs one query for the rows, one for which of their
objects the reader can still open, and one for the reader's unreadable namespaces when a row has one.
"""

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Concat
from django.urls import reverse

from cmsportal.identity.access import visible_accounts, visible_contacts, visible_customers

from .access import Redactor, visible_changes
from .choices import Action, ObjectType
from .models import Change

__all__ = ["SECTION_ROWS", "ChangeRow", "change_rows", "changes_section", "DiffLine"]

# The latest changes a detail page shows; the rest are one link away on the change log.
SECTION_ROWS = 10
# The fields of a change's diff shown at once.
DIFF_SHOWN = 6


@dataclass(frozen=True)
class DiffLine:
    key: str
    old: str
    new: str


@dataclass
class ChangeRow:
    """One change as a page shows it: the record, the object's page (None when gone or out of sight), the diff."""

    change: Change
    url: str | None
    lines: list[DiffLine] = field(default_factory=list)
    show_old: bool = True
    show_new: bool = True

    @property
    def head(self) -> list[DiffLine]:
        """The lines shown at once; the rest (`tail`) behind a "more" (a created object lists every field)."""
        return self.lines[:DIFF_SHOWN]

    @property
    def tail(self) -> list[DiffLine]:
        return self.lines[DIFF_SHOWN:]


def _shown(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _diff(before: dict | None, after: dict | None) -> list[DiffLine]:
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [DiffLine(key, _shown(before.get(key)), _shown(after.get(key))) for key in keys]


def _account_of(change: Change) -> str | None:
    """The account page a change leads to: the account's own, or the one its metadata belongs to."""
    if change.object_type == ObjectType.ACCOUNT:
        return change.object_key
    if change.object_type == ObjectType.METADATA:
        return change.account_key or change.object_key.split(" ", 1)[0]
    return None


def _existing(user, changes: list[Change]) -> set[tuple[str, str]]:
    """(kind, key) of the customers, accounts and contacts named by `changes` that `user` can open. One query."""
    rcns = {c.object_key for c in changes if c.object_type == ObjectType.CUSTOMER}
    rpns = {c.object_key for c in changes if c.object_type == ObjectType.CONTACT}
    accounts = {key for key in map(_account_of, changes) if key and "/" in key}
    parts = []
    if rcns:
        parts.append(
            visible_customers(user)
            .filter(rcn__in=rcns)
            .annotate(kind=Value("customer", output_field=CharField()), found=F("rcn"))
            .order_by()
            .values_list("kind", "found")
        )
    if accounts:
        wanted = Q(pk__in=[])
        for key in accounts:
            type_, account_id = key.split("/", 1)
            wanted |= Q(type=type_, account_id=account_id)
        parts.append(
            visible_accounts(user)
            .filter(wanted)
            .annotate(
                kind=Value("account", output_field=CharField()),
                found=Concat("type", Value("/"), "account_id", output_field=CharField()),
            )
            .order_by()
            .values_list("kind", "found")
        )
    if rpns:
        parts.append(
            visible_contacts(user)
            .filter(contact_number__in=rpns)
            .annotate(kind=Value("contact", output_field=CharField()), found=F("contact_number"))
            .order_by()
            .values_list("kind", "found")
        )
    if not parts:
        return set()
    first, *rest = parts
    return set(first.union(*rest, all=True) if rest else first)


def _url(change: Change, existing: set[tuple[str, str]]) -> str | None:
    if change.object_type == ObjectType.CUSTOMER and ("customer", change.object_key) in existing:
        return reverse("accounts:customer_detail", args=[change.object_key])
    if change.object_type == ObjectType.CONTACT and ("contact", change.object_key) in existing:
        return reverse("contacts:contact_detail", args=[change.object_key])
    account = _account_of(change)
    if account and ("account", account) in existing:
        return reverse("accounts:account_detail", args=account.split("/", 1))
    return None


def change_rows(user, changes: list[Change], hidden=None) -> list[ChangeRow]:
    """`changes` (already read through visible_changes) as the pages show them, redacted for `user`
    (`hidden`: the user's unreadable namespaces, when the caller has read them already)."""
    redactor = Redactor(user, hidden) if any(c.namespace for c in changes) else None
    existing = _existing(user, changes)
    rows = []
    for change in changes:
        before, after = redactor.values(change) if redactor else (change.before, change.after)
        rows.append(
            ChangeRow(
                change,
                _url(change, existing),
                _diff(before, after),
                show_old=change.action != Action.CREATE,
                show_new=change.action != Action.DELETE,
            )
        )
    return rows


def changes_section(user, *, query: dict, where: Q | None = None, hidden=None, **lookup) -> dict:
    """The latest SECTION_ROWS changes matching `where` and `lookup`, newest first, and the change log's URL for all
    of them (`query`: the change log's filters that select the same changes; `hidden`: the user's unreadable
    namespaces, when the caller has read them already)."""
    changes = list(visible_changes(user).filter(where or Q(), **lookup).order_by("-id")[: SECTION_ROWS + 1])
    return {
        "rows": change_rows(user, changes[:SECTION_ROWS], hidden),
        "more": len(changes) > SECTION_ROWS,
        "all_url": f"{reverse('changes:change_list')}?{urlencode(query)}",
    }
