"""Concurrent creations of one account and one customer (PostgreSQL, real threads): one wins, the others are
refused with a validation error, never a database error."""

import pytest

from accounts import services
from accounts.models import Account, Customer
from cmsportal.identity.access import Actor
from tests.factories import CustomerFactory
from tests.races import WRITERS, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def outcome(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__
    return "created"


def test_racing_account_creations():
    customer = CustomerFactory()
    results = race(
        lambda i: outcome(
            lambda: services.account_create(actor=Actor(f"w{i}"), customer=customer, type="CLOUD", account_id="77")
        )
    )
    assert sorted(results) == ["ValidationError"] * (WRITERS - 1) + ["created"]
    assert Account.objects.filter(account_id="77").count() == 1


def test_racing_customer_creations():
    results = race(lambda i: outcome(lambda: services.customer_create(rcn="RCN-777-000-001")))
    assert sorted(results) == ["ValidationError"] * (WRITERS - 1) + ["created"]
    assert Customer.objects.filter(rcn="RCN-777-000-001").count() == 1
