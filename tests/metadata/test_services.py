"""Metadata services: the namespace policy matrix, and created vs replaced entries."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from cmsportal.identity.access import Actor
from metadata import services
from metadata.models import Metadata
from tests.factories import AccountFactory, MetadataFactory, NamespaceFactory, UserFactory

ACTOR = Actor("svc", "SYSTEM")


@pytest.fixture
def account(db):
    return AccountFactory()


@pytest.fixture
def policies(db):
    """finance: write-restricted; secret: read-restricted; support: open (explicit); misc: no policy."""
    readers, writers = Group.objects.create(name="finance"), Group.objects.create(name="finance-admins")
    finance = NamespaceFactory(name="finance", access="WRITE_RESTRICTED")
    finance.readers.add(readers)
    finance.writers.add(writers)
    secret = NamespaceFactory(name="secret", access="READ_RESTRICTED")
    secret.readers.add(readers)
    secret.writers.add(writers)
    NamespaceFactory(name="support", access="OPEN")
    return readers, writers


def make_user(kind, groups):
    readers, writers = groups
    if kind == "system":
        return None
    if kind == "superuser":
        return UserFactory(username="root", is_superuser=True)
    user = UserFactory(username=kind)
    if kind == "reader":
        user.groups.add(readers)
    elif kind == "writer":
        user.groups.add(writers)
    return user


# (namespace, user kind) -> (may read, may write)
MATRIX = {
    ("misc", "nobody"): (True, True),
    ("support", "nobody"): (True, True),
    ("finance", "nobody"): (True, False),
    ("finance", "reader"): (True, False),
    ("finance", "writer"): (True, True),
    ("secret", "nobody"): (False, False),
    ("secret", "reader"): (True, False),
    ("secret", "writer"): (True, True),
}
for _namespace in ("misc", "support", "finance", "secret"):
    for _kind in ("superuser", "system"):
        MATRIX[(_namespace, _kind)] = (True, True)
    MATRIX.setdefault((_namespace, "reader"), (True, True))
    MATRIX.setdefault((_namespace, "writer"), (True, True))


@pytest.mark.parametrize(("namespace", "kind"), sorted(MATRIX))
def test_policy_matrix(account, policies, namespace, kind):
    may_read, may_write = MATRIX[(namespace, kind)]
    user = make_user(kind, policies)
    key = f"{namespace}:level"

    assert services.can_read_namespace(user, namespace) is may_read
    assert services.can_write_namespace(user, namespace) is may_write
    assert (namespace in services.unreadable_namespaces(user)) is (not may_read)

    if may_write:
        entry, created = services.metadata_set(account=account, key=key, value="gold", actor=ACTOR, user=user)
        assert created and Metadata.objects.get(account=account, key=key).value == "gold"
        services.metadata_delete(account=account, key=key, actor=ACTOR, user=user)
        assert not Metadata.objects.filter(account=account, key=key).exists()
    else:
        existing = MetadataFactory(account=account, key=key, value="gold")
        with pytest.raises(PermissionDenied):
            services.metadata_set(account=account, key=key, value="tin", actor=ACTOR, user=user)
        with pytest.raises(PermissionDenied):
            services.metadata_set(account=account, key=f"{namespace}:new", value="tin", actor=ACTOR, user=user)
        with pytest.raises(PermissionDenied):
            services.metadata_delete(account=account, key=key, actor=ACTOR, user=user)
        existing.refresh_from_db()
        assert existing.value == "gold"
        assert Metadata.objects.filter(account=account).count() == 1

    MetadataFactory(account=account, key=f"{namespace}:shown")
    readable = set(services.readable_metadata(account, user).values_list("key", flat=True))
    assert (f"{namespace}:shown" in readable) is may_read


def test_anonymous_user_follows_the_policy(account, policies):
    from django.contrib.auth.models import AnonymousUser

    anonymous = AnonymousUser()
    assert services.can_read_namespace(anonymous, "finance") and not services.can_write_namespace(anonymous, "finance")
    assert not services.can_read_namespace(anonymous, "secret")
    assert services.unreadable_namespaces(anonymous) == ["secret"]
    with pytest.raises(PermissionDenied):
        services.metadata_set(account=account, key="finance:x", value="1", actor=ACTOR, user=anonymous)


def test_group_of_another_namespace_grants_nothing(account, policies):
    other = Group.objects.create(name="other")
    user = UserFactory(username="outsider")
    user.groups.add(other)
    with pytest.raises(PermissionDenied):
        services.metadata_set(account=account, key="secret:x", value="1", actor=ACTOR, user=user)
    assert "secret" in services.unreadable_namespaces(user)


def test_restricted_namespace_without_groups_is_closed_to_everyone_but_superusers(account):
    NamespaceFactory(name="locked", access="READ_RESTRICTED")
    user = UserFactory(username="plain")
    assert not services.can_read_namespace(user, "locked")
    with pytest.raises(PermissionDenied):
        services.metadata_set(account=account, key="locked:x", value="1", actor=ACTOR, user=user)
    services.metadata_set(account=account, key="locked:x", value="1", actor=ACTOR, user=None)
    assert Metadata.objects.get(key="locked:x").value == "1"


def test_set_creates_then_replaces_keeping_creation(account, monkeypatch):
    first = Actor("alice", "RACKER")
    second = Actor("bob", "CUSTOMER")
    entry, created = services.metadata_set(account=account, key="support:level", value="navigator", actor=first)
    assert created
    entry.refresh_from_db()
    assert (entry.created_by, entry.last_updated_by) == ("alice", "alice")
    assert entry.created_date == entry.last_updated_date is not None
    assert entry.namespace == "support"
    created_date = entry.created_date

    later = created_date + timedelta(hours=1)
    monkeypatch.setattr(services.dates, "now", lambda: later)
    entry, created = services.metadata_set(account=account, key="support:level", value="aviator", actor=second)
    assert not created
    entry.refresh_from_db()
    assert (entry.value, entry.created_by, entry.created_date) == ("aviator", "alice", created_date)
    assert (entry.last_updated_by, entry.last_updated_date) == ("bob", later)
    assert Metadata.objects.filter(account=account).count() == 1


def test_same_key_on_two_accounts_is_two_entries(account):
    other = AccountFactory()
    services.metadata_set(account=account, key="support:level", value="a", actor=ACTOR)
    _, created = services.metadata_set(account=other, key="support:level", value="b", actor=ACTOR)
    assert created
    assert sorted(Metadata.objects.values_list("value", flat=True)) == ["a", "b"]


@pytest.mark.parametrize("key", ["nocolon", ":name", "ns:", "ns:with space", "n s:x", "ns:tab\tx", "ns:" + "x" * 300])
def test_bad_keys_are_rejected(account, key):
    with pytest.raises(ValidationError):
        services.metadata_set(account=account, key=key, value="v", actor=ACTOR)
    with pytest.raises(ValidationError):
        services.metadata_delete(account=account, key=key, actor=ACTOR)
    assert not Metadata.objects.exists()


def test_value_must_be_text(account):
    with pytest.raises(ValidationError):
        services.metadata_set(account=account, key="support:level", value=3, actor=ACTOR)
    assert not Metadata.objects.exists()


def test_delete_absent_entry_is_does_not_exist(account):
    with pytest.raises(Metadata.DoesNotExist):
        services.metadata_delete(account=account, key="support:level", actor=ACTOR)


def test_keys_namespace_is_text_before_first_colon(account):
    services.metadata_set(account=account, key="creation:faws:servicelevelid", value="x", actor=ACTOR)
    assert Metadata.objects.get().namespace == "creation"


def test_unreadable_namespaces_is_one_query(policies, django_assert_num_queries):
    readers, _ = policies
    reader, nobody = UserFactory(username="reader"), UserFactory(username="nobody")
    reader.groups.add(readers)
    with django_assert_num_queries(1):
        assert services.unreadable_namespaces(reader) == []
    with django_assert_num_queries(1):
        assert services.unreadable_namespaces(nobody) == ["secret"]


def test_namespace_save_sets_the_policy_and_its_groups_and_refuses_a_taken_name(db):
    from metadata.models import Namespace

    readers, writers = Group.objects.create(name="r"), Group.objects.create(name="w")
    created = services.namespace_save(
        namespace=Namespace(name="billing", access="WRITE_RESTRICTED"), readers=[readers], writers=[writers]
    )
    assert (list(created.readers.all()), list(created.writers.all())) == ([readers], [writers])
    created.access = "READ_RESTRICTED"
    services.namespace_save(namespace=created)  # groups not given: kept
    stored = Namespace.objects.get(pk=created.pk)
    assert stored.access == "READ_RESTRICTED" and list(stored.writers.all()) == [writers]
    with pytest.raises(ValidationError):
        services.namespace_save(namespace=Namespace(name="billing"))
    services.namespace_delete(namespace=created)
    assert not Namespace.objects.filter(name="billing").exists()
