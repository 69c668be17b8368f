"""Racing writers on PostgreSQL, with real threads and real transactions: every request succeeds (or fails
its precondition cleanly), exactly one row remains, and what was recorded agrees with the final state."""

import pytest
from django.test import Client

from accounts.choices import AccountChangeType, AccountStatus
from accounts.models import Account, AccountHistory, StatusChange
from metadata.models import Metadata
from tests.factories import AccountFactory, UserFactory
from tests.races import WRITERS, race

from .conftest import client_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/v1/customer_accounts/CLOUD/10101/metadata/support:level"


@pytest.fixture
def account():
    return AccountFactory(account_id="10101", tenant_id="t-1", status=AccountStatus.ACTIVE)


@pytest.fixture
def writers(account):
    """One API client per writer, each with its own user (so the rows say who wrote last)."""
    return [client_for(UserFactory(username=f"writer{i}", is_staff=True, view_all=True)) for i in range(WRITERS)]


def put(client, value, **headers):
    return client.put(URL, {"meta": {"support:level": value}}, format="json", **headers)


def check_entry(account):
    entries = list(Metadata.objects.filter(account=account, key="support:level"))
    assert len(entries) == 1
    entry = entries[0]
    # The value is the last writer's, and lastUpdatedBy names that writer.
    assert entry.value == f"value{entry.last_updated_by.removeprefix('writer')}"
    assert entry.created_by.startswith("writer") and entry.created_date <= entry.last_updated_date
    return entry


def test_racing_first_puts_all_succeed_and_leave_one_row(account, writers):
    statuses = race(lambda i: put(writers[i], f"value{i}").status_code)
    assert statuses == [204] * WRITERS
    entry = check_entry(account)
    # Whoever created it was the first to commit: the created date is the earliest write of all.
    assert entry.created_date <= entry.last_updated_date

    first = (entry.created_by, entry.created_date)
    statuses = race(lambda i: put(writers[i], f"value{i}").status_code)
    assert statuses == [204] * WRITERS
    entry = check_entry(account)
    assert (entry.created_by, entry.created_date) == first


def test_racing_conditional_puts_let_exactly_one_win(account, writers, api):
    put(api, "start")
    etag = api.get(URL)["ETag"]
    statuses = race(lambda i: put(writers[i], f"value{i}", HTTP_IF_MATCH=etag).status_code)
    assert sorted(statuses) == [204] + [412] * (WRITERS - 1)
    winner = statuses.index(204)
    assert Metadata.objects.get(account=account, key="support:level").value == f"value{winner}"


def test_racing_create_only_puts_let_exactly_one_create(account, writers):
    statuses = race(lambda i: put(writers[i], f"value{i}", HTTP_IF_NONE_MATCH="*").status_code)
    assert sorted(statuses) == [204] + [412] * (WRITERS - 1)
    entry = Metadata.objects.get(account=account, key="support:level")
    assert entry.value == f"value{statuses.index(204)}" and entry.created_by == entry.last_updated_by


def test_racing_status_changes_serialise(account):
    editors = []
    for i in range(WRITERS):
        user = UserFactory(username=f"editor{i}", is_staff=True, view_all=True, is_superuser=True)
        client = Client()
        client.force_login(user)
        editors.append(client)
    choices = [AccountStatus.SUSPENDED, AccountStatus.DELINQUENT, AccountStatus.CLOSED, AccountStatus.ACTIVE]
    url = f"/accounts/CLOUD/{account.account_id}/status/"

    def change(i):
        # Every writer gives a reason: closing, reopening and lifting a suspension need one.
        data = {"status": choices[i % len(choices)], "reason": f"race {i}", "confirm": "yes"}
        response = editors[i].post(url, data)
        # A writer that finds the account already in the status it asks for is refused as a no-op (the form
        # again, saying so): which writers those are depends on who commits first.
        if response.status_code == 200:
            assert "Nothing would change: the status is already" in response.content.decode()
        return response.status_code

    statuses = race(change)
    assert set(statuses) <= {200, 302} and statuses.count(302) >= WRITERS // len(choices)
    done = [f"editor{i}" for i, status in enumerate(statuses) if status == 302]
    account = Account.objects.get(pk=account.pk)
    changes = list(StatusChange.objects.filter(account=account).order_by("id"))
    history = list(
        AccountHistory.objects.filter(account=account, change_type=AccountChangeType.LEGACY_ACCOUNT_STATUS).order_by(
            "id"
        )
    )
    assert len(changes) == len(history) == len(done)
    assert sorted(c.username for c in changes) == sorted(done)
    # Serialised: each change and its history row tell the same story, in the same order, and time runs forward.
    for change, row in zip(changes, history, strict=True):
        told = (row.updated_by_username, row.account_status, row.updated_date)
        assert (change.username, change.status, change.date) == told
    assert [c.date for c in changes] == sorted(c.date for c in changes)
    last = changes[-1]
    assert account.status == last.status
    assert (account.last_updated_by, account.last_updated_date) == (last.username, last.date)
