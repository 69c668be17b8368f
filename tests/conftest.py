"""Shared fixtures. The same suite runs on SQLite and on PostgreSQL (DATABASE_URL)."""

import pytest
from django.db import connection

from cmsportal.identity.access import Actor

from .factories import StaffFactory, UserFactory


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(scope="session", autouse=True)
def _token_cache_gone_before_the_test_database(django_db_setup):
    """The remembered tokens' listening connection is closed before the test database is dropped."""
    from cmsportal.identity import tokencache

    yield
    tokencache.cache.close()


@pytest.fixture(autouse=True)
def _tokens_remembered_by_no_earlier_test():
    """Each test starts with no remembered API token (cmsportal/identity/tokencache.py)."""
    from cmsportal.identity import tokencache

    tokencache.forget()


@pytest.fixture
def actor():
    return Actor("tester", "RACKER")


@pytest.fixture
def staff_user(db):
    """A member of staff: sees every account (global view permission)."""
    return StaffFactory(username="staff")


@pytest.fixture
def tenant_user(db):
    """A user with no grants yet; add TenantGrant rows to let it see accounts."""
    return UserFactory(username="tenant")


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests are skipped, visibly, when the suite runs on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
