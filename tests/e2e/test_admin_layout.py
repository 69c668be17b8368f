"""The admin's account list fits a 1366 px screen: status, collections status and tenant are in view without
scrolling sideways (a picture is left in artifacts/screenshots/ for people to look at)."""

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.choices import AccountStatus, AccountType, CollectionsStatus
from cmsportal.identity.access import Actor

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def long_names(world):
    """An account whose every text column is about as long as real ones get."""
    return account_services.account_create(
        actor=Actor("e2e-setup", "SYSTEM"),
        customer=world.globex,
        type=AccountType.FANATICAL_SUPPORT_FOR_AWS,
        account_id="190000000042",
        name="Globex Corporation International Holdings - Production Workloads",
        nickname="globex-prod-us-east-analytics",
        status=AccountStatus.PENDING_APPROVAL,
        collections_status=CollectionsStatus.DELINQUENT_LEVEL_3,
        service_level="managed_infrastructure",
        tenant_id="faws:190000000042",
    )


def test_account_changelist_fits_1366_pixels(as_staff, long_names, screenshots_dir):
    page = as_staff.page
    page.set_viewport_size(LAPTOP)
    as_staff.go("/admin/accounts/account/")
    table = page.locator("#result_list")
    expect(table).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "admin-account-changelist-1366.png"), full_page=True)

    widths = page.evaluate(
        "({scroll: document.scrollingElement.scrollWidth, client: document.scrollingElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], f"the page scrolls sideways: {widths}"
    headers = [h.strip().lower() for h in table.locator("thead th").all_inner_texts()]
    for wanted in ("status", "collections status", "tenant id"):
        assert wanted in headers, headers
    # Nor does the table scroll inside its own box: every column, and every cell of those three, is in view.
    results = page.locator("#changelist-form .results")
    inner = results.evaluate("box => ({scroll: box.scrollWidth, client: box.clientWidth})")
    assert inner["scroll"] <= inner["client"], f"the account table scrolls sideways in its box: {inner}"
    edge = results.bounding_box()
    for wanted in ("status", "collections_status", "tenant_id"):
        for cell in page.locator(f"#result_list .column-{wanted}, #result_list td.field-{wanted}").all():
            box = cell.bounding_box()
            assert box["x"] >= edge["x"] and box["x"] + box["width"] <= edge["x"] + edge["width"] + 0.5, (wanted, box)
    row = table.locator("tbody tr").filter(has_text="190000000042")
    expect(row).to_contain_text("faws:190000000042")
    expect(row).to_contain_text("Delinquent, level 3")
