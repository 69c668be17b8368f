"""The records of one request share its id (answered as X-Request-Id); two requests' do not."""

import uuid

import pytest

from cmsportal.changes.models import Change
from tests.api.conftest import client_for
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    ContactFactory,
    CustomerFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_api_requests_each_have_their_id():
    staff = StaffFactory(username="api-staff")
    AccountFactory(customer=CustomerFactory(), account_id="10101")
    api = client_for(staff)
    base = "/v1/customer_accounts/CLOUD/10101/metadata"
    first = api.put(f"{base}/support:a", {"meta": {"support:a": "1"}}, format="json")
    second = api.put(f"{base}/support:a", {"meta": {"support:a": "2"}}, format="json")
    assert first.status_code in (200, 201, 204) and second.status_code in (200, 201, 204)
    records = list(Change.objects.filter(object_type="metadata").order_by("id"))
    assert [c.action for c in records] == ["create", "update"]
    assert [str(c.request_id) for c in records] == [first["X-Request-Id"], second["X-Request-Id"]]
    assert records[0].request_id != records[1].request_id
    assert {c.actor_username for c in records} == {"api-staff"}


def test_a_staff_page_request_shares_one_id_across_its_records(client):
    staff = UserFactory(username="page-staff", is_staff=True, is_superuser=True)
    source = CustomerFactory(rcn="RCN-100-000-001")
    CustomerFactory(rcn="RCN-200-000-002")
    for number in ("11", "12"):
        account = AccountFactory(customer=source, account_id=number)
    AccountContactFactory(account=account, contact=ContactFactory(customer=source))
    client.force_login(staff)
    response = client.post("/customers/RCN-100-000-001/merge/", {"target": "RCN-200-000-002", "confirm": "yes"})
    assert response.status_code == 302, response.content[:500]
    records = list(Change.objects.order_by("id"))
    assert [(c.object_type, c.action) for c in records] == [
        ("account", "move"),
        ("account", "move"),
        ("contact", "move"),
        ("customer", "merge"),
        ("customer", "delete"),
    ]
    assert {c.request_id for c in records} == {uuid.UUID(response["X-Request-Id"])}
    assert {c.actor_username for c in records} == {"page-staff"}
    client.post("/customers/RCN-200-000-002/merge/", {"target": "RCN-100-000-001", "confirm": "yes"})
    assert Change.objects.exclude(request_id=records[0].request_id).count() == 0  # refused: no records
    AccountFactory(customer=CustomerFactory(rcn="RCN-300-000-003"), account_id="13")
    other = client.post("/customers/RCN-300-000-003/merge/", {"target": "RCN-200-000-002", "confirm": "yes"})
    assert other.status_code == 302, other.content[:500]
    second = list(Change.objects.exclude(request_id=records[0].request_id))
    assert len(second) == 3 and {str(c.request_id) for c in second} == {other["X-Request-Id"]}
