"""The home page in a browser: one search box, the records the user opened lately, the footer's admin link and
the favicon; axe-core finds no serious violation in the light or the dark scheme."""

import pytest
from playwright.sync_api import expect

from cmsportal.identity.models import TenantGrant

from .support import assert_accessible

pytestmark = pytest.mark.e2e


def test_one_search_box_on_the_home_page_and_the_header_box_elsewhere(as_staff):
    page = as_staff.page
    as_staff.go("/")
    expect(page.get_by_role("search")).to_have_count(1)
    expect(page.locator('input[type="search"]')).to_have_count(1)
    expect(page.locator("#home-search")).to_be_focused()
    expect(page.locator("#site-search")).to_have_count(0)
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.locator("#home-search")).to_be_focused()
    as_staff.go("/accounts/")
    expect(page.get_by_role("search")).to_have_count(1)
    expect(page.locator("#site-search")).to_be_visible()


def test_recently_viewed_lists_what_was_opened_newest_first_with_names(as_staff):
    page = as_staff.page
    expect(page.get_by_test_id("recently-viewed")).to_have_count(0)  # nothing opened yet
    for path in ("/customers/RCN-400-500-600/", "/accounts/CLOUD/5342823/", "/contacts/RPN-444-555-666/"):
        as_staff.go(path)
    as_staff.go("/accounts/MANAGED_HOSTING/7777/")
    page.get_by_role("link", name="cmsportal home").click()
    recent = page.get_by_test_id("recently-viewed")
    expect(recent).to_be_visible()
    expect(recent.get_by_role("heading", name="Recently viewed")).to_be_visible()
    accounts = page.get_by_test_id("recent-accounts").get_by_test_id("recent-item")
    expect(accounts).to_have_count(2)
    expect(accounts.nth(0)).to_contain_text("MANAGED_HOSTING/7777")
    expect(accounts.nth(0)).to_contain_text("Acme Dedicated")
    expect(accounts.nth(1)).to_contain_text("CLOUD/5342823")
    expect(accounts.nth(1)).to_contain_text("Acme Cloud")
    expect(page.get_by_test_id("recent-customers")).to_contain_text("Globex Corporation")
    expect(page.get_by_test_id("recent-contacts")).to_contain_text("Hank Scorpio")
    page.get_by_test_id("recent-contacts").get_by_role("link").click()
    expect(page).to_have_url(as_staff.url("/contacts/RPN-444-555-666/"))


def test_recently_viewed_forgets_what_the_user_can_no_longer_see(as_tenant, tenant, world):
    page = as_tenant.page
    as_tenant.go("/accounts/CLOUD/5342823/")
    as_tenant.go("/contacts/RPN-111-222-333/")
    as_tenant.go("/")
    expect(page.get_by_test_id("recent-accounts")).to_contain_text("CLOUD/5342823")
    expect(page.get_by_test_id("recent-contacts")).to_contain_text("Wile Coyote")
    TenantGrant.objects.filter(user=tenant).delete()
    as_tenant.go("/")
    expect(page.get_by_test_id("recently-viewed")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("5342823")


def test_the_administration_link_is_for_staff_only(site, world, staff, tenant):
    page = site.page
    site.sign_in(tenant.username)
    expect(page.get_by_test_id("sign-out")).to_be_visible()
    expect(page.locator("footer").get_by_role("link", name="Administration")).to_have_count(0)
    page.get_by_test_id("sign-out").click()
    site.sign_in(staff.username)
    link = page.locator("footer").get_by_role("link", name="Administration")
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(site.url("/admin/"))


def test_the_favicon_is_answered(site):
    response = site.go("/favicon.ico")
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert site.page.url == site.url("/static/img/favicon.svg")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_home_page_is_accessible_with_recently_viewed(as_staff, scheme, screenshots_dir):
    page = as_staff.page
    page.emulate_media(color_scheme=scheme)
    for path in ("/customers/RCN-100-200-300/", "/accounts/CLOUD/5342823/", "/contacts/RPN-111-222-333/"):
        as_staff.go(path)
    as_staff.go("/")
    expect(page.get_by_test_id("recent-contacts")).to_be_visible()
    page.screenshot(path=str(screenshots_dir / f"home-recent-{scheme}-1280.png"), full_page=True)
    assert_accessible(page, f"{scheme} home with recently viewed")
    page.locator("#home-search").press_sequentially("acme", delay=30)
    expect(page.locator("#home-search-suggestions").get_by_role("option").first).to_be_visible()
    assert_accessible(page, f"{scheme} home with suggestions over recently viewed")
