"""The customer, account and contact pages, reached the way staff reach them: from the lists."""

import re

import pytest
from playwright.sync_api import expect

from .support import table_rows

pytestmark = pytest.mark.e2e


def test_customer_page_lists_its_accounts_contacts_and_rcn_history(as_staff):
    page = as_staff.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    page.get_by_test_id("list").get_by_role("link", name="RCN-100-200-300").click()
    expect(page).to_have_url(as_staff.url("/customers/RCN-100-200-300/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Widgets")
    accounts = table_rows(page, "account-row")
    assert [row[0] for row in accounts] == ["CLOUD/5342823", "MANAGED_HOSTING/7777"]
    assert accounts[0][1] == "Acme Cloud (Roadrunner)"
    assert accounts[1][2] == "Suspended"
    assert table_rows(page, "contact-row") == [
        ["RPN-111-222-333", "Wile Coyote", "wcoyote", "wile.coyote@acme.example"]
    ]
    rcn_rows = table_rows(page, "rcn-row")
    assert sorted((row[1], row[2], row[3]) for row in rcn_rows) == [
        ("CLOUD/5342823", "NEW", "RCN-100-200-300"),
        ("MANAGED_HOSTING/7777", "NEW", "RCN-100-200-300"),
    ]
    expect(page.get_by_test_id("action-merge")).to_be_visible()


def test_account_page_shows_summary_timeline_contacts_metadata_and_history(as_staff):
    page = as_staff.page
    as_staff.go("/accounts/")
    page.get_by_test_id("list").get_by_role("link", name="CLOUD/5342823").click()
    expect(page).to_have_url(as_staff.url("/accounts/CLOUD/5342823/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Cloud “Roadrunner”")
    expect(page.get_by_test_id("status-badge")).to_have_text("Active")
    expect(page.get_by_test_id("collections-badge")).to_have_text("Collections: Current")
    expect(page.get_by_test_id("access-badge")).to_have_text("Access: Full")
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("RCN-100-200-300 · Acme Widgets")
    expect(summary).to_contain_text("managed")
    expect(page.get_by_test_id("timeline").locator("li")).to_have_count(1)
    expect(page.get_by_test_id("timeline")).to_contain_text("Active")
    contacts = table_rows(page, "contact-row")
    assert contacts == [
        ["RPN-111-222-333", "Wile Coyote", "Primary Billing", "wile.coyote@acme.example", "+1 210-555-0134"]
    ]
    metadata = table_rows(page, "metadata-row")
    assert [(row[0], row[1]) for row in metadata] == [("billing:plan", "standard"), ("support:region", "us-west")]
    history = table_rows(page, "history-row")
    assert [(row[1], row[2], row[3]) for row in history] == [("NEW", "RCN-100-200-300", "Active")]
    assert history[0][6] == "e2e-setup (System)"
    for name in ("Change status", "Change collections status", "Change nickname", "Move to another customer"):
        expect(page.get_by_role("navigation", name="Account actions").get_by_role("link", name=name)).to_be_visible()
    # The breadcrumb leads back to the owner.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="RCN-100-200-300").click()
    expect(page).to_have_url(as_staff.url("/customers/RCN-100-200-300/"))


def test_contact_page_shows_how_to_reach_them_and_their_roles(as_staff):
    page = as_staff.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_test_id("list").get_by_role("link", name="RPN-111-222-333").click()
    expect(page).to_have_url(as_staff.url("/contacts/RPN-111-222-333/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Wile Coyote")
    expect(page.get_by_test_id("emails")).to_contain_text("wile.coyote@acme.example")
    expect(page.get_by_test_id("phones").get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^tel:\+?12105550134$")
    )
    expect(page.get_by_test_id("addresses")).to_contain_text("Tucson, AZ 85701")
    roles = table_rows(page, "account-row")
    assert [(row[0], row[3]) for row in roles] == [
        ("CLOUD/5342823", "Primary Billing"),
        ("MANAGED_HOSTING/7777", "Technical"),
    ]
    page.get_by_test_id("account-row").get_by_role("link", name="MANAGED_HOSTING/7777").click()
    expect(page).to_have_url(re.compile(r"/accounts/MANAGED_HOSTING/7777/$"))
    expect(page.get_by_test_id("status-badge")).to_have_text("Suspended")


def test_a_missing_record_shows_the_not_found_page(as_staff):
    page = as_staff.page
    response = as_staff.go("/accounts/CLOUD/404404/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("search")).to_be_visible()
