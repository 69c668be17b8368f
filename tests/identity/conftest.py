import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Failed sign-in counts live in the cache: every test starts from none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()
