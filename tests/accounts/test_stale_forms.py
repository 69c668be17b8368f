"""Account actions carry the version of the account they were opened on; a newer change is reported."""

import re

import pytest
from django.test import Client

from accounts import services
from accounts.models import Account, StatusChange
from cmsportal.identity.access import Actor
from cmsportal.versions import StaleVersion
from tests.factories import AccountFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/accounts/CLOUD/1001/"
STALE = "after you opened it: review the current value and submit again"


def version_in(response) -> str:
    found = re.search(r'<input type="hidden" name="version" value="([^"]*)"', response.content.decode())
    assert found, "the form carries no version"
    return found.group(1)


@pytest.fixture
def account():
    CustomerFactory(rcn="RCN-100-000-009")
    return AccountFactory(account_id="1001", tenant_id="t1", status="Active", nickname=None)


@pytest.fixture
def client():
    client = Client()
    client.force_login(UserFactory(username="alice", is_staff=True, view_all=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "action, data",
    [
        # Submitted again over bob's closing, the change reopens the account: that needs a reason.
        ("status", {"status": "Suspended", "reason": "Reopened after review"}),
        ("collections", {"collections_status": "DELINQUENT_LEVEL_1"}),
        ("nickname", {"nickname": "mine"}),
        ("move", {"rcn": "RCN-100-000-009"}),
    ],
)
def test_action_over_a_newer_change_is_refused(client, account, action, data):
    version = version_in(client.get(URL + f"{action}/"))
    services.account_status_change(account=account, actor=Actor("bob"), status="Closed")
    changes = StatusChange.objects.count()

    response = client.post(URL + f"{action}/", {**data, "version": version, "confirm": "yes"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "was changed by bob at " in page and STALE in page
    assert Account.objects.get(pk=account.pk).status == "Closed"
    assert StatusChange.objects.count() == changes
    # After review, the renewed form goes through.
    renewed = version_in(response)
    assert renewed != version
    assert client.post(URL + f"{action}/", {**data, "version": renewed, "confirm": "yes"}).status_code == 302


def test_action_on_an_unchanged_account_goes_through(client, account):
    version = version_in(client.get(URL + "status/"))
    response = client.post(URL + "status/", {"status": "Suspended", "version": version, "confirm": "yes"})
    assert response.status_code == 302
    assert Account.objects.get(pk=account.pk).status == "Suspended"


def test_service_checks_the_version_under_its_lock(account):
    version = services.account_version(Account.objects.select_related("customer").get(pk=account.pk)).tag
    services.account_nickname_change(account=account, actor=Actor("bob"), nickname="b")
    with pytest.raises(StaleVersion) as raised:
        services.account_status_change(account=account, actor=Actor("a"), status="Closed", expected_version=version)
    assert raised.value.current.changed_by == "bob"
    assert Account.objects.get(pk=account.pk).status == "Active"
