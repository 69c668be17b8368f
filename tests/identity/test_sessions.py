"""The session store (cmsportal/identity/sessions.py): Django's database sessions, read by a precompiled query."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cmsportal.identity.sessions import SessionStore
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _saved(**data) -> str:
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_it_is_the_configured_engine():
    assert settings.SESSION_ENGINE == "cmsportal.identity.sessions"


def test_a_saved_session_reads_back_in_one_query_each_by_its_own_key():
    first, second = _saved(who="first"), _saved(who="second")
    for key, who in ((first, "first"), (second, "second"), (first, "first")):
        store = SessionStore(key)
        with CaptureQueriesContext(connection) as queries:
            assert store["who"] == who
        assert len(queries) == 1
        assert store.session_key == key


@pytest.mark.parametrize("key", ["unknown-key-000000000000", "short", "", None])
def test_an_unknown_or_malformed_key_is_an_empty_session_with_no_key(key):
    _saved(who="someone")
    store = SessionStore(key)
    assert dict(store.items()) == {}
    assert store.session_key is None


def test_an_expired_session_is_not_read_and_its_key_is_dropped():
    key = _saved(who="expired")
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert dict(store.items()) == {}
    assert store.session_key is None
    # A session that expires in a moment still reads.
    later = _saved(who="still")
    Session.objects.filter(session_key=later).update(expire_date=timezone.now() + timedelta(seconds=30))
    assert SessionStore(later)["who"] == "still"


def test_signed_in_pages_answer_through_it(client):
    client.force_login(StaffFactory(username="pages"))
    assert client.get("/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/").status_code == 302  # signed out: to the sign-in page
