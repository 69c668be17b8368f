"""The search box: identifiers land on their record, fragments give grouped, highlighted results,
suggestions follow the typing and the keyboard, and `/` focuses the box from anywhere."""

import re

import pytest
from playwright.sync_api import expect

from .support import each_case

pytestmark = pytest.mark.e2e


def search_from_header(site, query: str) -> None:
    page = site.page
    box = page.get_by_role("combobox", name="Search customers, accounts and contacts").first
    box.fill(query)
    box.press("Enter")


# (what the identifier is, query typed, URL of the record it names)
IDENTIFIERS = [
    ("RCN", "RCN-100-200-300", "/customers/RCN-100-200-300/"),
    ("RCN typed in lower case", "rcn-700-800-900", "/customers/RCN-700-800-900/"),
    ("TYPE/ID", "cloud/5342823", "/accounts/CLOUD/5342823/"),
    ("account id", "8080", "/accounts/FANATICAL_SUPPORT_FOR_AWS/8080/"),
    ("account number", "990011", "/accounts/MANAGED_HOSTING/7777/"),
    ("tenant id", "hybrid:7777", "/accounts/MANAGED_HOSTING/7777/"),
    ("RPN", "RPN-444-555-666", "/contacts/RPN-444-555-666/"),
    ("whole email, other case", "Wile.Coyote@ACME.example", "/contacts/RPN-111-222-333/"),
]

# (what the fragment is, query typed, group expected to hold the record, text of its hit, text marked in it)
FRAGMENTS = [
    ("customer name fragment", "widg", "customers", "Acme Widgets", "Widg"),
    ("RCN fragment", "RCN-400", "customers", "RCN-400-500-600", "RCN-400"),
    ("domain", "globex-cloud.example", "accounts", "CLOUD/6060606", "globex-cloud.example"),
    ("nickname", "roadrunner", "accounts", "CLOUD/5342823", "Roadrunner"),
    ("account name fragment", "dedicated", "accounts", "MANAGED_HOSTING/7777", "Dedicated"),
    ("contact first name", "Wile", "contacts", "RPN-111-222-333", "Wile"),
    ("contact last name", "scorpio", "contacts", "RPN-444-555-666", "Scorpio"),
    ("username", "pgibbons", "contacts", "RPN-777-888-999", "pgibbons"),
    ("email fragment", "coyote@acme", "contacts", "RPN-111-222-333", "coyote@acme"),
    # Stored as "+1 (210) 555-0134", shown as "+1 210-555-0134": typed with dots, or with the country code.
    ("phone in another format", "210.555.0134", "contacts", "RPN-111-222-333", "210-555-0134"),
    ("phone with country code", "+12105550134", "contacts", "RPN-111-222-333", "1 210-555-0134"),
    ("phone fragment", "867 5309", "contacts", "RPN-444-555-666", "867-5309"),
]


def test_an_identifier_lands_on_its_record(as_staff):
    page = as_staff.page

    def check(query, path):
        search_from_header(as_staff, query)
        expect(page).to_have_url(as_staff.url(path))
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    each_case(IDENTIFIERS, check)


def test_a_fragment_gives_grouped_results_with_the_match_highlighted(as_staff):
    page = as_staff.page

    def check(query, group, hit_text, marked):
        search_from_header(as_staff, query)
        expect(page).to_have_url(re.compile(r"/search/\?q="))
        expect(page.get_by_role("heading", level=1)).to_contain_text(query)
        # The group of the record is there; a group is only ever there with hits in it.
        expect(page.get_by_test_id(f"group-{group}")).to_be_visible()
        for kind in ("customers", "accounts", "contacts"):
            section = page.get_by_test_id(f"group-{kind}")
            if section.count():
                expect(section.get_by_test_id("hit")).not_to_have_count(0)
        hit = page.get_by_test_id(f"group-{group}").get_by_test_id("hit").filter(has_text=hit_text)
        expect(hit).to_have_count(1)
        expect(hit.locator("mark").filter(has_text=marked)).not_to_have_count(0)
        hit.click()
        expect(page).not_to_have_url(re.compile(r"/search/"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    each_case(FRAGMENTS, check)


def test_results_link_to_the_filtered_lists_and_say_when_nothing_matches(as_staff):
    page = as_staff.page
    search_from_header(as_staff, "acme")
    groups = page.get_by_test_id("group-accounts")
    expect(groups.get_by_test_id("hit")).to_have_count(2)
    page.get_by_test_id("see-all-accounts").click()
    expect(page).to_have_url(re.compile(r"/accounts/\?q=acme$"))
    expect(page.get_by_test_id("row")).to_have_count(2)
    search_from_header(as_staff, "zzyzx-nothing")
    expect(page.get_by_test_id("no-results")).to_contain_text("zzyzx-nothing")


def test_suggestions_appear_while_typing_and_are_chosen_with_the_keyboard(as_staff):
    page = as_staff.page
    as_staff.go("/accounts/")
    box = page.locator("#site-search")
    listbox = page.locator("#site-search-suggestions")
    expect(listbox).to_be_hidden()
    box.press_sequentially("acm", delay=40)
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    # Acme Widgets, its two accounts, Wile (acme.example email), and "All results".
    expect(listbox.get_by_test_id("suggestion").filter(has_text="Acme Widgets")).to_have_count(1)
    expect(listbox.get_by_test_id("suggestion").filter(has_text="CLOUD/5342823")).to_have_count(1)
    expect(listbox.locator("mark").first).to_have_text(re.compile("acm", re.I))

    box.press("ArrowDown")
    first = options.nth(0)
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    box.press("ArrowDown")
    second = options.nth(1)
    expect(second).to_have_attribute("aria-selected", "true")
    expect(first).to_have_attribute("aria-selected", "false")
    expect(box).to_be_focused()
    target = second.get_attribute("href")
    box.press("Enter")
    expect(page).to_have_url(as_staff.url(target))


def test_escape_closes_the_suggestions_and_enter_searches_and_no_match_is_said(as_staff):
    page = as_staff.page
    box = page.locator("#home-search")
    box.press_sequentially("Scorp", delay=40)
    listbox = page.locator("#home-search-suggestions")
    expect(listbox.get_by_test_id("suggestion").filter(has_text="RPN-444-555-666")).to_have_count(1)
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=Scorp$"))
    expect(page.get_by_test_id("group-contacts").get_by_test_id("hit")).to_have_count(1)
    page.locator("#site-search").fill("")
    page.locator("#site-search").press_sequentially("qqxv", delay=40)
    expect(page.locator("#site-search-suggestions")).to_contain_text("No matches for “qqxv”")


def test_slash_focuses_the_search_box(as_staff):
    page = as_staff.page
    as_staff.go("/accounts/CLOUD/5342823/")
    box = page.locator("#site-search")
    page.locator("h1").click()
    expect(box).not_to_be_focused()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    expect(box).to_have_value("")  # the slash opened the box; it was not typed into it
    # In a form field "/" is just a character.
    as_staff.go("/accounts/")
    tenant_field = page.get_by_label("Tenant id")
    tenant_field.click()
    page.keyboard.type("a/b")
    expect(tenant_field).to_have_value("a/b")
    expect(box).not_to_be_focused()
