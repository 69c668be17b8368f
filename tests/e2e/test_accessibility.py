"""axe-core scans every staff page, in the light and the dark colour scheme: no serious or critical
violation is allowed. A failure lists every violation of every page (rule, impact, element, help)."""

import pytest
from playwright.sync_api import expect

from .support import axe_violations

pytestmark = pytest.mark.e2e

SCHEMES = ["light", "dark"]


class Scan:
    """Collects the violations of each page visited, so one run reports them all."""

    def __init__(self, site, scheme: str):
        self.site = site
        self.scheme = scheme
        self.violations: list[str] = []
        site.page.emulate_media(color_scheme=scheme)

    def here(self, label: str) -> None:
        self.violations.extend(axe_violations(self.site.page, f"{self.scheme} {label}"))

    def visit(self, label: str, path: str) -> None:
        response = self.site.go(path)
        assert response.ok or response.status == 404, f"{path} answered {response.status}"
        self.here(label)

    def action(self, label: str, path: str, fill=None) -> None:
        """The action's form, then its confirmation page (nothing is confirmed)."""
        page = self.site.page
        self.visit(f"{label} form", path)
        if fill:
            fill(page)
        page.get_by_test_id("submit").click()
        expect(page.get_by_test_id("confirm")).to_be_visible()
        self.here(f"{label} confirmation")

    def check(self) -> None:
        assert not self.violations, "axe-core found serious or critical violations:\n" + "\n".join(self.violations)


def test_sign_in_page(site, staff):
    violations = []
    for scheme in SCHEMES:
        scan = Scan(site, scheme)
        scan.visit("login", "/login/")
        site.page.get_by_label("Username").fill("e2e-staff")
        site.page.get_by_label("Password").fill("wrong")
        site.page.get_by_role("button", name="Sign in").click()
        expect(site.page.get_by_role("alert")).to_be_visible()
        scan.here("login with error")
        violations += scan.violations
    assert not violations, "axe-core found serious or critical violations:\n" + "\n".join(violations)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_browse_pages(as_staff, scheme):
    scan = Scan(as_staff, scheme)
    page = as_staff.page
    scan.visit("home", "/")
    page.locator("#home-search").press_sequentially("acme", delay=30)
    expect(page.locator("#home-search-suggestions").get_by_role("option").first).to_be_visible()
    page.locator("#home-search").press("ArrowDown")
    scan.here("home with suggestions open")
    scan.visit("search results", "/search/?q=acme")
    scan.visit("search without results", "/search/?q=zzyzx")
    scan.visit("customer list", "/customers/")
    scan.visit("account list", "/accounts/?status=Active&sort=-number")
    scan.visit("account list with refused filter", "/accounts/?metadataValue=x")
    scan.visit("contact list", "/contacts/")
    scan.visit("customer detail", "/customers/RCN-100-200-300/")
    scan.visit("account detail", "/accounts/CLOUD/5342823/")
    scan.visit("suspended account detail", "/accounts/MANAGED_HOSTING/7777/")
    scan.visit("contact detail", "/contacts/RPN-111-222-333/")
    scan.visit("change log", "/changes/")
    scan.visit("change log filtered", "/changes/?objectType=account&action=update&sort=id")
    scan.visit("change log with refused filter", "/changes/?since=yesterday")
    scan.visit("not found", "/accounts/CLOUD/404404/")
    scan.check()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_action_pages(as_staff, scheme):
    scan = Scan(as_staff, scheme)
    account = "/accounts/CLOUD/5342823"
    scan.action("change status", f"{account}/status/", lambda p: p.locator("#id_status").select_option("Suspended"))
    scan.visit("change status with error", f"{account}/status/")
    as_staff.page.get_by_test_id("submit").click()
    expect(as_staff.page.get_by_test_id("form-errors")).to_be_visible()
    scan.here("change status with error")
    scan.action(
        "change collections status",
        f"{account}/collections/",
        lambda p: p.get_by_label("Collections status").select_option("WRITTEN_OFF"),
    )
    scan.action("change nickname", f"{account}/nickname/", lambda p: p.get_by_label("Nickname").fill("Wile E."))
    scan.action("move", f"{account}/move/", lambda p: p.get_by_label("Move to customer (RCN)").fill("RCN-400-500-600"))
    scan.visit("move with error", f"{account}/move/")
    as_staff.page.get_by_test_id("submit").click()
    expect(as_staff.page.get_by_test_id("field-error")).to_be_visible()
    scan.here("move with field error")
    scan.action(
        "merge",
        "/customers/RCN-700-800-900/merge/",
        lambda p: p.get_by_label("Merge into customer (RCN)").fill("RCN-400-500-600"),
    )

    def add(p):
        p.get_by_label("Key").fill("support:tier")
        p.get_by_label("Value").fill("gold")

    scan.action("add metadata", f"{account}/metadata/add/", add)
    scan.action("edit metadata", f"{account}/metadata/edit/?key=billing:plan")
    scan.action("delete metadata", f"{account}/metadata/delete/?key=billing:plan")
    scan.action("edit contact", "/contacts/RPN-111-222-333/edit/", lambda p: p.get_by_label("Title").fill("Genius"))
    scan.check()


def test_the_scan_reports_what_it_finds(page):
    """The scan is not vacuous: an unlabelled field and low-contrast text on a page are reported."""
    page.set_content(
        '<html lang="en"><title>t</title><main><input type="text">'
        '<p style="color:#bbb;background:#fff">faint</p></main></html>'
    )
    violations = axe_violations(page, "canary")
    assert any(line.startswith("[canary] label (critical)") for line in violations), violations
    assert any("color-contrast (serious)" in line for line in violations), violations
