"""Remembering a viewed record does not wait for the disk on its own, and never changes another transaction."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cmsportal import services
from cmsportal.models import RecentView
from tests.factories import AccountFactory, UserFactory

SETTING = "SET LOCAL synchronous_commit = off"


def _record(user, account):
    with CaptureQueriesContext(connection) as captured:
        services.recent_view_record(user=user, kind=RecentView.Kind.ACCOUNT, object_id=account.pk)
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_its_own_transaction_commits_without_waiting_for_the_disk():
    user, account = UserFactory(username="viewer"), AccountFactory()
    assert SETTING in _record(user, account)
    assert RecentView.objects.filter(user=user, object_id=account.pk).exists()
    with connection.cursor() as cursor:  # the setting ended with its transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(transaction=True)
def test_inside_another_transaction_it_commits_as_that_one_does():
    user, account = UserFactory(username="viewer"), AccountFactory()
    with transaction.atomic():
        sql = _record(user, account)
    assert SETTING not in sql
    assert RecentView.objects.filter(user=user, object_id=account.pk).exists()
