"""Concurrent creations of one account and one customer (PostgreSQL, real threads): one wins, the others are
refused with a validation error, never a database error."""

import threading

import pytest
from django.db import connection, connections, transaction

from accounts import services
from accounts.models import Account, Customer
from cmsportal.identity.access import Actor
from tests.factories import AccountFactory, CustomerFactory
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


def test_status_change_does_not_wait_for_its_customers_lock():
    """A merge holds the customers' rows while it takes their accounts: a status change must not need them."""
    account = AccountFactory()
    held, release = threading.Event(), threading.Event()

    def hold_the_customer():
        try:
            with transaction.atomic():
                Customer.objects.select_for_update().get(pk=account.customer_id)
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_customer)
    holder.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            services.account_status_change(account=account, actor=Actor("a"), status="Suspended")
    finally:
        release.set()
        holder.join(10)
    assert Account.objects.get(pk=account.pk).status == "Suspended"
