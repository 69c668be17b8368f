"""History on the account and customer pages, newest first by date whatever order it was imported in;
long values cut behind a "Show all" that opens and closes without script."""

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from cmsportal.exchange import import_records
from cmsportal.identity.access import Actor
from metadata import services as metadata_services

from .support import table_rows

pytestmark = pytest.mark.e2e

ACCOUNT = {"accountType": "CLOUD", "accountId": "5342823"}  # Acme's Roadrunner (conftest.world)
DEDICATED = {"accountType": "MANAGED_HOSTING", "accountId": "7777"}


def _day(year: int, month: int) -> str:
    return f"{year}-{month:02d}-01T00:00:00.000Z"


@pytest.fixture
def imported_history(world):
    """Trails written in file order, not date order (all dated before the world's own rows, written today)."""
    history = [
        {
            "customerAccountHistory": {
                **ACCOUNT,
                "accountChangeType": "NICKNAME",
                "nickname": f"n{y}-{m:02d}",
                "updatedDate": _day(y, m),
            }
        }
        for y, m in ((2017, 5), (2016, 12), (2016, 3), (2017, 1), (2017, 3))
    ]
    rcn = [
        {"accountRCNChange": {**account, "accountChangeType": "RCN_UPDATE", "username": f"u{y}", "date": _day(y, 1)}}
        for account, y in ((ACCOUNT, 2026), (DEDICATED, 2013), (ACCOUNT, 2019), (DEDICATED, 2018), (ACCOUNT, 2014))
    ]
    status = [
        {"statusChange": {**ACCOUNT, "status": s, "date": _day(y, 1)}}
        for s, y in (("Suspended", 2015), ("Delinquent", 2012), ("Closed", 2014))
    ]
    import_records([*history, *rcn, *status], progress=False)


def _newest_first(dates: list[str]) -> bool:
    return dates == sorted(dates, reverse=True)


def test_account_page_lists_every_history_newest_first(as_staff, imported_history):
    page = as_staff.page
    as_staff.go("/accounts/CLOUD/5342823/")
    history = table_rows(page, "history-row")
    assert [row[5] for row in history if row[5].startswith("n")] == [
        "n2017-05",
        "n2017-03",
        "n2017-01",
        "n2016-12",
        "n2016-03",
    ]
    assert _newest_first([row[0] for row in history])
    rcn = table_rows(page, "rcn-row")
    assert _newest_first([row[0] for row in rcn])
    assert [row[3] for row in rcn if row[3].startswith("u")] == ["u2026", "u2019", "u2014"]
    timeline = page.get_by_test_id("timeline").locator("li")
    expect(timeline).to_have_count(4)
    texts = timeline.all_inner_texts()
    assert [next(s for s in ("Active", "Suspended", "Closed", "Delinquent") if s in t) for t in texts] == [
        "Active",
        "Suspended",
        "Closed",
        "Delinquent",
    ]


def test_customer_page_lists_rcn_history_newest_first(as_staff, imported_history):
    page = as_staff.page
    as_staff.go("/customers/RCN-100-200-300/")
    rcn = table_rows(page, "rcn-row")
    assert _newest_first([row[0] for row in rcn])
    assert [row[4] for row in rcn if row[4].startswith("u")] == ["u2026", "u2019", "u2018", "u2014", "u2013"]


def test_a_long_value_is_cut_with_show_all(as_staff):
    page = as_staff.page
    account = Account.objects.get(type="CLOUD", account_id="5342823")
    long_value = "The quick brown fox jumps over the lazy dog. " * 12 + "THE-END"
    metadata_services.metadata_set(account=account, key="notes:long", value=long_value, actor=Actor("e2e", "SYSTEM"))
    as_staff.go("/accounts/CLOUD/5342823/")
    row = page.get_by_test_id("metadata-row").filter(has_text="notes:long")
    clipped = row.get_by_test_id("clipped")
    expect(clipped).not_to_have_attribute("open", "")
    expect(row.get_by_text("THE-END")).to_be_hidden()
    expect(row.get_by_text("Show all")).to_be_visible()
    row.get_by_text("Show all").click()
    expect(clipped).to_have_attribute("open", "")
    expect(row.get_by_text("THE-END")).to_be_visible()
    row.get_by_text("Show less").click()
    expect(row.get_by_text("THE-END")).to_be_hidden()
    # Short values are shown whole, without a "Show all".
    short = page.get_by_test_id("metadata-row").filter(has_text="billing:plan")
    expect(short.get_by_test_id("clipped")).to_have_count(0)
    expect(short).to_contain_text("standard")
