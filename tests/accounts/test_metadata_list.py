"""The staff account list filtered by metadata: ordered by the entries' copy of the list key, same rows and pages."""

import pytest

from cmsportal import pages
from tests.factories import AccountFactory, MetadataFactory

from .test_views import csv_rows, rows_of

pytestmark = pytest.mark.django_db

TYPES = ["CLOUD", "MANAGED_HOSTING", "FANATICAL_SUPPORT_FOR_AWS"]


@pytest.fixture
def accounts():
    made = []
    for n in range(25):
        account = AccountFactory(
            type=TYPES[n % 3], account_id=f"{n:03d}", status="Active" if n % 4 else "Suspended", number=n
        )
        made.append(account)
        if n % 3 != 1:  # none of the MANAGED_HOSTING accounts
            MetadataFactory(account=account, key="support:tier", value="gold" if n % 2 else "silver")
    return made


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def walk(client, params):
    """Rows of every page following `next` from the first page, then of every page back following `previous`."""
    response = client.get("/accounts/", params)
    forward = [[a.marker for a in rows_of(response)]]
    while response.context["next_cursor"]:
        response = client.get("/accounts/", {**params, "after": response.context["next_cursor"]})
        forward.append([a.marker for a in rows_of(response)])
    seen = [marker for page in forward for marker in page]
    back = []
    while response.context["prev_cursor"]:
        response = client.get("/accounts/", {**params, "before": response.context["prev_cursor"]})
        back.insert(0, [a.marker for a in rows_of(response)])
    assert back == forward[:-1]
    return seen


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({"metadataKey": "support:tier"}, lambda a: a.type != "MANAGED_HOSTING"),
        (
            {"metadataKey": "support:tier", "metadataValue": "gold"},
            lambda a: a.type != "MANAGED_HOSTING" and a.number % 2,
        ),
        ({"metadataKey": "support:tier", "accountType": "cloud"}, lambda a: a.type == "CLOUD"),
        ({"metadataKey": "support:tier", "accountType": "MANAGED_HOSTING"}, lambda a: False),
        (
            {"metadataKey": "support:tier", "status": "Suspended"},
            lambda a: a.type != "MANAGED_HOSTING" and a.number % 4 == 0,
        ),
    ],
)
@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("key", lambda a: (a.type, a.account_id)),
        ("status", lambda a: (a.status, a.type, a.account_id)),
        ("number", lambda a: (a.number, a.type, a.account_id)),
    ],
)
def test_pages_in_every_order_list_each_match_once(staff_client, accounts, monkeypatch, params, wanted, sort, order):
    monkeypatch.setattr(pages, "PAGE_SIZE", 4)
    monkeypatch.setattr(pages, "CSV_BATCH", 3)
    expected = [a.marker for a in sorted(filter(wanted, accounts), key=order)]
    for descending in (False, True):
        query = {**params, "sort": ("-" if descending else "") + sort}
        assert walk(staff_client, query) == (expected[::-1] if descending else expected)
        exported = [f"{row[0]}:{row[1]}" for row in csv_rows(staff_client.get("/accounts/export.csv", query))[1:]]
        assert exported == (expected[::-1] if descending else expected)
    assert staff_client.get("/accounts/", params).context["count"] == str(len(expected))
