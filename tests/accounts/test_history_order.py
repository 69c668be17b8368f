"""History order (docs/API.md, "Settled contradictions"): by date, ties in the order written (id), whatever
order the rows were imported in. The API keeps its directions (status_history newest first, history
and customer_history oldest first), the export writes the API's order, and every history on the
staff pages is newest first. On PostgreSQL the ordered reads are index scans without a sort."""

import json
import re

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Account, AccountHistory, RCNChange, StatusChange
from cmsportal.exchange import import_records
from tests.api.conftest import client_for
from tests.exchange.helpers import export_lines, in_rollback
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

A = {"accountType": "CLOUD", "accountId": "10101"}
B = {"accountType": "CLOUD", "accountId": "20202"}
RCN = "RCN-123-456-789"


def _day(year: int, month: int = 1) -> str:
    return f"{year}-{month:02d}-01T00:00:00.000Z"


# Imported in file order, which is not date order: the account page of this data used to list its account
# history 2017-05, 2016-12, 2016-03, 2017-01, 2017-03 and the customer page its RCN history 2026, 2013, ...
HISTORY_FILE = [
    {"customerAccount": {"id": "10101", "type": "CLOUD", "rcn": RCN}},
    {"customerAccount": {"id": "20202", "type": "CLOUD", "rcn": RCN}},
    *(
        {"customerAccountHistory": {**A, "accountChangeType": "NICKNAME", "nickname": nick, "updatedDate": date}}
        for nick, date in (
            ("n2017-05", _day(2017, 5)),
            ("n2016-12", _day(2016, 12)),
            ("undated", None),
            ("n2016-03", _day(2016, 3)),
            ("n2017-01a", _day(2017, 1)),
            ("n2017-03", _day(2017, 3)),
            ("n2017-01b", _day(2017, 1)),  # same date as n2017-01a, written after it
        )
    ),
    *(
        {"accountRCNChange": {**account, "accountChangeType": kind, "username": user, "rcn": RCN, "date": date}}
        for account, kind, user, date in (
            (A, "MERGE", "r2026", _day(2026)),
            (B, "NEW", "r2013", _day(2013)),
            (A, "RCN_UPDATE", "r2019", _day(2019)),
            (B, "RCN_UPDATE", "r2018", _day(2018)),
            (A, "NEW", "r2014", _day(2014)),
        )
    ),
    *(
        {"statusChange": {**A, "date": date, "status": status}}
        for status, date in (
            ("Suspended", _day(2015, 6)),
            ("Active", _day(2012)),
            ("Closed", _day(2020)),
            ("Delinquent", _day(2015, 6)),  # same date as Suspended, written after it
        )
    ),
]
for record in HISTORY_FILE:  # the exchange format leaves absent values out
    for body in record.values():
        for key in [k for k, v in body.items() if v is None]:
            del body[key]

HISTORY_OLDEST = ["n2016-03", "n2016-12", "n2017-01a", "n2017-01b", "n2017-03", "n2017-05", "undated"]
RCN_OLDEST_A = ["r2014", "r2019", "r2026"]
STATUS_NEWEST = ["Closed", "Delinquent", "Suspended", "Active"]


@pytest.fixture
def imported(db):
    import_records([dict(r) for r in HISTORY_FILE], progress=False)


@pytest.fixture
def staff(db):
    return StaffFactory(username="history-staff")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def api(staff):
    return client_for(staff)


def test_api_history_is_oldest_first_by_date(api, imported):
    body = api.get("/v1/customer_accounts/CLOUD/10101/history").json()
    assert [h.get("nickname") for h in body["customerAccountHistory"]] == HISTORY_OLDEST
    paged = api.get("/v1/customer_accounts/CLOUD/10101/history?limit=3&offset=3").json()
    assert [h.get("nickname") for h in paged["customerAccountHistory"]] == HISTORY_OLDEST[3:6]
    filtered = api.get("/v1/customer_accounts/CLOUD/10101/history?changeType=NICKNAME&limit=2").json()
    assert [h.get("nickname") for h in filtered["customerAccountHistory"]] == HISTORY_OLDEST[:2]


def test_api_customer_history_is_oldest_first_by_date(api, imported):
    body = api.get("/v1/customer_accounts/CLOUD/10101/customer_history").json()
    assert [c["username"] for c in body["accountRCNChange"]] == RCN_OLDEST_A
    xml_body = api.get("/v1/customer_accounts/CLOUD/10101/customer_history.xml").content.decode()
    assert re.findall(r'username="(r\d+)"', xml_body) == RCN_OLDEST_A


def test_api_status_history_is_newest_first_ties_newest_written_first(api, imported):
    body = api.get("/v1/customer_accounts/CLOUD/10101/status_history").json()
    assert [c["status"] for c in body["statusChange"]] == STATUS_NEWEST


def _export_bodies(kind: str) -> list[dict]:
    return [json.loads(line)[kind] for line in export_lines() if line.startswith(f'{{"{kind}"')]


def test_export_writes_the_api_order_and_round_trips_byte_identical(imported):
    history = [h.get("nickname") for h in _export_bodies("customerAccountHistory")]
    assert history == HISTORY_OLDEST
    rcn = [c["username"] for c in _export_bodies("accountRCNChange")]
    assert rcn == RCN_OLDEST_A + ["r2013", "r2018"]  # by account, then date
    status = [c["status"] for c in _export_bodies("statusChange")]
    assert status == list(reversed(STATUS_NEWEST))
    first = export_lines()

    def reimport():
        for model in (StatusChange, AccountHistory, RCNChange):
            model.objects.all().delete()
        Account.objects.all().delete()
        import_records([json.loads(line) for line in first], progress=False)
        return export_lines()

    assert in_rollback(reimport) == first


def _column(html: str, testid: str, column: int) -> list[str]:
    """The text of cell `column` of each row of the table marked data-testid=`testid`."""
    table = re.search(rf'data-testid="{testid}".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr data-testid=\"[a-z-]+-row\">(.*?)</tr>", table, re.S)
    cells = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows]
    return [re.sub(r"<[^>]+>", "", c[column]).strip() for c in cells]


def test_account_page_lists_every_history_newest_first(staff_client, imported):
    html = staff_client.get("/accounts/CLOUD/10101/").content.decode()
    assert _column(html, "history", 5) == list(reversed(HISTORY_OLDEST))
    assert _column(html, "rcn-history", 3) == list(reversed(RCN_OLDEST_A))
    timeline = re.search(r'data-testid="timeline".*?</ol>', html, re.S).group(0)
    statuses = [s for s in re.findall(r"\b(Closed|Delinquent|Suspended|Active)\b", timeline)]
    assert [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s] == STATUS_NEWEST


def test_customer_page_lists_rcn_history_newest_first(staff_client, imported):
    html = staff_client.get(f"/customers/{RCN}/").content.decode()
    assert _column(html, "rcn-history", 4) == ["r2026", "r2019", "r2018", "r2014", "r2013"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (lambda a: a.history.oldest_first(), "accthistory_account_date_idx"),
        (lambda a: a.history.newest_first(), "accthistory_account_date_idx"),
        (lambda a: a.rcn_changes.oldest_first(), "rcnchange_account_date_idx"),
        (lambda a: a.rcn_changes.newest_first(), "rcnchange_account_date_idx"),
        (lambda a: a.status_changes.newest_first(), "statuschange_account_idx"),
    ],
)
def test_ordered_reads_are_index_scans_without_a_sort(imported, queryset, index):
    account = Account.objects.get(type="CLOUD", account_id="10101")
    query = queryset(account)[:50]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    assert "Sort" not in plan, plan
