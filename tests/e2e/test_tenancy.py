"""A customer's user sees its own tenant's records and nothing of anyone else's, whichever way it looks."""

import re

import pytest
from playwright.sync_api import expect

from .support import each_case, table_rows
from .test_lists import download_csv
from .test_search import search_from_header

pytestmark = pytest.mark.e2e


def test_lists_and_their_csv_hold_only_the_tenants_records(as_tenant):
    page = as_tenant.page
    as_tenant.go("/accounts/")
    assert [r[1] for r in table_rows(page, "row")] == ["CLOUD/5342823"]
    _, records = download_csv(page)
    assert [(r["type"], r["id"]) for r in records] == [("CLOUD", "5342823")]
    as_tenant.go("/customers/")
    assert [r[0] for r in table_rows(page, "row")] == ["RCN-100-200-300"]
    as_tenant.go("/contacts/")
    assert [r[0] for r in table_rows(page, "row")] == ["RPN-111-222-333"]


def test_the_own_customer_page_hides_the_other_tenants_account(as_tenant):
    page = as_tenant.page
    as_tenant.go("/customers/RCN-100-200-300/")
    assert [r[0] for r in table_rows(page, "account-row")] == ["CLOUD/5342823"]
    expect(page.get_by_test_id("action-merge")).to_have_count(0)
    as_tenant.go("/contacts/RPN-111-222-333/")
    assert [r[0] for r in table_rows(page, "account-row")] == ["CLOUD/5342823"]


def test_another_tenants_records_are_not_found(as_tenant):
    page = as_tenant.page

    def check(path):
        response = as_tenant.go(path)
        assert response.status == 404, f"status {response.status}"
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(page.locator("main")).not_to_contain_text(re.compile("Globex|Dedicated|Scorpio"))

    each_case(
        [
            ("account of another tenant of the same customer", "/accounts/MANAGED_HOSTING/7777/"),
            ("account of another customer", "/accounts/CLOUD/6060606/"),
            ("customer", "/customers/RCN-400-500-600/"),
            ("contact", "/contacts/RPN-444-555-666/"),
            ("action on an account", "/accounts/CLOUD/6060606/nickname/"),
            ("merge of a customer", "/customers/RCN-400-500-600/merge/"),
        ],
        check,
    )


def test_search_and_suggestions_do_not_reveal_other_tenants(as_tenant):
    page = as_tenant.page
    for query in ("RCN-400-500-600", "hybrid:7777", "6060606", "hank@globex.example", "Globex"):
        search_from_header(as_tenant, query)
        expect(page).to_have_url(re.compile(r"/search/\?q="))
        expect(page.get_by_test_id("no-results")).to_be_visible()
    search_from_header(as_tenant, "acme")
    expect(page.get_by_test_id("group-accounts").get_by_test_id("hit")).to_have_count(1)
    expect(page.get_by_test_id("group-accounts")).not_to_contain_text("MANAGED_HOSTING/7777")
    box = page.locator("#site-search")
    box.fill("")
    box.press_sequentially("sco", delay=40)
    expect(page.locator("#site-search-suggestions")).to_contain_text("No matches")


def test_a_user_without_change_permissions_gets_no_actions(as_tenant):
    page = as_tenant.page
    as_tenant.go("/accounts/CLOUD/5342823/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Cloud")
    expect(page.get_by_role("navigation", name="Account actions")).to_have_count(0)
    expect(page.get_by_test_id("metadata-add")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit billing:plan")).to_have_count(0)
    response = as_tenant.go("/accounts/CLOUD/5342823/status/")
    assert response.status == 403
