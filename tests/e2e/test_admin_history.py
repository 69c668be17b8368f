"""The admin's History page of an object shows the changes made anywhere: on the staff pages and through the
API, not only admin edits; readable in both colour schemes, on a desktop and a phone."""

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from metadata.models import Metadata
from tests.e2e.conftest import PASSWORD
from tests.e2e.support import assert_accessible, submit_action
from tests.e2e.test_actions import open_action

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


def test_history_pages_show_changes_made_on_the_pages_and_through_the_api(as_staff, staff):
    page = as_staff.page
    # On the staff pages: the nickname.
    open_action(as_staff, "Change nickname")
    submit_action(page, lambda p: p.get_by_label("Nickname").fill("Beep Beep"))
    # Through the API, with a token: a metadata entry of the same account.
    token = page.request.post(
        as_staff.url("/v2.0/tokens"),
        data={"auth": {"passwordCredentials": {"username": staff.username, "password": PASSWORD}}},
    ).json()["access"]["token"]["id"]
    put = page.request.put(
        as_staff.url("/v1/customer_accounts/CLOUD/5342823/metadata/support:tier"),
        headers={"X-Auth-Token": token, "Content-Type": "application/json"},
        data={"meta": {"support:tier": "gold"}},
    )
    assert put.status == 204, put.text()

    account = Account.objects.get(type="CLOUD", account_id="5342823")
    entry = Metadata.objects.get(account=account, key="support:tier")
    as_staff.go(f"/admin/accounts/account/{account.pk}/history/")
    history = page.locator("#content")
    expect(history).to_contain_text("Roadrunner")
    expect(history).to_contain_text("Beep Beep")
    expect(history).to_contain_text(staff.username)
    as_staff.go(f"/admin/metadata/metadata/{entry.pk}/history/")
    expect(page.locator("#content")).to_contain_text("gold")

    as_staff.go(f"/admin/accounts/account/{account.pk}/history/")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            assert_accessible(page, f"admin history {size} {scheme}")
