"""Browse lists: filters through the form, sortable columns, and a CSV download holding exactly the list."""

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .support import table_rows

pytestmark = pytest.mark.e2e


def download_csv(page) -> tuple[str, list[dict]]:
    with page.expect_download() as info:
        page.get_by_test_id("csv-link").click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    return download.suggested_filename, list(csv.DictReader(text.splitlines()))


def apply_filters(page) -> None:
    page.get_by_role("button", name="Apply filters").click()


def test_account_list_filtered_and_sorted_downloads_the_same_rows(as_staff):
    page = as_staff.page
    as_staff.go("/accounts/")
    expect(page.get_by_test_id("count")).to_have_text("4")
    page.get_by_label("Type", exact=True).select_option("CLOUD")
    page.get_by_label("Status", exact=True).select_option("Active")
    apply_filters(page)
    expect(page).to_have_url(re.compile(r"accountType=CLOUD.*status=Active"))
    expect(page.get_by_test_id("count")).to_have_text("2")
    # Newest numbers first: the CSV must follow the list's order, not its own.
    page.get_by_test_id("sort-number").click()
    page.get_by_test_id("sort-number").click()
    expect(page.get_by_test_id("sort-number").locator("xpath=..")).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_label("Type", exact=True)).to_have_value("CLOUD")
    rows = [row[1:] for row in table_rows(page, "row")]  # the first cell is the row's selection box
    assert [r[0] for r in rows] == ["CLOUD/6060606", "CLOUD/5342823"]

    filename, records = download_csv(page)
    assert filename == "accounts.csv"
    assert [(f"{r['type']}/{r['id']}", r["number"], r["rcn"], r["status"], r["tenantId"]) for r in records] == [
        (row[0], row[1], row[3].split()[0], row[4], row[6]) for row in rows
    ]
    assert rows[0][3] == "RCN-400-500-600 Globex Corporation"  # the customer's name beside its RCN
    assert records[1]["nickname"] == "Roadrunner"
    assert records[0]["domain"] == "globex-cloud.example"


def test_account_list_filter_by_collections_status_from_the_home_page(as_staff):
    page = as_staff.page
    page.get_by_role("link", name=re.compile("Delinquent, level 1")).click()
    expect(page.get_by_label("Collections status")).to_have_value("DELINQUENT_LEVEL_1")
    rows = table_rows(page, "row")
    assert [r[1] for r in rows] == ["MANAGED_HOSTING/7777"]
    _, records = download_csv(page)
    assert [(r["type"], r["id"], r["collectionsStatus"]) for r in records] == [
        ("MANAGED_HOSTING", "7777", "DELINQUENT_LEVEL_1")
    ]


def test_customer_list_filtered_downloads_the_same_rows(as_staff):
    page = as_staff.page
    as_staff.go("/customers/")
    expect(page.get_by_test_id("count")).to_have_text("3")
    page.get_by_label("Has account of type").select_option("CLOUD")
    apply_filters(page)
    rows = table_rows(page, "row")
    assert rows == [["RCN-100-200-300", "Acme Widgets"], ["RCN-400-500-600", "Globex Corporation"]]
    filename, records = download_csv(page)
    assert filename == "customers.csv"
    assert [[r["rcn"], r["name"]] for r in records] == rows


def test_contact_list_filtered_downloads_the_same_rows(as_staff):
    page = as_staff.page
    as_staff.go("/contacts/")
    expect(page.get_by_test_id("count")).to_have_text("3")
    page.get_by_label("Role").select_option("PRIMARY")
    apply_filters(page)
    rows = table_rows(page, "row")
    assert [r[0] for r in rows] == ["RPN-111-222-333", "RPN-444-555-666"]
    filename, records = download_csv(page)
    assert filename == "contacts.csv"
    assert [
        (r["contactNumber"], f"{r['lastName']}, {r['firstName']}", r["username"], r["rcn"], r["emailAddresses"])
        for r in records
    ] == [(row[0], row[1], row[2], row[3].split()[0], row[4]) for row in rows]
    # A leading "+" could start a spreadsheet formula: the export quotes it.
    assert records[0]["phoneNumbers"] == "'+1 (210) 555-0134"


def test_a_refused_filter_explains_itself(as_staff):
    page = as_staff.page
    as_staff.go("/accounts/?metadataValue=gold")
    expect(page.get_by_test_id("filter-errors")).to_be_visible()
    expect(page.get_by_test_id("row")).to_have_count(0)
    page.get_by_role("link", name="Clear").click()
    expect(page.get_by_test_id("row")).to_have_count(4)


def test_bulk_status_change_of_selected_accounts(as_staff, screenshots_dir):
    page = as_staff.page
    as_staff.go("/accounts/?accountType=CLOUD")
    expect(page.get_by_test_id("chip")).to_have_count(1)
    select_all = page.get_by_test_id("select-all")
    expect(select_all).to_be_visible()
    select_all.check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.get_by_test_id("select-row").first.uncheck()
    expect(page.locator("[data-selected-count]")).to_have_text("1 selected")
    select_all.check()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(screenshots_dir / f"account-list-bulk-{scheme}-1280.png"), full_page=True)
    page.get_by_test_id("bulk-action").select_option("collections")
    page.get_by_test_id("bulk-submit").click()
    expect(page.get_by_test_id("selected-accounts").locator("li")).to_have_count(2)
    page.get_by_label("Collections status").select_option("DELINQUENT_LEVEL_2")
    page.get_by_test_id("submit").click()
    changes = page.get_by_test_id("changes")
    expect(changes).to_contain_text("CLOUD/5342823: collections status:")
    expect(changes).to_contain_text("CLOUD/6060606: collections status:")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/\?accountType=CLOUD$"))
    expect(page.get_by_test_id("message")).to_contain_text("Collections status of 2 accounts changed")
    expect(page.get_by_test_id("list")).to_contain_text("Delinquent, level 2")


def test_chips_page_sizes_and_saved_filters(as_staff):
    page = as_staff.page
    as_staff.go("/accounts/")
    page.get_by_label("Type", exact=True).select_option("CLOUD")
    page.get_by_label("Status", exact=True).select_option("Active")
    apply_filters(page)
    expect(page.get_by_test_id("chip")).to_have_count(2)
    expect(page.get_by_test_id("range")).to_contain_text("1–2 of 2 accounts")
    page.get_by_test_id("size-25").click()
    expect(page).to_have_url(re.compile(r"size=25"))
    expect(page.get_by_test_id("chip")).to_have_count(2)
    page.get_by_label("Save these filters as").fill("Active cloud")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("message")).to_contain_text("Saved the filter 'Active cloud'")
    page.get_by_role("link", name="Remove filter Status: Active").click()
    expect(page.get_by_test_id("chip")).to_have_count(1)
    expect(page.get_by_label("Status", exact=True)).to_have_value("")
    page.get_by_test_id("saved-filter").get_by_role("link", name="Active cloud").click()
    expect(page.get_by_test_id("chip")).to_have_count(2)
    expect(page.get_by_label("Status", exact=True)).to_have_value("Active")


def test_filter_panel_is_folded_on_a_phone(as_staff):
    page = as_staff.page
    page.set_viewport_size({"width": 375, "height": 812})
    as_staff.go("/accounts/?accountType=CLOUD")
    panel = page.get_by_test_id("filters-panel")
    expect(panel).not_to_have_attribute("open", "")
    expect(page.get_by_test_id("chip")).to_be_visible()
    panel.locator("summary").click()
    expect(page.get_by_label("Type", exact=True)).to_be_visible()
