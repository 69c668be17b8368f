"""Edit forms carry the version they were opened on: a change made by someone else in between is reported,
not overwritten, and submitting again after review goes through."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from cmsportal.identity.access import Actor
from cmsportal.versions import StaleVersion
from metadata import services
from metadata.models import Metadata
from tests.factories import AccountFactory, MetadataFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/accounts/CLOUD/1001/metadata/"
STALE = "after you opened it: review the current value and submit again"


def version_in(response) -> str:
    found = re.search(r'<input type="hidden" name="version" value="([^"]*)"', response.content.decode())
    assert found, "the form carries no version"
    return found.group(1)


@pytest.fixture
def account():
    account = AccountFactory(account_id="1001", tenant_id="t1")
    MetadataFactory(account=account, key="support:tier", value="gold")
    return account


@pytest.fixture
def client():
    user = UserFactory(username="alice", is_staff=True, view_all=True)
    for codename in ("add_metadata", "change_metadata", "delete_metadata"):
        user.user_permissions.add(Permission.objects.get(content_type__app_label="metadata", codename=codename))
    client = Client()
    client.force_login(user)
    return client


def value():
    entry = Metadata.objects.filter(key="support:tier").first()
    return entry.value if entry else None


def test_edit_over_a_newer_change_is_refused_with_who_and_when(client, account):
    opened = client.get(URL + "edit/", {"key": "support:tier"})
    version = version_in(opened)
    # The confirmation step carries the same version on.
    step = client.post(URL + "edit/", {"key": "support:tier", "value": "silver", "version": version})
    assert step.context["confirming"] and version_in(step) == version

    services.metadata_set(account=account, key="support:tier", value="platinum", actor=Actor("bob"))

    data = {"key": "support:tier", "value": "silver", "version": version, "confirm": "yes"}
    response = client.post(URL + "edit/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "support:tier was changed by bob at " in page and STALE in page
    assert "Its value is now &#x27;platinum&#x27;." in page
    assert value() == "platinum"
    # The form now stands on the version just shown: submitting again is a deliberate overwrite.
    renewed = version_in(response)
    assert renewed != version
    assert client.post(URL + "edit/", {**data, "version": renewed}).status_code == 302
    assert value() == "silver"


def test_delete_over_a_newer_change_is_refused(client, account):
    version = version_in(client.get(URL + "delete/", {"key": "support:tier"}))
    services.metadata_set(account=account, key="support:tier", value="platinum", actor=Actor("bob"))
    response = client.post(URL + "delete/", {"key": "support:tier", "version": version, "confirm": "yes"})
    assert response.status_code == 200 and STALE in response.content.decode()
    assert value() == "platinum"


def test_an_unchanged_entry_is_edited(client, account):
    version = version_in(client.get(URL + "edit/", {"key": "support:tier"}))
    data = {"key": "support:tier", "value": "silver", "version": version, "confirm": "yes"}
    assert client.post(URL + "edit/", data).status_code == 302
    assert value() == "silver"


def test_add_never_overwrites_an_entry_created_meanwhile(client, account):
    # The service itself refuses: the page's own check ran before someone else created the key.
    with pytest.raises(StaleVersion):
        services.metadata_set(account=account, key="support:tier", value="x", actor=Actor("alice"), expected_version="")
    assert value() == "gold"
