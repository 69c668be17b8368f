"""Pictures of the main pages for people to look at (artifacts/screenshots/), light and dark, desktop and
phone; and the one thing a picture shows that a test can check: no page is wider than the screen."""

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from cmsportal.identity.access import Actor

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
PAGES = [
    ("home", "/"),
    ("search-results", "/search/?q=acme"),
    ("account-list", "/accounts/"),
    ("account-detail", "/accounts/CLOUD/5342823/"),
    ("customer-detail", "/customers/RCN-100-200-300/"),
    ("contact-detail", "/contacts/RPN-111-222-333/"),
    ("contact-edit", "/contacts/RPN-111-222-333/edit/"),
    ("change-log", "/changes/"),
]
PHONE_PAGES = {"home", "search-results", "account-detail", "contact-edit"}


def overflow(page) -> int:
    """How many CSS pixels the document is wider than the window (tables scroll inside their own box)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def shoot(page, directory, name: str, scheme: str, size: dict, problems: list) -> str:
    """Save the picture, note any overflow, and return the page's background colour in this scheme."""
    page.set_viewport_size(size)
    page.emulate_media(color_scheme=scheme)
    page.screenshot(path=str(directory / f"{name}-{scheme}-{size['width']}.png"), full_page=True)
    extra = overflow(page)
    if extra > 0:
        problems.append(f"{name} ({scheme}, {size['width']}px) is {extra}px wider than the window")
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_main_pages(site, world, staff, screenshots_dir):
    page = site.page
    problems: list[str] = []
    site.go("/login/")
    for scheme in ("light", "dark"):
        shoot(page, screenshots_dir, "login", scheme, DESKTOP, problems)
    shoot(page, screenshots_dir, "login", "light", PHONE, problems)
    page.set_viewport_size(DESKTOP)
    site.sign_in(staff.username)
    expect(page.get_by_test_id("sign-out")).to_be_visible()
    # A change of a few fields for the change log's picture, beside the created records' every field.
    account_services.account_nickname_change(
        account=world.acme_cloud, actor=Actor("e2e-staff", "RACKER"), nickname="Road Runner"
    )
    for name, path in PAGES:
        site.go(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        backgrounds = set()
        for scheme in ("light", "dark"):
            backgrounds.add(shoot(page, screenshots_dir, name, scheme, DESKTOP, problems))
            if name in PHONE_PAGES:
                shoot(page, screenshots_dir, name, scheme, PHONE, problems)
        if len(backgrounds) != 2:
            problems.append(f"{name} looks the same in the light and the dark scheme ({backgrounds})")
    # The suggestions drop-down, open, on a phone.
    site.go("/accounts/")
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="light")
    page.locator("#site-search").press_sequentially("acme", delay=30)
    expect(page.locator("#site-search-suggestions").get_by_role("option").first).to_be_visible()
    page.locator("#site-search").press("ArrowDown")
    page.screenshot(path=str(screenshots_dir / "suggestions-light-375.png"))
    assert not problems, "\n".join(problems)
    assert len(list(screenshots_dir.glob("*.png"))) >= 2 * len(PAGES) + 2
