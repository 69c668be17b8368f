"""Every service admin's History page lists the object's change records: newest first, who, when, what,
and the before/after table; scoped and redacted like every read of the change log."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

import accounts.services
import contacts.services
import metadata.services
from cmsportal.admin import CHANGE_KEYS, ServiceAdmin, object_changes
from cmsportal.changes.access import REDACTED
from cmsportal.changes.context import change_context
from cmsportal.changes.models import Change
from cmsportal.identity import services as identity
from cmsportal.identity.access import Actor
from cmsportal.identity.models import TenantGrant
from metadata.models import Namespace
from tests.factories import AccountFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor("historian", "RACKER")


def _customer():
    customer = accounts.services.customer_create(rcn="RCN-700-000-001", name="First", actor=ACTOR)
    return accounts.services.customer_rename(customer=customer, name="Second", actor=ACTOR)


def _account():
    account = accounts.services.account_create(
        actor=ACTOR, customer=CustomerFactory(), type="CLOUD", account_id="700001", name="First"
    )
    return accounts.services.account_update(account=account, actor=ACTOR, name="Second")


def _contact():
    contact = contacts.services.contact_create(
        actor=ACTOR, contact_number="RPN-700-000-001", customer=CustomerFactory(), first_name="First"
    )
    return contacts.services.contact_update(contact=contact, actor=ACTOR, first_name="Second")


def _metadata():
    account = AccountFactory(account_id="700002")
    metadata.services.metadata_set(account=account, key="support:level", value="First", actor=ACTOR)
    return metadata.services.metadata_set(account=account, key="support:level", value="Second", actor=ACTOR)[0]


def _namespace():
    namespace = metadata.services.namespace_save(namespace=Namespace(name="First", access="OPEN"), actor=ACTOR)
    namespace.access = "WRITE_RESTRICTED"
    return metadata.services.namespace_save(namespace=namespace, actor=ACTOR)


def _grant():
    # A grant's key is its user and tenant: a changed tenant is a new key, so its page shows the records since.
    grant = identity.tenant_grant_save(grant=TenantGrant(user=UserFactory(), tenant_id="First"), actor=ACTOR)
    grant.tenant_id = "Second"
    grant = identity.tenant_grant_save(grant=grant, actor=ACTOR)
    identity.tenant_grant_delete(grant=identity.tenant_grant_ensure(user=grant.user, tenant_id="Third"))
    return identity.tenant_grant_ensure(user=grant.user, tenant_id="Third")


def _token():
    token, _ = identity.token_issue(UserFactory(), ["PASSWORD"], actor=ACTOR)
    return identity.token_revoke(token, actor=ACTOR)


def _apikey():
    key, _ = identity.apikey_issue(UserFactory(), "First", actor=ACTOR)
    return identity.apikey_rename(key=key, name="Second", actor=ACTOR)


def _user():
    user = identity.user_save(user=get_user_model()(username="someone", first_name="First"), actor=ACTOR)
    user.first_name = "Second"
    return identity.user_save(user=user, actor=ACTOR)


def _group():
    from django.contrib.auth.models import Permission

    group = identity.group_save(group=Group(name="First"), actor=ACTOR)
    return identity.group_save(group=group, permissions=Permission.objects.filter(codename="view_all_accounts"))


# Per model: make an object through its services with two records (e.g. a creation, then a change).
MAKERS = {
    "accounts.Customer": _customer,
    "accounts.Account": _account,
    "contacts.Contact": _contact,
    "metadata.Metadata": _metadata,
    "metadata.Namespace": _namespace,
    "identity.TenantGrant": _grant,
    "identity.Token": _token,
    "identity.ApiKey": _apikey,
    "auth.User": _user,
    "auth.Group": _group,
}

# The webhook subscriptions and their deliveries configure the change log; they are not recorded in it,
# and their History pages are Django's own (checked below).
NOT_RECORDED = {"changes.Subscription", "changes.Delivery"}
SERVICE_ADMINS = sorted(
    model._meta.label
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, ServiceAdmin) and model._meta.label not in NOT_RECORDED
)


def test_every_service_admin_has_a_history_case():
    assert SERVICE_ADMINS and set(SERVICE_ADMINS) == set(MAKERS) == set(CHANGE_KEYS)


def history_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_history", args=[obj.pk])


@pytest.mark.parametrize("label", SERVICE_ADMINS)
def test_history_lists_the_objects_records_newest_first(client, label):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    with change_context(actor=ACTOR):
        obj = MAKERS[label]()
    client.force_login(root)
    response = client.get(history_url(obj))
    assert response.status_code == 200
    object_type, key_of = CHANGE_KEYS[label]
    expected = list(Change.objects.filter(object_type=object_type, object_key=key_of(obj)).order_by("-id"))
    assert len(expected) >= 2
    assert [c.pk for c in response.context["changes"]] == [c.pk for c in expected]
    body = response.content.decode()
    assert body.count('class="change-record"') == len(expected)
    assert "historian" in body and "doesn’t have a change history" not in body
    assert '<table class="change-diff">' in body
    newest, oldest = expected[0], expected[-1]
    assert body.index(newest.get_action_display()) <= body.index(oldest.get_action_display())


def test_history_without_records_is_djangos_page(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    customer = CustomerFactory()  # made without a service: no records
    client.force_login(root)
    response = client.get(history_url(customer))
    assert response.status_code == 200
    assert "doesn’t have a change history" in response.content.decode()


def test_history_redacts_values_the_viewer_may_not_read(client):
    from django.contrib.auth.models import Permission

    finance = Group.objects.create(name="finance")
    metadata.services.namespace_save(
        namespace=Namespace(name="finance", access="READ_RESTRICTED"), readers=[finance], actor=ACTOR
    )
    account = AccountFactory(account_id="700003")
    entry, _ = metadata.services.metadata_set(account=account, key="finance:limit", value="12345", actor=ACTOR)
    staff = UserFactory(username="plain-staff", is_staff=True, view_all=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_metadata", "change_metadata"]))
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert "12345" in client.get(history_url(entry)).content.decode()
    client.force_login(staff)
    # The metadata admin hides the entry itself from someone who may not read its namespace ...
    assert client.get(history_url(entry)).status_code == 302
    # ... and the records the page would show have their values redacted for them.
    (change,) = object_changes(staff, entry)
    assert [after for key, _, after in change.diff if key == "value"] == [REDACTED]
    assert [after for key, _, after in change.diff if key == "key"] == ["finance:limit"]
    (change,) = object_changes(root, entry)
    assert [after for key, _, after in change.diff if key == "value"] == ["12345"]


@pytest.mark.django_db
def test_the_webhook_admins_history_pages_are_djangos_own(admin_client):
    from cmsportal.changes import outbox

    subscription, _secret = outbox.subscription_create(name="hook", url="https://example.com/hook", secret="s" * 32)
    response = admin_client.get(reverse("admin:changes_subscription_history", args=[subscription.pk]))
    assert response.status_code == 200
    assert "Change history" in response.content.decode()
