"""Every staff action, done in the browser through its confirmation page: the success message and the
record's trail show the change."""

import re

import pytest
from playwright.sync_api import expect

from .support import submit_action, table_rows

pytestmark = pytest.mark.e2e

ACCOUNT = "/accounts/CLOUD/5342823/"


def open_action(site, name: str) -> None:
    page = site.page
    site.go(ACCOUNT)
    page.get_by_role("navigation", name="Account actions").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def newest_history_row(page) -> list[str]:
    rows = table_rows(page, "history-row")
    assert rows, "the account history is empty"
    return rows[0]  # newest first


def expect_success(page, text: str) -> None:
    expect(page.get_by_test_id("message")).to_contain_text(text)
    expect(page.locator(".message-success")).to_be_visible()


def test_change_status(as_staff):
    page = as_staff.page
    open_action(as_staff, "Change status")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("Choose a new status or access policy.")
    expect(page.get_by_test_id("confirm")).to_have_count(0)

    def fill(p):
        p.get_by_label(re.compile("^Status")).select_option("Suspended")
        p.get_by_label("Access policy").select_option("SUSPENDED")
        p.get_by_label("Fraud status").select_option("REJECT")

    fill(page)
    page.get_by_test_id("submit").click()
    changes = page.get_by_test_id("changes")
    expect(changes).to_contain_text("Status: Active → Suspended")
    expect(changes).to_contain_text("Access policy: Full → Suspended")
    expect(changes).to_contain_text("Fraud status recorded: Reject")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(as_staff.url(ACCOUNT + "#status"))
    expect_success(page, "Status of CLOUD/5342823 changed")
    expect(page.get_by_test_id("status-badge")).to_have_text("Suspended")
    expect(page.get_by_test_id("access-badge")).to_have_text("Access: Suspended")
    row = newest_history_row(page)
    assert (row[1], row[3], row[6]) == ("LEGACY_ACCOUNT_STATUS", "Suspended", "e2e-staff (Staff)")
    newest = page.get_by_test_id("timeline").locator("li").first
    expect(newest).to_contain_text("Suspended")
    expect(newest).to_contain_text("fraud reject")
    expect(newest).to_contain_text("e2e-staff")


def test_change_collections_status(as_staff):
    page = as_staff.page
    open_action(as_staff, "Change collections status")
    submit_action(page, lambda p: p.get_by_label("Collections status").select_option("DELINQUENT_LEVEL_2"))
    expect_success(page, "Collections status of CLOUD/5342823 changed")
    expect(page.get_by_test_id("collections-badge")).to_have_text("Collections: Delinquent, level 2")
    row = newest_history_row(page)
    assert (row[1], row[4], row[6]) == ("COLLECTIONS_STATUS", "DELINQUENT_LEVEL_2", "e2e-staff (Staff)")
    expect(page.get_by_test_id("timeline").locator("li").first).to_contain_text("Delinquent, level 2")


def test_change_nickname_and_remove_it(as_staff):
    page = as_staff.page
    open_action(as_staff, "Change nickname")
    expect(page.get_by_label("Nickname")).to_have_value("Roadrunner")
    page.get_by_label("Nickname").fill("Beep Beep")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("changes")).to_contain_text("Nickname: Roadrunner → Beep Beep")
    page.get_by_test_id("confirm").click()
    expect_success(page, "Nickname of CLOUD/5342823 changed")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Cloud “Beep Beep”")
    row = newest_history_row(page)
    assert (row[1], row[5], row[6]) == ("NICKNAME", "Beep Beep", "e2e-staff (Staff)")

    open_action(as_staff, "Change nickname")
    submit_action(page, lambda p: p.get_by_label("Nickname").fill(""))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Cloud")
    row = newest_history_row(page)
    assert (row[1], row[5]) == ("NICKNAME", "—")


def test_cancel_on_the_confirmation_changes_nothing(as_staff):
    page = as_staff.page
    open_action(as_staff, "Change nickname")
    page.get_by_label("Nickname").fill("Never saved")
    page.get_by_test_id("submit").click()
    page.get_by_test_id("confirm-form").get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(as_staff.url(ACCOUNT))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Cloud “Roadrunner”")
    assert [row[1] for row in table_rows(page, "history-row")] == ["NEW"]
    expect(page.get_by_test_id("message")).to_have_count(0)


def test_move_account_to_another_customer(as_staff):
    page = as_staff.page
    open_action(as_staff, "Move to another customer")
    page.get_by_label("Move to customer (RCN)").fill("not an rcn")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("An RCN looks like RCN-123-456-789.")
    # A well-formed RCN of no customer, or of the owner, is refused on the first step, the value kept.
    page.get_by_label("Move to customer (RCN)").fill("RCN-999-999-999")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("There is no customer RCN-999-999-999")
    expect(page.get_by_label("Move to customer (RCN)")).to_have_value("RCN-999-999-999")
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    page.get_by_label("Move to customer (RCN)").fill("RCN-100-200-300")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("already belongs to RCN-100-200-300")
    page.get_by_label("Move to customer (RCN)").fill("rcn-400-500-600")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("changes")).to_contain_text("Owner: RCN-100-200-300 → RCN-400-500-600")
    # Acme's contact stays with Acme: the confirmation says it is taken off the account, with its roles.
    expect(page.get_by_test_id("changes")).to_contain_text("Wile Coyote (RPN-111-222-333): PRIMARY, BILLING")
    page.get_by_test_id("confirm").click()
    expect_success(page, "CLOUD/5342823 now belongs to RCN-400-500-600.")
    expect_success(page, "Taken off it, with their roles: Wile Coyote (RPN-111-222-333): PRIMARY, BILLING.")
    expect(page.get_by_role("region", name="Summary")).to_contain_text("RCN-400-500-600 · Globex Corporation")
    row = newest_history_row(page)
    assert (row[1], row[2], row[6]) == ("RCN_UPDATE", "RCN-400-500-600", "e2e-staff (Staff)")
    rcn_rows = table_rows(page, "rcn-row")
    assert [(r[1], r[2]) for r in rcn_rows] == [("RCN_UPDATE", "RCN-400-500-600"), ("NEW", "RCN-100-200-300")]
    as_staff.go("/customers/RCN-400-500-600/")
    assert [r[0] for r in table_rows(page, "account-row")] == ["CLOUD/5342823", "CLOUD/6060606"]


def test_merge_two_customers(as_staff):
    page = as_staff.page
    as_staff.go("/customers/RCN-700-800-900/")
    page.get_by_test_id("action-merge").click()
    page.get_by_label("Merge into customer (RCN)").fill("RCN-700-800-900")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("cannot be merged into itself")
    page.get_by_label("Merge into customer (RCN)").fill("RCN-400-500-600")
    page.get_by_test_id("submit").click()
    changes = page.get_by_test_id("changes")
    expect(changes).to_contain_text(
        "Every account and contact of RCN-700-800-900 (Initech Holdings) moves to RCN-400-500-600 "
        "(Globex Corporation): 1 account and 1 contact."
    )
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(as_staff.url("/customers/RCN-400-500-600/#accounts"))
    expect_success(page, "RCN-700-800-900 was merged into RCN-400-500-600.")
    assert [r[0] for r in table_rows(page, "account-row")] == ["CLOUD/6060606", "FANATICAL_SUPPORT_FOR_AWS/8080"]
    assert sorted(r[0] for r in table_rows(page, "contact-row")) == ["RPN-444-555-666", "RPN-777-888-999"]
    merge_rows = [r for r in table_rows(page, "rcn-row") if r[2] == "MERGE"]
    assert [(r[1], r[3], r[4]) for r in merge_rows] == [
        ("FANATICAL_SUPPORT_FOR_AWS/8080", "RCN-400-500-600", "e2e-staff")
    ]
    # The merged account's own page has the new history row.
    page.get_by_test_id("account-row").get_by_role("link", name="FANATICAL_SUPPORT_FOR_AWS/8080").click()
    row = newest_history_row(page)
    assert (row[1], row[2], row[6]) == ("RCN_UPDATE", "RCN-400-500-600", "e2e-staff (Staff)")
    # The merged-away customer's address leads to the survivor.
    as_staff.go("/customers/RCN-700-800-900/")
    expect(page).to_have_url(as_staff.url("/customers/RCN-400-500-600/"))


def test_add_edit_and_delete_metadata(as_staff):
    page = as_staff.page
    as_staff.go(ACCOUNT)

    page.get_by_test_id("metadata-add").click()
    page.get_by_label("Key").fill("no colon")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("A metadata key is namespace:name")
    page.get_by_label("Key").fill("billing:plan")
    page.get_by_label("Value").fill("other")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("already has billing:plan")
    expect(page.get_by_test_id("edit-instead")).to_have_attribute("href", re.compile(r"edit/\?key=billing%3Aplan$"))
    page.get_by_label("Key").fill("support:tier")
    page.get_by_label("Value").fill("gold")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("changes")).to_contain_text("Add support:tier = 'gold'")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/CLOUD/5342823/#metadata$"))
    expect_success(page, "Metadata support:tier added to CLOUD/5342823.")
    assert [(r[0], r[1]) for r in table_rows(page, "metadata-row")] == [
        ("billing:plan", "standard"),
        ("support:region", "us-west"),
        ("support:tier", "gold"),
    ]
    assert "e2e-staff" in table_rows(page, "metadata-row")[2][2]

    page.get_by_role("link", name="Edit billing:plan").click()
    expect(page.get_by_label("Key")).to_have_value("billing:plan")
    expect(page.get_by_label("Key")).not_to_be_editable()
    expect(page.get_by_label("Value")).to_have_value("standard")
    page.get_by_label("Value").fill("premium")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("changes")).to_contain_text("billing:plan: 'standard' → 'premium'")
    page.get_by_test_id("confirm").click()
    expect_success(page, "Metadata billing:plan of CLOUD/5342823 changed.")
    assert table_rows(page, "metadata-row")[0][:2] == ["billing:plan", "premium"]

    page.get_by_role("link", name="Delete support:region").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delete metadata")
    submit_action(page)
    expect_success(page, "Metadata support:region deleted from CLOUD/5342823.")
    assert [r[0] for r in table_rows(page, "metadata-row")] == ["billing:plan", "support:tier"]


def test_edit_contact(as_staff):
    page = as_staff.page
    as_staff.go("/contacts/RPN-111-222-333/")
    page.get_by_role("navigation", name="Contact actions").get_by_role("link", name="Edit contact").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit Wile Coyote")
    expect(page.get_by_label("First name")).to_have_value("Wile")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("Nothing would change")

    page.get_by_label("Title").fill("Super Genius")
    page.get_by_label("Address (email addresses 2)").fill("wile@super-genius.example")
    page.get_by_test_id("roles-MANAGED_HOSTING/7777").get_by_label("Technical").uncheck()
    page.get_by_test_id("roles-CLOUD/5342823").get_by_label("Technical").check()
    page.get_by_test_id("submit").click()
    changes = page.get_by_test_id("changes")
    expect(changes).to_contain_text("Title: — → Super Genius")
    expect(changes).to_contain_text("Email addresses: add wile@super-genius.example")
    expect(changes).to_contain_text("Roles on CLOUD/5342823: PRIMARY, BILLING → PRIMARY, BILLING, TECHNICAL")
    expect(changes).to_contain_text("Roles on MANAGED_HOSTING/7777: TECHNICAL → none (taken off the account)")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(as_staff.url("/contacts/RPN-111-222-333/"))
    expect_success(page, "RPN-111-222-333 was updated")
    expect(page.get_by_test_id("emails")).to_contain_text("wile@super-genius.example")
    accounts = page.get_by_test_id("accounts")
    expect(accounts).to_contain_text("CLOUD/5342823")
    expect(accounts).not_to_contain_text("MANAGED_HOSTING/7777")


def test_action_forms_focus_their_first_field_and_anchors_clear_the_header(as_staff):
    page = as_staff.page
    as_staff.go(f"{ACCOUNT}status/")
    expect(page.locator("#id_status")).to_be_focused()
    as_staff.go(f"{ACCOUNT}move/")
    page.get_by_label("Move to customer (RCN)").fill("RCN-999-999-999")
    page.get_by_test_id("submit").click()
    expect(page.get_by_label("Move to customer (RCN)")).to_be_focused()
    # A short window, so that going to the anchor scrolls: the section must not end up under the sticky header.
    page.set_viewport_size({"width": 1280, "height": 400})
    as_staff.go(f"{ACCOUNT}#metadata")
    assert page.evaluate("window.scrollY") > 0
    header = page.locator("header").first.bounding_box()
    section = page.locator("#metadata").bounding_box()
    assert section["y"] >= header["y"] + header["height"] - 1, (section, header)
