"""Metadata admin: the namespace policy holds in the admin (inline and standalone), saves go through the services."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from metadata.models import Metadata
from tests.admin_helpers import add_inline_row, changeform_data, changelist_rows, inline_prefix
from tests.factories import AccountFactory, MetadataFactory, NamespaceFactory, UserFactory

CHANGELIST = reverse("admin:metadata_metadata_changelist")


@pytest.fixture
def policies(db):
    readers, writers = Group.objects.create(name="finance"), Group.objects.create(name="finance-admins")
    finance = NamespaceFactory(name="finance", access="WRITE_RESTRICTED")
    finance.readers.add(readers)
    finance.writers.add(writers)
    risk = NamespaceFactory(name="risk", access="READ_RESTRICTED")
    risk.readers.add(readers)
    risk.writers.add(writers)
    NamespaceFactory(name="support", access="OPEN")
    return readers, writers


@pytest.fixture
def account(db):
    account = AccountFactory(account_id="10101")
    for key in ("support:level", "billing:cycle", "finance:limit", "risk:score"):
        MetadataFactory(account=account, key=key, value="v0")
    return account


def staff(username, *groups):
    """Staff with every account/metadata permission and the global view, in `groups`."""
    user = UserFactory(username=username, is_staff=True, view_all=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["accounts", "metadata", "contacts"])
    )
    user.groups.add(*groups)
    return user


def account_url(account):
    return reverse("admin:accounts_account_change", args=[account.pk])


def inline_keys(response):
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is Metadata:
            return sorted(form.instance.key for form in inline.formset.initial_forms)
    raise LookupError


def test_inline_hides_read_restricted_entries_from_non_readers(client, policies, account):
    readers, _ = policies
    client.force_login(staff("plain"))
    assert inline_keys(client.get(account_url(account))) == ["billing:cycle", "finance:limit", "support:level"]
    client.force_login(staff("reader", readers))
    assert inline_keys(client.get(account_url(account))) == [
        "billing:cycle",
        "finance:limit",
        "risk:score",
        "support:level",
    ]


@pytest.mark.parametrize(
    ("who", "key", "allowed"),
    [
        ("plain", "support:new", True),
        ("plain", "billing:new", True),
        ("plain", "finance:new", False),
        ("reader", "finance:new", False),
        ("writer", "finance:new", True),
        ("writer", "risk:new", True),
        ("reader", "risk:new", False),
    ],
)
def test_inline_add_follows_the_policy(client, policies, account, who, key, allowed):
    readers, writers = policies
    user = staff(who, *{"plain": [], "reader": [readers], "writer": [writers]}[who])
    client.force_login(user)
    response = client.get(account_url(account))
    data = changeform_data(response)
    add_inline_row(data, inline_prefix(response, Metadata), key=key, value="gold")
    response = client.post(account_url(account), data)
    entry = Metadata.objects.filter(account=account, key=key).first()
    if allowed:
        assert response.status_code == 302
        assert (entry.value, entry.created_by, entry.last_updated_by) == ("gold", who, who)
        assert (entry.account_type, entry.account_ident) == ("CLOUD", "10101")  # the account's list key
    else:
        assert response.status_code == 200
        assert "may not change metadata" in response.content.decode()
        assert entry is None


def test_inline_change_and_delete_of_a_write_restricted_entry(client, policies, account):
    readers, writers = policies
    client.force_login(staff("reader", readers))
    response = client.get(account_url(account))
    prefix = inline_prefix(response, Metadata)
    forms = {form.instance.key: i for i, form in enumerate(response.context["inline_admin_formsets"][1].formset.forms)}
    data = changeform_data(response)
    data[f"{prefix}-{forms['finance:limit']}-value"] = "changed"
    assert client.post(account_url(account), data).status_code == 200
    data = changeform_data(response)
    data[f"{prefix}-{forms['finance:limit']}-DELETE"] = "on"
    response = client.post(account_url(account), data)
    assert response.status_code == 200
    assert Metadata.objects.get(account=account, key="finance:limit").value == "v0"

    client.force_login(staff("writer", writers))
    response = client.get(account_url(account))
    data = changeform_data(response)
    data[f"{prefix}-{forms['finance:limit']}-value"] = "changed"
    data[f"{prefix}-{forms['support:level']}-DELETE"] = "on"
    assert client.post(account_url(account), data).status_code == 302
    entry = Metadata.objects.get(account=account, key="finance:limit")
    assert (entry.value, entry.last_updated_by, entry.created_by) == ("changed", "writer", "factory")
    assert not Metadata.objects.filter(account=account, key="support:level").exists()
    assert Metadata.objects.filter(account=account).count() == 3  # the unshown ones are untouched


def test_standalone_changelist_and_filters(client, policies, account):
    readers, _ = policies
    client.force_login(staff("plain"))
    rows = changelist_rows(client.get(CHANGELIST))
    assert sorted(row.key for row in rows) == ["billing:cycle", "finance:limit", "support:level"]
    by_access = {
        access: sorted(row.key for row in changelist_rows(client.get(CHANGELIST, {"access": access})))
        for access in ("OPEN", "WRITE_RESTRICTED", "READ_RESTRICTED")
    }
    assert by_access == {
        "OPEN": ["billing:cycle", "support:level"],
        "WRITE_RESTRICTED": ["finance:limit"],
        "READ_RESTRICTED": [],
    }
    client.force_login(staff("reader", readers))
    rows = changelist_rows(client.get(CHANGELIST, {"access": "READ_RESTRICTED"}))
    assert [row.key for row in rows] == ["risk:score"]
    assert [r.key for r in changelist_rows(client.get(CHANGELIST, {"q": "risk"}))] == ["risk:score"]


def test_standalone_change_is_read_only_without_write_permission(client, policies, account):
    readers, writers = policies
    entry = Metadata.objects.get(account=account, key="finance:limit")
    url = reverse("admin:metadata_metadata_change", args=[entry.pk])
    client.force_login(staff("reader", readers))
    response = client.get(url)
    assert response.status_code == 200 and not response.context["has_change_permission"]
    assert client.post(url, {"value": "x"}).status_code == 403
    assert client.post(reverse("admin:metadata_metadata_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.value == "v0"
    hidden = Metadata.objects.get(account=account, key="risk:score")
    client.force_login(staff("plain"))
    assert client.get(reverse("admin:metadata_metadata_change", args=[hidden.pk])).status_code == 302  # not found

    client.force_login(staff("writer", writers))
    assert client.post(url, {"value": "99"}).status_code == 302
    entry.refresh_from_db()
    assert (entry.value, entry.last_updated_by) == ("99", "writer")


def test_standalone_add_checks_the_policy(client, policies, account):
    client.force_login(staff("plain"))
    url = reverse("admin:metadata_metadata_add")
    response = client.post(url, {"account": account.pk, "key": "finance:new", "value": "1"})
    assert response.status_code == 200 and "key" in response.context["adminform"].form.errors
    response = client.post(url, {"account": account.pk, "key": "support:new", "value": "1"})
    assert response.status_code == 302
    entry = Metadata.objects.get(key="support:new")
    assert (entry.created_by, entry.namespace) == ("plain", "support")
    assert (entry.account_type, entry.account_ident) == ("CLOUD", "10101")


def test_delete_action_goes_through_metadata_delete(client, policies, account):
    client.force_login(staff("plain"))
    open_entries = Metadata.objects.filter(key__in=["support:level", "billing:cycle"])
    response = client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [e.pk for e in open_entries], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(Metadata.objects.values_list("key", flat=True)) == ["finance:limit", "risk:score"]


def test_namespace_admin(client, policies):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:metadata_namespace_changelist")
    response = client.get(url, {"access__exact": "READ_RESTRICTED"})
    assert [ns.name for ns in changelist_rows(response)] == ["risk"]
    assert b"finance-admins" in response.content
    assert [ns.name for ns in changelist_rows(client.get(url, {"q": "finance-admins"}))] == ["finance", "risk"]


def test_bulk_delete_of_an_entry_the_user_may_not_write_deletes_nothing(client, policies, account):
    readers, _ = policies
    client.force_login(staff("reader", readers))
    selected = Metadata.objects.filter(key__in=["support:level", "finance:limit"])
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [e.pk for e in selected], "post": "yes"}
    )
    assert response.status_code == 403  # the admin checks delete permission per entry: a refusal, not a 500
    assert Metadata.objects.filter(account=account).count() == 4  # all or nothing
