"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test gets a fresh, small set of records written through the services (the live server needs a
transactional database, so nothing survives a test), users with exactly the permissions they need,
and a page signed in through the real login form.
"""

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from accounts import services as account_services
from accounts.choices import AccountStatus, AccountType, CollectionsStatus
from cmsportal.identity.access import Actor
from cmsportal.identity.models import TenantGrant
from contacts import services as contact_services
from contacts.choices import Role
from metadata import services as metadata_services

from ..factories import UserFactory

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
PASSWORD = "e2e-correct-horse-battery-staple"
STAFF_PERMISSIONS = [
    ("identity", "view_all_accounts"),
    ("accounts", "change_account"),
    ("accounts", "change_customer"),
    ("contacts", "change_contact"),
    ("metadata", "add_metadata"),
    ("metadata", "change_metadata"),
    ("metadata", "delete_metadata"),
]

# A busy two-core CI machine renders slower than a laptop; fail on real waits, not on jitter.
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(config, items):
    """Without Chromium the browser tests are skipped, visibly, instead of failing or downloading a browser."""
    if os.access(CHROMIUM, os.X_OK):
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}: apt-get install chromium to run browser tests")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a browser downloaded by Playwright; flags that suit containers and CI."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-US"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The login form still checks the password; a cheap hash keeps each sign-in from costing a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    """What Chromium's console said against the Content-Security-Policy while the test ran."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text) if is_csp_violation(message.text) else None)
    return found


@pytest.fixture
def page(page: Page, csp_violations):
    """Every browser test also checks that no page broke the Content-Security-Policy."""
    page.set_default_timeout(15_000)
    yield page
    assert not csp_violations, csp_violations


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test leaves a picture of its last page in artifacts/screenshots/failures/."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1])[:150]
        # A courtesy: if the page is gone too, the test's own failure is what counts.
        with contextlib.suppress(Exception):
            page.screenshot(path=str(SCREENSHOTS / "failures" / f"{name}.png"), full_page=True)
    return report


@pytest.fixture(scope="session")
def screenshots_dir():
    """artifacts/screenshots/ at the repository root (gitignored); CI keeps it as the run's artifacts."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# --- records -------------------------------------------------------------------------------------


@dataclass
class World:
    """The records every browser test starts from, with the identifiers the tests search for."""

    acme: object
    globex: object
    initech: object
    acme_cloud: object
    acme_dedicated: object
    globex_cloud: object
    initech_aws: object
    wile: object
    hank: object
    peter: object


@pytest.fixture
def world(live_server) -> World:
    """Three customers, four accounts of three types, three contacts and a little metadata.

    Acme (RCN-100-200-300) owns CLOUD/5342823 "Roadrunner" (tenant 5342823) and MANAGED_HOSTING/7777
    (number 990011, tenant hybrid:7777, suspended); Globex (RCN-400-500-600) owns CLOUD/6060606 (domain
    globex-cloud.example); Initech (RCN-700-800-900) owns FANATICAL_SUPPORT_FOR_AWS/8080 (tenant faws:8080).
    """
    system = Actor("e2e-setup", "SYSTEM")
    acme = account_services.customer_create(rcn="RCN-100-200-300", name="Acme Widgets")
    globex = account_services.customer_create(rcn="RCN-400-500-600", name="Globex Corporation")
    initech = account_services.customer_create(rcn="RCN-700-800-900", name="Initech Holdings")
    acme_cloud = account_services.account_create(
        actor=system,
        customer=acme,
        type=AccountType.CLOUD,
        account_id="5342823",
        name="Acme Cloud",
        nickname="Roadrunner",
        service_level="managed",
    )
    acme_dedicated = account_services.account_create(
        actor=system,
        customer=acme,
        type=AccountType.MANAGED_HOSTING,
        account_id="7777",
        number=990011,
        name="Acme Dedicated",
        status=AccountStatus.SUSPENDED,
        collections_status=CollectionsStatus.DELINQUENT_LEVEL_1,
        service_level="premium",
    )
    globex_cloud = account_services.account_create(
        actor=system,
        customer=globex,
        type=AccountType.CLOUD,
        account_id="6060606",
        name="Globex Cloud",
        domain="globex-cloud.example",
        service_level="managed",
    )
    initech_aws = account_services.account_create(
        actor=system,
        customer=initech,
        type=AccountType.FANATICAL_SUPPORT_FOR_AWS,
        account_id="8080",
        name="Initech AWS",
    )
    wile = contact_services.contact_create(
        actor=system,
        contact_number="RPN-111-222-333",
        customer=acme,
        first_name="Wile",
        last_name="Coyote",
        username="wcoyote",
        email_addresses=[{"address": "wile.coyote@acme.example", "primary": True}],
        phone_numbers=[{"number": "+1 (210) 555-0134", "country": "US", "primary": True}],
        addresses=[{"street": "1 Mesa Road", "city": "Tucson", "state": "AZ", "zipcode": "85701", "country": "US"}],
        accounts={acme_cloud: [Role.PRIMARY, Role.BILLING], acme_dedicated: [Role.TECHNICAL]},
    )
    hank = contact_services.contact_create(
        actor=system,
        contact_number="RPN-444-555-666",
        customer=globex,
        first_name="Hank",
        last_name="Scorpio",
        username="hscorpio",
        email_addresses=[{"address": "hank@globex.example", "primary": True}],
        phone_numbers=[{"number": "+1 555 867 5309", "primary": True}],
        accounts={globex_cloud: [Role.PRIMARY]},
    )
    peter = contact_services.contact_create(
        actor=system,
        contact_number="RPN-777-888-999",
        customer=initech,
        first_name="Peter",
        last_name="Gibbons",
        username="pgibbons",
        email_addresses=[{"address": "peter@initech.example"}],
        accounts={initech_aws: [Role.ADMINISTRATIVE]},
    )
    metadata_services.metadata_set(account=acme_cloud, key="billing:plan", value="standard", actor=system)
    metadata_services.metadata_set(account=acme_cloud, key="support:region", value="us-west", actor=system)
    return World(acme, globex, initech, acme_cloud, acme_dedicated, globex_cloud, initech_aws, wile, hank, peter)


# --- users and signing in ------------------------------------------------------------------------


@pytest.fixture
def staff(live_server):
    """A member of staff who sees every account and may use every action of the staff pages."""
    user = UserFactory(username="e2e-staff", is_staff=True, password=PASSWORD)
    for app_label, codename in STAFF_PERMISSIONS:
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@pytest.fixture
def tenant(live_server, world):
    """A customer's user: sees only tenant 5342823 (Acme's cloud account), may change nothing."""
    user = UserFactory(username="e2e-tenant", password=PASSWORD)
    TenantGrant.objects.create(user=user, tenant_id=world.acme_cloud.tenant_id)
    return user


class Site:
    """The live server as the tests see it: absolute URLs and the sign-in form."""

    def __init__(self, live_server, page: Page):
        self.base = live_server.url
        self.page = page

    def url(self, path: str) -> str:
        return self.base + path

    def go(self, path: str):
        response = self.page.goto(self.url(path))
        return response

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto(self.url("/login/"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def site(live_server, page) -> Site:
    return Site(live_server, page)


@pytest.fixture
def as_staff(site, world, staff) -> Site:
    """A page signed in as staff through the login form, on the home page."""
    site.sign_in(staff.username)
    expect(site.page.get_by_test_id("sign-out")).to_be_visible()
    return site


@pytest.fixture
def as_tenant(site, world, tenant) -> Site:
    site.sign_in(tenant.username)
    expect(site.page.get_by_test_id("sign-out")).to_be_visible()
    return site
