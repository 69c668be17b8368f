"""Every write the admin makes goes through a service, enumerated over the admin site itself.

For every ModelAdmin registered on `admin.site`: add, change and delete, every bulk action it offers, and
adding, changing and deleting a row of every inline, run as a superuser through the admin's pages. A guard watches
every INSERT, UPDATE and DELETE the database is sent: each must run inside a function of one of the services
modules (tests/write_guard.py), and the operation must write something. The admin's own records (its change
log, the session) are the only exception. What an admin does not offer (read-only trails, tokens that are
revoked rather than changed) must be refused, and write nothing.

A newly registered admin, action or inline has no case below and fails until it is given one, and a save
that writes past the services fails the guard.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse

import accounts.services
from cmsportal.changes import outbox
from cmsportal.changes.services import change_record
from cmsportal.identity import services as identity
from tests.admin_helpers import add_inline_row, changeform_data, inline_prefix
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AddressFactory,
    ContactFactory,
    CustomerFactory,
    EmailAddressFactory,
    MetadataFactory,
    NamespaceFactory,
    PhoneNumberFactory,
    TenantGrantFactory,
    UserFactory,
)
from tests.write_guard import guarded

PASSWORD = "tiger lily ninety nine"  # noqa: S105 (a test user's password)


@pytest.fixture
def guard():
    with guarded() as watch:
        yield watch


# --- the world every case works on ----------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    home = CustomerFactory(rcn="RCN-100-000-001")
    account = AccountFactory(customer=home, account_id="100001", tenant_id="t-home")
    spare = AccountFactory(customer=home, account_id="100002", tenant_id="t-home")
    contact = ContactFactory(customer=home, contact_number="RPN-100-000-001")
    AccountContactFactory(account=account, contact=contact, roles=["TECHNICAL"])
    AddressFactory(contact=contact)
    EmailAddressFactory(contact=contact)
    PhoneNumberFactory(contact=contact)
    user = UserFactory(username="someone")
    key, _ = identity.apikey_issue(user, "ci")
    token, _ = identity.token_issue(user, ["PASSWORD"])
    from django.contrib.auth.models import Group

    subscription, _ = outbox.subscription_create(name="hooks", url="https://hooks.example.com/cms")
    with transaction.atomic():
        change_record(
            object_type="account",
            object_key="CLOUD/100001",
            account_key="CLOUD/100001",
            action="update",
            actor=identity_actor(),
        )
    return {
        "subscription": subscription,
        "delivery": subscription.deliveries.get(),
        "root": root,
        "home": home,
        "other": CustomerFactory(rcn="RCN-200-000-002"),
        "empty": CustomerFactory(rcn="RCN-300-000-003"),
        "account": account,
        "spare": spare,
        "contact": contact,
        "colleague": ContactFactory(customer=home, contact_number="RPN-100-000-002"),
        "entry": MetadataFactory(account=account, key="support:level", value="gold"),
        "namespace": NamespaceFactory(name="billing", access="OPEN"),
        "user": user,
        "group": Group.objects.create(name="auditors"),
        "grant": TenantGrantFactory(user=user, tenant_id="t-home"),
        "key": key,
        "token": token,
    }


@dataclass
class Case:
    """How to exercise one admin: the object its change, delete and actions work on, what an add sets, what a
    change sets, what each action asks, and a new row for each inline that may add."""

    obj: str  # the world's key
    add: dict = field(default_factory=dict)  # values of the add form (world keys as "@name" for their pk)
    change: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)  # action name: the intermediate form's values
    inline_rows: dict = field(default_factory=dict)  # inline class name: a new row's values
    inline_changes: dict = field(default_factory=dict)  # inline class name: new values of its first row


CASES = {
    "auth.group": Case("group", add={"name": "reviewers"}, change={"name": "reviewers of record"}),
    "auth.user": Case(
        "user",
        add={"username": "newcomer", "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD},
        change={"first_name": "Renamed"},
    ),
    "identity.apikey": Case(
        "key", add={"user": "@root", "name": "deploys"}, change={"name": "renamed"}, actions={"revoke_keys": {}}
    ),
    "identity.token": Case("token", actions={"revoke_tokens": {}}),
    "identity.tenantgrant": Case("grant", add={"user": "@user", "tenant_id": "t-new"}, change={"tenant_id": "t-x"}),
    "contacts.contact": Case(
        "contact",
        add={"contact_number": "RPN-900-000-009", "customer": "@home", "first_name": "Ada"},
        change={"first_name": "Renamed"},
        inline_rows={
            "AddressInline": {"street": "1 Main St", "city": "San Antonio", "country": "US"},
            "EmailAddressInline": {"address": "added@example.com"},
            "PhoneNumberInline": {"number": "+1 210 555 0199", "country": "US"},
            "ContactLinkInline": {"account": "@spare", "roles": ["BILLING"]},
        },
        inline_changes={
            "AddressInline": {"city": "Austin"},
            "EmailAddressInline": {"address": "changed@example.com"},
            "PhoneNumberInline": {"number": "+1 210 555 0111"},
            "ContactLinkInline": {"roles": ["BILLING", "TECHNICAL"]},
        },
    ),
    "metadata.metadata": Case(
        "entry", add={"account": "@account", "key": "support:new", "value": "v"}, change={"value": "w"}
    ),
    "metadata.namespace": Case(
        "namespace", add={"name": "ops", "access": "OPEN"}, change={"access": "WRITE_RESTRICTED"}
    ),
    "accounts.account": Case(
        "account",
        add={"customer": "@home", "type": "CLOUD", "account_id": "900009"},
        change={"name": "Renamed"},
        actions={
            "change_status": {"status": "Suspended"},
            "change_collections_status": {"collections_status": "DELINQUENT_LEVEL_1"},
            "move_to_customer": {"rcn": "RCN-200-000-002"},
        },
        inline_rows={
            "AccountLinkInline": {"contact": "@colleague", "roles": ["BILLING"]},
            "MetadataInline": {"key": "support:added", "value": "v"},
        },
        inline_changes={"AccountLinkInline": {"roles": ["PRIMARY"]}, "MetadataInline": {"value": "platinum"}},
    ),
    "accounts.customer": Case(
        "empty",
        add={"rcn": "RCN-900-000-009", "name": "New"},
        change={"name": "Renamed"},
        actions={"merge_into_customer": {"rcn": "RCN-200-000-002"}},
    ),
    "changes.subscription": Case(
        "subscription",
        add={"name": "billing", "url": "https://billing.example.com/hooks", "object_types": ["account"]},
        change={"url": "https://billing.example.com/v2/hooks", "actions": ["update", "delete"]},
    ),
    "changes.delivery": Case("delivery", actions={"resend_deliveries": {}}),
    "accounts.statuschange": Case("account"),
    "accounts.accounthistory": Case("account"),
    "accounts.rcnchange": Case("account"),
}
# The trails' admins work on rows of their own: made per test (below), as the account's history.
TRAILS = {"accounts.statuschange", "accounts.accounthistory", "accounts.rcnchange"}


def _registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)


def _operations():
    """(model label, operation) for every admin: add, change, delete, each action, each inline's add and delete."""
    for model, model_admin in _registered():
        label = model._meta.label_lower
        for operation in ("add", "change", "delete"):
            yield label, operation
        names = {name for name, _ in admin.site.actions} | {
            action if isinstance(action, str) else action.__name__ for action in model_admin.actions or ()
        }
        for name in sorted(names):
            yield label, f"action:{name}"
        for inline in model_admin.inlines:
            yield label, f"inline:{inline.__name__}:add"
            yield label, f"inline:{inline.__name__}:change"
            yield label, f"inline:{inline.__name__}:delete"


def _resolve(values: dict, world) -> dict:
    return {
        name: str(world[value[1:]].pk) if isinstance(value, str) and value.startswith("@") else value
        for name, value in values.items()
    }


def _request(world):
    request = RequestFactory().get("/admin/")
    request.user = world["root"]
    return request


def _target(label, world):
    if label in TRAILS:
        from django.apps import apps

        account = accounts.services.account_create(
            actor=identity_actor(), customer=world["home"], type="CLOUD", account_id="700007"
        )
        return apps.get_model(label).objects.get(account=account)
    return world[CASES[label].obj]


def identity_actor():
    from cmsportal.identity.access import Actor

    return Actor.system()


def _url(model, name, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def _form_errors(response) -> str:
    context = response.context or {}
    errors = []
    if "adminform" in context:
        errors.append(context["adminform"].form.errors)
    for inline in context.get("inline_admin_formsets", ()):
        errors.extend([inline.formset.errors, inline.formset.non_form_errors()])
    if "form" in context:
        errors.append(context["form"].errors)
    messages = [str(message) for message in getattr(response.wsgi_request, "_messages", ())]
    return f"status {response.status_code}, errors {errors}, messages {messages}"


def _post_action(client, model, obj, name, values):
    data = {"action": name, ACTION_CHECKBOX_NAME: [str(obj.pk)], "index": "0", "post": "yes", "apply": "1", **values}
    response = client.post(_url(model, "changelist"), data)
    form = (response.context or {}).get("form") if response.status_code == 200 else None
    if form is not None and form.data.get("shown"):
        # An action that lists what it will take off asks to submit again to confirm: confirm.
        response = client.post(_url(model, "changelist"), {**data, "shown": form.data["shown"]})
    return response


@pytest.mark.parametrize(("label", "operation"), list(_operations()))
def test_every_admin_write_goes_through_a_service(client, world, guard, label, operation):
    model = next(model for model in admin.site._registry if model._meta.label_lower == label)
    model_admin = admin.site._registry[model]
    case = CASES.get(label)
    assert case is not None, f"{label} is registered on the admin without a case here: give it one (and services)"
    request = _request(world)
    obj = _target(label, world)
    client.force_login(world["root"])
    guard.clear()  # the world's and the sign-in's own writes (last_login): setting up, not the admin
    kind, _, rest = operation.partition(":")

    if kind == "add":
        allowed = model_admin.has_add_permission(request)
        if not allowed:
            response = client.post(_url(model, "add"), {})
            assert response.status_code == 403
        else:
            assert case.add, f"{label} may add: give its case the values of an add"
            data = changeform_data(client.get(_url(model, "add")))
            response = client.post(_url(model, "add"), {**data, **_resolve(case.add, world)})
    elif kind == "change":
        allowed = model_admin.has_change_permission(request, obj)
        if not allowed:
            response = client.post(_url(model, "change", obj.pk), {})
            assert response.status_code == 403
        else:
            assert case.change, f"{label} may change: give its case the values of a change"
            data = changeform_data(client.get(_url(model, "change", obj.pk)))
            response = client.post(_url(model, "change", obj.pk), {**data, **_resolve(case.change, world)})
    elif kind == "delete":
        allowed = model_admin.has_delete_permission(request, obj)
        response = client.post(_url(model, "delete", obj.pk), {"post": "yes"})
        if not allowed:
            assert response.status_code == 403
        else:
            assert not model._default_manager.filter(pk=obj.pk).exists(), _form_errors(response)
    elif kind == "action":
        offered = model_admin.get_actions(request)
        allowed = rest in offered
        if allowed:
            assert rest == "delete_selected" or rest in case.actions, f"{label}: give its case the action {rest}"
            response = _post_action(client, model, obj, rest, _resolve(case.actions.get(rest, {}), world))
            assert response.status_code == 302, _form_errors(response)
    else:  # an inline's add, change or delete
        name, _, what = rest.partition(":")
        inline = next(
            inline for inline in model_admin.get_inline_instances(request, obj) if type(inline).__name__ == name
        )
        if what == "add":
            allowed = inline.has_add_permission(request, obj)
        elif what == "change":
            allowed = inline.has_change_permission(request, obj)
        else:
            allowed = inline.can_delete and inline.has_delete_permission(request, obj)
        if allowed:
            page = client.get(_url(model, "change", obj.pk))
            data = changeform_data(page)
            prefix = inline_prefix(page, inline.model)
            if what == "add":
                assert name in case.inline_rows, f"{label}: give its case a new row of {name}"
                add_inline_row(data, prefix, **_resolve(case.inline_rows[name], world))
            elif what == "change":
                assert name in case.inline_changes, f"{label}: give its case a change of a row of {name}"
                assert int(data[f"{prefix}-INITIAL_FORMS"]) > 0, f"{label}: the world needs a row of {name}"
                data.update({f"{prefix}-0-{k}": v for k, v in _resolve(case.inline_changes[name], world).items()})
            else:
                assert int(data[f"{prefix}-INITIAL_FORMS"]) > 0, f"{label}: the world needs a row of {name}"
                data[f"{prefix}-0-DELETE"] = "on"
            response = client.post(_url(model, "change", obj.pk), data)
            assert response.status_code == 302, _form_errors(response)

    assert not guard.strays, f"{label} {operation} wrote past the services: {guard.strays}"
    if allowed:
        assert guard.writers, f"{label} {operation} wrote nothing: {_form_errors(response)}"
    else:
        assert not guard.writers, f"{label} {operation} is not offered, yet {guard.writers} wrote"


def test_the_guard_sees_a_write_past_the_services(world, guard):
    """The guard above can fail: a direct save is a stray, a service's save is not."""
    world["home"].save()
    assert guard.strays and not guard.writers
    guard.strays.clear()
    accounts.services.customer_rename(customer=world["home"], name="Renamed")
    assert not guard.strays and guard.writers == {"accounts.services.customer_rename"}


DJANGO_WRITES = ("save_model", "delete_model", "delete_queryset", "save_related", "save_formset")


@pytest.mark.parametrize(
    ("model", "model_admin"), _registered(), ids=[model._meta.label_lower for model, _ in _registered()]
)
def test_every_writable_admin_overrides_django_s_direct_writes(model, model_admin, world):
    """Django's own save_model, delete_model, delete_queryset, save_related and save_formset write the ORM
    directly: an admin that may add, change or delete has ours (cmsportal.admin.ServiceAdmin's or its own)."""
    request = _request(world)
    writable = (
        model_admin.has_add_permission(request)
        or model_admin.has_change_permission(request)
        or model_admin.has_delete_permission(request)
    )
    inherited = [name for name in DJANGO_WRITES if getattr(type(model_admin), name).__module__.startswith("django.")]
    assert not (writable and inherited), f"{type(model_admin).__name__} writes with Django's {inherited}"


@pytest.mark.parametrize("label", [model._meta.label_lower for model, _ in _registered()])
def test_bulk_delete_deletes_only_rows_the_user_may_see(world, label):
    """delete_queryset, handed every row, deletes (through delete_model) only those the user's view holds."""
    from django.contrib.auth.models import Permission

    from cmsportal.admin import ServiceRefused

    hidden = AccountFactory(customer=world["other"], account_id="200001", tenant_id="t-hidden")
    MetadataFactory(account=hidden, key="support:hidden")
    AccountContactFactory(account=hidden, contact=ContactFactory(customer=world["other"]))
    clerk = UserFactory(username="clerk", is_staff=True)
    TenantGrantFactory(user=clerk, tenant_id="t-home")
    clerk.user_permissions.set(Permission.objects.exclude(codename="view_all_accounts"))
    identity.token_issue(clerk, ["PASSWORD"])
    identity.apikey_issue(clerk, "mine")
    model = next(model for model in admin.site._registry if model._meta.label_lower == label)
    model_admin = admin.site._registry[model]
    request = RequestFactory().post("/admin/")
    request.user = clerk
    if not model_admin.has_delete_permission(request):
        # Nothing to scope: the admin offers this user no delete.
        assert "delete_selected" not in model_admin.get_actions(request)
        return
    everything = set(model._default_manager.values_list("pk", flat=True))
    visible = set(model_admin.get_queryset(request).values_list("pk", flat=True))
    refused = False
    try:
        model_admin.delete_queryset(request, model._default_manager.all())
    except ServiceRefused:
        refused = True
    remaining = set(model._default_manager.values_list("pk", flat=True))
    assert everything - visible <= remaining, f"{label}: rows out of the user's view were deleted"
    assert refused or not (visible & remaining), f"{label}: rows in view were not deleted"
