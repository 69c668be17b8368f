"""Fixtures of the API tests: users on both sides of the tenant line, clients, and XML helpers."""

import xml.etree.ElementTree as ET

import pytest
from defusedxml.ElementTree import fromstring as safe_xml
from rest_framework.test import APIClient

from cmsportal.identity import services as identity
from tests.factories import TenantGrantFactory, UserFactory

CMS = "{http://customer.api.rackspace.com/v1}"
ATOM = "{http://www.w3.org/2005/Atom}"
META = "{http://docs.rackspace.com/metadata/api}"


def xml(response) -> ET.Element:
    """The response body parsed as XML (asserting that it is XML)."""
    assert response["Content-Type"].startswith("application/xml"), response["Content-Type"]
    return safe_xml(response.content)


def links(body) -> dict[str, str]:
    """rel -> href of a JSON body's top-level links."""
    return {link["rel"]: link["href"] for link in body.get("link", [])}


def xml_links(root) -> dict[str, str]:
    return {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users are created per test; a fast hasher keeps the suite quick (hashing is identity's to test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    """Sees every account (global view permission)."""
    return UserFactory(username="api-staff", is_staff=True, view_all=True)


@pytest.fixture
def tenant(db):
    """Sees only the accounts of tenant `t-1`."""
    user = UserFactory(username="api-tenant")
    TenantGrantFactory(user=user, tenant_id="t-1")
    return user


def client_for(user) -> APIClient:
    """A client that sends a real X-Auth-Token of `user`."""
    _, plaintext = identity.token_issue(user, [identity.PASSWORD])
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=plaintext)
    return client


@pytest.fixture
def api(staff):
    """Staff, authenticated by X-Auth-Token."""
    return client_for(staff)


@pytest.fixture
def tenant_api(tenant):
    return client_for(tenant)


@pytest.fixture
def anonymous():
    return APIClient()
