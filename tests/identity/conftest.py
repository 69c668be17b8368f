import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts from an empty cache (failed sign-in counts live in the database, rolled back per test)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()
