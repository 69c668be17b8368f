"""The PostgreSQL connection under the API: prepared per-request queries, a health check without a round trip."""

import select

import psycopg
import pytest
from django.db import DataError, connection, connections

from cmsportal.postgresql.base import DatabaseWrapper
from tests.factories import AccountFactory, UserFactory

from .conftest import client_for

pytestmark = pytest.mark.postgres

ACCOUNT = "/v1/customer_accounts/CLOUD/1"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_token_and_account_queries_are_prepared_once_per_connection(django_assert_num_queries, settings):
    settings.CMS_TOKEN_CACHE_SECONDS = 0  # the token looked up on every call (remembered, it is asked once)
    AccountFactory(account_id="1")
    client = client_for(UserFactory(username="direct", view_all=True))
    assert client.get(ACCOUNT).status_code == 200
    for _ in range(3):
        with django_assert_num_queries(2) as captured:  # still counted and logged like any query
            assert client.get(ACCOUNT).json()["id"] == "1"
    # Logged with their values, as Django's own cursors log theirs.
    assert """"accounts_account"."account_id" = '1'""" in captured.captured_queries[1]["sql"]
    statements = prepared_statements()
    assert len([s for s in statements if '"identity_token"."key_hash" = $' in s]) == 1
    assert len([s for s in statements if 'FROM "accounts_account"' in s and "$1" in s]) == 1


@pytest.mark.django_db
def test_prepared_statements_can_be_turned_off(settings):
    settings.CMS_PREPARED_STATEMENTS = False
    AccountFactory(account_id="1")
    client = client_for(UserFactory(username="direct", view_all=True))
    for _ in range(2):
        assert client.get(ACCOUNT).status_code == 200
    assert not [s for s in prepared_statements() if "identity_token" in s or "accounts_account" in s]


@pytest.mark.django_db(transaction=True)
def test_an_idle_quiet_connection_is_usable_without_a_query(monkeypatch):
    connection.ensure_connection()
    assert connection.connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE

    def round_trip(self):
        raise AssertionError("the health check ran a query")

    monkeypatch.setattr("django.db.backends.postgresql.base.DatabaseWrapper.is_usable", round_trip)
    assert connection.is_usable() is True


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_not_usable_and_is_replaced():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True
    # The server's notice and the end of the stream reach the socket.
    readable, _, _ = select.select([connection.connection.pgconn.socket], [], [], 5)
    assert readable
    assert connection.is_usable() is False

    # With health checks on, the next request's first query finds a new connection.
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


@pytest.mark.django_db(transaction=True)
def test_a_failed_transaction_is_not_usable():
    assert isinstance(connections["default"], DatabaseWrapper)
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("BEGIN")
    with pytest.raises(psycopg.errors.DivisionByZero):
        raw.execute("SELECT 1 / 0")
    assert connection.is_usable() is False
    raw.rollback()
    assert connection.is_usable() is True


SERIES = "SELECT generate_series('2023-03-01 00:00:00.5+00'::timestamptz, '2023-06-01', '1 hour 7.013 s')"


@pytest.mark.django_db
def test_timestamptz_values_read_as_django_reads_them():
    """The faster loader answers exactly what Django's own loader answers, and fails where it fails."""
    from django.db.backends.postgresql.psycopg_any import get_adapters_template

    from cmsportal.postgresql.base import TimestamptzLoader

    loader = connection.connection.adapters.get_loader(
        psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
    )
    assert issubclass(loader, TimestamptzLoader)
    values = [
        "'2024-01-02 03:04:05+00'",
        "'2024-01-02 03:04:05.1+00'",
        "'2024-01-02 03:04:05.123456+00'",
        "'2024-06-02 03:04:05.5+02'",
        "'0001-01-01 00:00:00+00'",
        "'9999-12-31 23:59:59.999999+00'",
        "NULL",
    ]
    select = "SELECT " + ", ".join(f"{value}::timestamptz" for value in values)
    with connection.cursor() as cursor:
        cursor.execute(select)
        ours = cursor.fetchone()
        cursor.execute(
            "SELECT generate_series('2023-03-01 00:00:00.5+00'::timestamptz, '2023-06-01', '1 hour 7.013 s')"
        )
        series = [row[0] for row in cursor.fetchall()]
    settings_dict = connection.get_connection_params()
    settings_dict["context"] = get_adapters_template(True, connection.timezone)
    with psycopg.connect(**settings_dict) as django_own:
        django_own.execute("SET TIME ZONE 'UTC'")
        assert [repr(value) for value in ours] == [repr(v) for v in django_own.execute(select).fetchone()]
        expected = django_own.execute(SERIES).fetchall()
        assert series == [row[0] for row in expected] and len(series) > 2000
    with pytest.raises(DataError), connection.cursor() as cursor:  # Django's loader refuses it too
        cursor.execute("SELECT '0044-03-15 12:00:00+00 BC'::timestamptz")
        cursor.fetchone()
