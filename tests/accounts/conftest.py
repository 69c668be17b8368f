import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def staff():
    """A test client signed in as a superuser ("editor"): the staff actions' tests act as one."""
    user = UserFactory(username="editor", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client
