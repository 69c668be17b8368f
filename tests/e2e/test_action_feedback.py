"""The staff action pages in the browser, in the light and the dark scheme, on a desktop and a phone: a risky
status change asks for a reason and keeps it; the status forms show the current state; the RCN fields of move
and merge suggest customers by RCN or name, from the keyboard; the success message lands in the section of the
change; the API reference has one main landmark. axe-core finds no serious or critical violation on any of
them, and no page is wider than the screen. The pages are photographed (artifacts/screenshots/), the merge
confirmation among them."""

import re

import pytest
from playwright.sync_api import expect

from .support import axe_violations

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
LOOKS = [("light", DESKTOP), ("dark", DESKTOP), ("light", PHONE), ("dark", PHONE)]
ACCOUNT = "/accounts/CLOUD/5342823/"


class Looks:
    """Scans the page as it stands in every scheme and size (and photographs it when asked); one report."""

    def __init__(self, page, screenshots_dir=None):
        self.page = page
        self.dir = screenshots_dir
        self.problems: list[str] = []

    def check(self, label: str, photo: str | None = None) -> None:
        page = self.page
        for scheme, size in LOOKS:
            page.emulate_media(color_scheme=scheme)
            page.set_viewport_size(size)
            where = f"{label} ({scheme}, {size['width']}px)"
            self.problems += axe_violations(page, where)
            extra = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if extra > 0:
                self.problems.append(f"{where} is {extra}px wider than the window")
            if photo:
                page.evaluate("window.scrollTo(0, 0)")  # a full-page picture taken scrolled shows the header mid-page
                page.screenshot(path=str(self.dir / f"{photo}-{scheme}-{size['width']}.png"), full_page=True)
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(DESKTOP)

    def done(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def test_a_risky_status_change_asks_for_a_reason_and_shows_it_in_the_status_section(as_staff, screenshots_dir):
    page = as_staff.page
    looks = Looks(page, screenshots_dir)
    as_staff.go(ACCOUNT + "collections/")
    expect(page.get_by_test_id("current-state")).to_contain_text("Collections status")
    expect(page.get_by_test_id("current-state")).to_contain_text("Current")

    as_staff.go(ACCOUNT + "status/")
    state = page.get_by_test_id("current-state")
    expect(state).to_contain_text(re.compile(r"Status\s*Active"))
    expect(state).to_contain_text(re.compile(r"Collections status\s*Current"))
    expect(state).to_contain_text(re.compile(r"Access policy\s*Full"))
    expect(page.get_by_label("Reason")).to_be_visible()
    page.get_by_label(re.compile("^Status")).select_option("Closed")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("Give a reason: this change means closing an account")
    expect(page.get_by_label(re.compile("^Status"))).to_have_value("Closed")
    expect(page.get_by_label("Reason")).to_be_focused()  # the first field in error
    looks.check("status form asking for a reason", photo="status-reason")

    page.get_by_label("Reason").fill("Customer asked to close, ticket 4711")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("changes")).to_contain_text("Reason recorded with the change: Customer asked to close")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(as_staff.url(ACCOUNT + "#status"))
    placed = page.locator("#status").get_by_role("status")
    expect(placed).to_contain_text("Status of CLOUD/5342823 changed")
    expect(page.get_by_test_id("message")).to_have_count(1)
    expect(placed).to_be_in_viewport()
    newest = page.get_by_test_id("timeline").locator("li").first
    expect(newest).to_contain_text("Closed")
    expect(newest.get_by_test_id("timeline-reason")).to_have_text("Reason: Customer asked to close, ticket 4711")
    looks.check("account page after a status change", photo="status-changed")
    looks.done()


def test_rcn_fields_suggest_customers_and_the_merge_is_confirmed(as_staff, screenshots_dir):
    page = as_staff.page
    looks = Looks(page, screenshots_dir)
    # Move: by part of the name, chosen from the keyboard.
    as_staff.go(ACCOUNT + "move/")
    field = page.get_by_label("Move to customer (RCN)")
    expect(field).to_be_focused()
    field.press_sequentially("glob", delay=40)
    listbox = page.get_by_role("listbox", name="Customers")
    expect(listbox.get_by_role("option")).to_have_text(["RCN-400-500-600 — Globex Corporation"])
    expect(field).to_have_attribute("aria-expanded", "true")
    field.press("ArrowDown")
    expect(listbox.get_by_role("option", selected=True)).to_have_text("RCN-400-500-600 — Globex Corporation")
    looks.check("move form with suggestions", photo="customer-suggestions")
    field.press("Enter")  # chooses the customer; the form is not sent yet
    expect(field).to_have_value("RCN-400-500-600")
    expect(listbox).to_be_hidden()
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    field.press("Enter")  # now it is
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(as_staff.url(ACCOUNT + "#summary"))
    placed = page.locator("#summary").get_by_role("status")
    expect(placed).to_contain_text("CLOUD/5342823 now belongs to RCN-400-500-600.")
    expect(page.get_by_test_id("customer-line")).to_contain_text("RCN-400-500-600")
    looks.check("account page after a move")

    # Merge: by part of the RCN, chosen with the mouse; the confirmation names both customers and what moves.
    as_staff.go("/customers/RCN-700-800-900/merge/")
    field = page.get_by_label("Merge into customer (RCN)")
    field.press_sequentially("RCN-100", delay=40)
    page.get_by_role("option", name="RCN-100-200-300 — Acme Widgets").click()
    expect(field).to_have_value("RCN-100-200-300")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("changes")).to_contain_text(
        "Every account and contact of RCN-700-800-900 (Initech Holdings) moves to RCN-100-200-300 (Acme Widgets)"
    )
    looks.check("merge confirmation", photo="merge-confirmation")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(as_staff.url("/customers/RCN-100-200-300/#accounts"))
    expect(page.locator("#accounts").get_by_role("status")).to_contain_text("RCN-700-800-900 was merged into")
    looks.done()


def test_the_api_reference_has_one_main_landmark_a_language_and_a_way_back(site):
    page = site.page
    site.go("/v1/docs")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    expect(page.get_by_role("main")).to_have_count(1)
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.get_by_role("link", name="Back to cmsportal", exact=True)).to_have_attribute("href", "/")
    looks = Looks(page)
    looks.check("API reference")
    looks.done()
