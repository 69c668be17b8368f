"""Helpers shared by the exchange tests."""

import json
from collections import Counter

from django.db import transaction

from accounts.models import Account, AccountHistory, Customer, RCNChange, StatusChange
from cmsportal.exchange import import_records
from cmsportal.exchange.exporter import export_chunks
from contacts.models import AccountContact, AccountContactRole, Address, Contact, EmailAddress, PhoneNumber
from metadata.models import Metadata, Namespace

MODELS = (
    Customer,
    Account,
    StatusChange,
    AccountHistory,
    RCNChange,
    Contact,
    AccountContact,
    AccountContactRole,
    Address,
    EmailAddress,
    PhoneNumber,
    Metadata,
    Namespace,
    Namespace.readers.through,
    Namespace.writers.through,
)


def as_multiset(records) -> Counter:
    """Records as JSON values, key order aside."""
    return Counter(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records)


def export_lines() -> list[str]:
    """The export, as the lines export_file writes (its bytes, decoded)."""
    written = b"".join(chunk for _, chunk in export_chunks()).decode("utf-8")
    assert written.endswith("\n") or not written
    return written.split("\n")[:-1]


def row_counts() -> dict:
    return {model._meta.label: model.objects.count() for model in MODELS}


def db_state() -> dict:
    """Everything an import writes, without ids: the export, implicit customers, row counts."""
    return {
        "export": export_lines(),
        "implicit": sorted(Customer.objects.filter(implicit=True).values_list("rcn", flat=True)),
        "counts": {model._meta.label: model.objects.count() for model in MODELS},
    }


class Rollback(Exception):
    pass


def in_rollback(function):
    """Run `function` in a transaction that is rolled back afterwards; returns its result."""
    result = None
    try:
        with transaction.atomic():
            result = function()
            raise Rollback
    except Rollback:
        pass
    return result


def import_quietly(records):
    return import_records(records, progress=False)
