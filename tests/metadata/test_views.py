"""Metadata on the account page: add, edit, delete through the services, under permissions and namespace policy."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts import services as account_services
from cmsportal.identity.access import Actor
from cmsportal.identity.models import TenantGrant
from metadata.models import Metadata
from tests.factories import AccountFactory, MetadataFactory, NamespaceFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/accounts/CLOUD/1001/"


def make_client(username, *perms, groups=(), view_all=True):
    user = UserFactory(username=username, is_staff=True, view_all=view_all)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="metadata", codename=codename))
    for group in groups:
        user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def account():
    return AccountFactory(account_id="1001", tenant_id="t1")


@pytest.fixture
def writers():
    return Group.objects.create(name="billing-writers")


@pytest.fixture
def policies(account, writers):
    readers = Group.objects.create(name="secret-readers")
    NamespaceFactory(name="billing", access="WRITE_RESTRICTED").writers.add(writers)
    NamespaceFactory(name="secret", access="READ_RESTRICTED").readers.add(readers)
    MetadataFactory(account=account, key="support:tier", value="gold")
    MetadataFactory(account=account, key="billing:plan", value="monthly")
    MetadataFactory(account=account, key="secret:pin", value="4321")
    return {"readers": readers, "writers": writers}


ALL = ("add_metadata", "change_metadata", "delete_metadata")


def confirm(client, url, data):
    first = client.post(url, data)
    assert first.status_code == 200
    assert first.context.get("confirming") is True, first.context["form"].errors
    return client.post(url, {**data, "confirm": "yes"}, follow=True)


def test_add_edit_delete(account):
    client = make_client("meta", *ALL)
    response = confirm(client, URL + "metadata/add/", {"key": "support:tier", "value": "gold"})
    assert Metadata.objects.get(account=account, key="support:tier").value == "gold"
    assert "Metadata support:tier added to CLOUD/1001." in response.content.decode()
    assert Metadata.objects.get(key="support:tier").created_by == "meta"

    edit = client.get(URL + "metadata/edit/", {"key": "support:tier"})
    assert 'value="support:tier"' in edit.content.decode() and "readonly" in edit.content.decode()
    response = confirm(client, URL + "metadata/edit/", {"key": "support:tier", "value": "platinum"})
    assert Metadata.objects.get(key="support:tier").value == "platinum"
    assert "platinum" in response.content.decode()

    response = confirm(client, URL + "metadata/delete/", {"key": "support:tier"})
    assert not Metadata.objects.filter(key="support:tier").exists()
    assert "Metadata support:tier deleted from CLOUD/1001." in response.content.decode()


def test_add_validates_key_and_duplicates(account):
    client = make_client("meta", *ALL)
    response = client.post(URL + "metadata/add/", {"key": "no namespace", "value": "x"})
    assert "A metadata key is namespace:name" in response.content.decode()
    MetadataFactory(account=account, key="support:tier", value="gold")
    response = client.post(URL + "metadata/add/", {"key": "support:tier", "value": "x", "confirm": "yes"})
    assert "already has support:tier" in response.content.decode()
    assert Metadata.objects.get(key="support:tier").value == "gold"


@pytest.mark.parametrize(
    "path, perm, data",
    [
        ("metadata/add/", "add_metadata", {"key": "support:a", "value": "b"}),
        ("metadata/edit/", "change_metadata", {"key": "support:tier", "value": "b"}),
        ("metadata/delete/", "delete_metadata", {"key": "support:tier"}),
    ],
)
def test_each_action_needs_its_permission(account, path, perm, data):
    MetadataFactory(account=account, key="support:tier", value="gold")
    others = [p for p in ALL if p != perm]
    client = make_client("partial", *others)
    assert client.get(URL + path, {"key": "support:tier"}).status_code == 403
    assert client.post(URL + path, {**data, "confirm": "yes"}).status_code == 403
    assert Metadata.objects.get(key="support:tier").value == "gold"
    assert not Metadata.objects.filter(key="support:a").exists()


def test_metadata_actions_need_csrf(account):
    client = make_client("meta", *ALL)
    client.handler.enforce_csrf_checks = True
    response = client.post(URL + "metadata/add/", {"key": "support:a", "value": "b", "confirm": "yes"})
    assert response.status_code == 403
    assert not Metadata.objects.exists()


def test_read_restricted_namespace_is_hidden(policies):
    body = make_client("plain", *ALL).get(URL).content.decode()
    assert "support:tier" in body and "billing:plan" in body
    assert "secret:pin" not in body and "4321" not in body
    reader = make_client("reader", *ALL, groups=[policies["readers"]])
    assert "secret:pin" in reader.get(URL).content.decode()


def test_read_restricted_entry_cannot_be_opened_or_changed(policies):
    client = make_client("plain", *ALL)
    assert client.get(URL + "metadata/edit/", {"key": "secret:pin"}).status_code == 404
    assert client.post(URL + "metadata/delete/", {"key": "secret:pin", "confirm": "yes"}).status_code == 404
    response = client.post(URL + "metadata/add/", {"key": "secret:new", "value": "x", "confirm": "yes"}, follow=True)
    assert response.status_code == 200
    assert "You may not change metadata in the namespace &#x27;secret&#x27;." in response.content.decode()
    assert Metadata.objects.get(key="secret:pin").value == "4321"
    assert not Metadata.objects.filter(key="secret:new").exists()


def test_write_restricted_namespace_is_read_only_for_non_writers(policies):
    client = make_client("plain", *ALL)
    body = client.get(URL).content.decode()
    billing = body[body.index('data-testid="namespace-billing"') :]
    billing = billing[: billing.index("</section>")]
    assert "monthly" in billing
    assert "Read-only for you" in billing
    assert "Edit billing:plan" not in billing
    assert "Edit support:tier" in body

    response = client.post(
        URL + "metadata/edit/", {"key": "billing:plan", "value": "yearly", "confirm": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "You may not change metadata in the namespace &#x27;billing&#x27;." in response.content.decode()
    assert Metadata.objects.get(key="billing:plan").value == "monthly"

    writer = make_client("writer", *ALL, groups=[policies["writers"]])
    assert "Edit billing:plan" in writer.get(URL).content.decode()
    confirm(writer, URL + "metadata/edit/", {"key": "billing:plan", "value": "yearly"})
    assert Metadata.objects.get(key="billing:plan").value == "yearly"


def test_filtering_on_an_unreadable_namespace_is_refused(policies):
    response = make_client("plain").get("/accounts/", {"metadataKey": "secret:pin"})
    assert response.status_code == 200
    assert "You may not read metadata in the namespace" in response.content.decode()
    assert list(response.context["rows"]) == []


def test_tenant_user_cannot_touch_other_tenants_metadata(account):
    MetadataFactory(account=account, key="support:tier", value="gold")
    client = make_client("tenant", *ALL, view_all=False)
    assert client.get(URL).status_code == 404
    assert client.post(URL + "metadata/add/", {"key": "support:x", "value": "y", "confirm": "yes"}).status_code == 404
    assert client.post(URL + "metadata/delete/", {"key": "support:tier", "confirm": "yes"}).status_code == 404
    assert Metadata.objects.count() == 1
    TenantGrant.objects.create(user=get_user_model().objects.get(username="tenant"), tenant_id="t1")
    assert client.get(URL).status_code == 200


def test_metadata_change_is_visible_right_after(account):
    account_services.account_nickname_change(account=account, actor=Actor("x"), nickname="n")
    client = make_client("meta", *ALL)
    response = confirm(client, URL + "metadata/add/", {"key": "ops:owner", "value": "team <blue>"})
    body = response.content.decode()
    assert 'data-testid="namespace-ops"' in body
    assert "team &lt;blue&gt;" in body


@pytest.mark.parametrize("rows", [3, 30])
def test_account_page_budget_with_metadata(policies, account, django_assert_max_num_queries, rows):
    for i in range(rows):
        MetadataFactory(account=account, key=f"billing:k{i}")
        MetadataFactory(account=account, key=f"secret:k{i}")
        MetadataFactory(account=account, key=f"support:k{i}")
    client = make_client("plain", *ALL)
    with django_assert_max_num_queries(22):  # 4 of them record the view (pages.record_view)
        response = client.get(URL)
    assert response.content.decode().count('data-testid="metadata-row"') == 2 * rows + 2
