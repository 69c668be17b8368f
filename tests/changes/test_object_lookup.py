"""Finding one object's changes (`models.of_object`): the same records as a plain key lookup, by an index.

An account's and a metadata entry's changes are left out of the object key index (every write of theirs would
pay for it) and found by the account index instead, which holds because `change_record` requires such a record
to name the account of its key.
"""

import pytest
from django.db import connection, transaction

from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.models import ACCOUNT_KEYED, Change, of_object
from cmsportal.changes.services import change_record
from cmsportal.identity.access import Actor

pytestmark = pytest.mark.django_db

ACTOR = Actor("lookup", "RACKER")


def _key(object_type: str, account: str, n: int) -> str:
    if object_type == ObjectType.ACCOUNT:
        return account
    if object_type == ObjectType.METADATA:
        return f"{account} ns{n}:key"
    return f"{object_type}-{n}"


@pytest.fixture
def records():
    """Two changes of each object of every type, on two accounts; some kinds also without an account; and one
    non-account object whose key looks like an account's (a key alone must not be taken for the account's)."""
    with transaction.atomic():
        for object_type in ObjectType.values:
            for n, account in enumerate(("CLOUD/1", "CLOUD/2")):
                for _ in range(2):
                    change_record(
                        object_type=object_type,
                        object_key=_key(object_type, account, n),
                        action=Action.UPDATE,
                        before={"n": 0},
                        after={"n": 1},
                        actor=ACTOR,
                        account_key=account
                        if object_type in ACCOUNT_KEYED or object_type == ObjectType.CONTACT
                        else None,
                    )
        change_record(object_type=ObjectType.IMPORT, object_key="CLOUD/1", action=Action.IMPORT, actor=ACTOR)


def test_every_object_s_changes_are_those_of_its_key(records):
    keys = set(Change.objects.values_list("object_key", flat=True))
    assert len(keys) == 2 * len(ObjectType.values)  # the import shares its key with an account
    for object_key in keys:
        expected = set(Change.objects.filter(object_key=object_key).values_list("id", flat=True))
        assert set(Change.objects.filter(of_object(object_key)).values_list("id", flat=True)) == expected
        for kind in ObjectType.values:
            typed = set(Change.objects.filter(object_key=object_key, object_type=kind).values_list("id", flat=True))
            assert set(Change.objects.filter(of_object(object_key, kind)).values_list("id", flat=True)) == typed


@pytest.mark.parametrize("object_type", ACCOUNT_KEYED)
def test_an_account_keyed_change_must_name_its_account(object_type):
    with transaction.atomic(), pytest.raises(ValueError, match="names the account of its key"):
        change_record(
            object_type=object_type,
            object_key=_key(object_type, "CLOUD/1", 0),
            account_key="CLOUD/2",
            action=Action.UPDATE,
            actor=ACTOR,
        )
    assert not Change.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
@pytest.mark.parametrize(
    ("object_key", "object_type", "index"),
    [
        ("CLOUD/1", None, "change_account_idx"),
        ("CLOUD/1", None, "change_object_key_idx"),
        ("CLOUD/1", ObjectType.ACCOUNT, "change_account_idx"),
        ("CLOUD/1 ns0:key", ObjectType.METADATA, "change_account_idx"),
        ("contact-0", ObjectType.CONTACT, "change_object_key_idx"),
        ("customer-1", None, "change_object_key_idx"),
    ],
)
def test_a_lookup_is_answered_by_an_index(records, object_key, object_type, index):
    query = Change.objects.filter(of_object(object_key, object_type)).order_by("-txid", "-id")[:50]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
