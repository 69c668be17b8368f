"""Concurrent role changes of one contact on one account (PostgreSQL, real threads)."""

import pytest

from cmsportal.identity.access import Actor
from contacts import services
from contacts.models import AccountContact, AccountContactRole
from tests.factories import AccountFactory, ContactFactory
from tests.races import WRITERS, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROLE_SETS = [["TECHNICAL"], ["BILLING", "TECHNICAL"], ["PRIMARY"], ["ADMINISTRATIVE", "BILLING"]]


def test_racing_role_changes_serialise():
    account = AccountFactory()
    contact = ContactFactory(customer=account.customer)

    def set_roles(i):
        services.contact_set_roles(contact=contact, account=account, roles=ROLE_SETS[i % 4], actor=Actor(f"w{i}"))
        return "ok"

    assert race(set_roles) == ["ok"] * WRITERS
    link = AccountContact.objects.get(account=account, contact=contact)
    roles = sorted(AccountContactRole.objects.filter(link=link).values_list("role", flat=True))
    # Exactly one writer's set of roles, whole: the last to take the link's lock.
    assert roles in [sorted(r) for r in ROLE_SETS]


def test_racing_creations_of_one_contact_leave_one_and_refuse_the_rest():
    account = AccountFactory()

    def create(i):
        try:
            services.contact_create(actor=Actor(f"w{i}"), contact_number="RPN-000-000-777", customer=account.customer)
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__
        return "created"

    results = race(create)
    assert sorted(results) == ["ValidationError"] * (WRITERS - 1) + ["created"]
