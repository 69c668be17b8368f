"""Maximum lengths of metadata values and the other free text: one limit per field, enforced by the
services, and the same in the API (a 400 fault naming it), the admin and the pages (a form error) and
the import (a line-numbered error). Long values are cut on the staff pages behind a "Show all"."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.forms import NicknameForm
from accounts.models import Account, Customer
from cmsportal.exchange import ExchangeError, import_records
from cmsportal.identity.access import Actor
from contacts import services as contact_services
from contacts.models import Address, Contact, EmailAddress, PhoneNumber
from metadata import services as metadata_services
from metadata.forms import MetadataForm
from metadata.models import VALUE_MAX_LENGTH, Metadata
from tests.api.conftest import client_for, xml
from tests.factories import AccountFactory, ContactFactory, MetadataFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor("limits", "SYSTEM")
TOO_LONG = "v" * (VALUE_MAX_LENGTH + 1)


@pytest.fixture
def staff():
    user = UserFactory(username="limits-staff", is_staff=True, is_superuser=True, view_all=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["accounts", "metadata"]))
    return user


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def account():
    return AccountFactory(account_id="10101")


# Metadata values.


def test_the_service_takes_a_value_at_the_limit_and_refuses_a_longer_one(account):
    entry, _ = metadata_services.metadata_set(account=account, key="a:b", value="v" * VALUE_MAX_LENGTH, actor=ACTOR)
    assert len(entry.value) == VALUE_MAX_LENGTH
    with pytest.raises(ValidationError, match=f"at most {VALUE_MAX_LENGTH} characters"):
        metadata_services.metadata_set(account=account, key="a:b", value=TOO_LONG, actor=ACTOR)
    assert len(Metadata.objects.get(key="a:b").value) == VALUE_MAX_LENGTH


def test_the_api_answers_400_naming_the_limit(staff, account):
    api = client_for(staff)
    path = "/v1/customer_accounts/CLOUD/10101/metadata/a:b"
    response = api.put(path, {"meta": {"a:b": TOO_LONG}}, format="json")
    assert response.status_code == 400
    assert str(VALUE_MAX_LENGTH) in response.json()["badRequest"]["message"] + response.json()["badRequest"].get(
        "details", ""
    )
    body = f'<meta xmlns="http://docs.rackspace.com/metadata/api" key="a:b">{TOO_LONG}</meta>'
    response = api.put(path, body, content_type="application/xml", HTTP_ACCEPT="application/xml")
    assert response.status_code == 400
    assert str(VALUE_MAX_LENGTH) in "".join(xml(response).itertext())
    assert not Metadata.objects.filter(key="a:b").exists()
    ok = api.put(path, {"meta": {"a:b": "v" * VALUE_MAX_LENGTH}}, format="json")
    assert ok.status_code == 204


def test_the_page_form_shows_an_error(staff_client, account):
    url = reverse("metadata:metadata_add", args=["CLOUD", "10101"])
    response = staff_client.post(url, {"key": "a:b", "value": TOO_LONG})
    assert response.status_code == 200
    assert f"at most {VALUE_MAX_LENGTH} characters" in " ".join(response.context["form"].errors["value"])
    assert not Metadata.objects.filter(key="a:b").exists()
    assert not MetadataForm({"key": "a:b", "value": TOO_LONG}).is_valid()


def test_the_admin_shows_a_form_error(staff_client, account):
    url = reverse("admin:metadata_metadata_add")
    response = staff_client.post(url, {"account": account.pk, "key": "a:b", "value": TOO_LONG})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert f"at most {VALUE_MAX_LENGTH} characters" in " ".join(errors["value"])
    assert not Metadata.objects.filter(key="a:b").exists()


def test_the_import_reports_the_line_and_the_limit():
    records = [
        {"customerAccount": {"id": "10101", "type": "CLOUD", "rcn": "RCN-123-456-789"}},
        {"metadata": {"accountType": "CLOUD", "accountId": "10101", "key": "a:ok", "value": "v" * VALUE_MAX_LENGTH}},
        {"metadata": {"accountType": "CLOUD", "accountId": "10101", "key": "a:b", "value": TOO_LONG}},
    ]
    with pytest.raises(ExchangeError) as error:
        import_records(records, progress=False)
    assert error.value.line == 3
    assert f"longer than {VALUE_MAX_LENGTH} characters" in str(error.value)
    assert not Account.objects.exists()
    import_records(records[:2], progress=False)
    assert len(Metadata.objects.get(key="a:ok").value) == VALUE_MAX_LENGTH


# The other free text: the models' lengths, the same in the services, the forms and the import.

FREE_TEXT = [
    (Customer, "name"),
    (Account, "name"),
    (Account, "nickname"),
    (Contact, "first_name"),
    (Contact, "last_name"),
    (Contact, "title"),
    (Contact, "suffix"),
    (Contact, "username"),
    (Address, "street"),
    (Address, "city"),
    (EmailAddress, "address"),
    (PhoneNumber, "number"),
]


def _limit(model, field) -> int:
    return model._meta.get_field(field).max_length


def _write(model, field, value):
    """Write `value` to `field` of `model` through its service."""
    if model is Customer:
        return account_services.customer_create(rcn="RCN-000-000-001", **{field: value})
    if model is Account:
        if field == "nickname":
            return account_services.account_nickname_change(account=AccountFactory(), actor=ACTOR, nickname=value)
        return account_services.account_update(account=AccountFactory(), actor=ACTOR, **{field: value})
    contact = ContactFactory()
    if model is Contact:
        return contact_services.contact_update(actor=ACTOR, contact=contact, **{field: value})
    child = {"primary": True, field: value}
    if model is EmailAddress:
        return contact_services.contact_update(actor=ACTOR, contact=contact, email_addresses=[child])
    if model is PhoneNumber:
        return contact_services.contact_update(actor=ACTOR, contact=contact, phone_numbers=[child])
    return contact_services.contact_update(actor=ACTOR, contact=contact, addresses=[child])


@pytest.mark.parametrize(("model", "field"), FREE_TEXT)
def test_services_refuse_longer_text_naming_the_limit(model, field):
    limit = _limit(model, field)
    with pytest.raises(ValidationError, match=f"at most {limit} characters"):
        _write(model, field, "x" * (limit + 1))
    _write(model, field, "x" * limit if field != "address" else "x" * (limit - 12) + "@example.com")


IMPORT_KEYS = {
    (Customer, "name"): ("customer", {"rcn": "RCN-000-000-001"}, "name"),
    (Account, "name"): ("customerAccount", {"id": "1", "type": "CLOUD", "rcn": "RCN-000-000-001"}, "name"),
    (Account, "nickname"): ("customerAccount", {"id": "1", "type": "CLOUD", "rcn": "RCN-000-000-001"}, "nickname"),
}


@pytest.mark.parametrize(("model", "field"), list(IMPORT_KEYS))
def test_the_import_refuses_longer_text_with_its_line(model, field):
    kind, body, key = IMPORT_KEYS[(model, field)]
    limit = _limit(model, field)
    records = [{"customer": {"rcn": "RCN-000-000-002"}}, {kind: {**body, key: "x" * (limit + 1)}}]
    with pytest.raises(ExchangeError) as error:
        import_records(records, progress=False)
    assert error.value.line == 2 and f"longer than {limit} characters" in str(error.value)


def test_the_nickname_form_has_the_models_limit():
    limit = _limit(Account, "nickname")
    assert NicknameForm({"nickname": "x" * limit}).is_valid()
    assert not NicknameForm({"nickname": "x" * (limit + 1)}).is_valid()


# Long values on the pages: cut, with the whole behind a "Show all" <details>.


def test_long_values_are_cut_behind_show_all(staff_client, account):
    long_value = "word " * 100
    MetadataFactory(account=account, key="notes:long", value=long_value)
    MetadataFactory(account=account, key="notes:short", value="short value")
    body = staff_client.get(account.get_absolute_url()).content.decode()
    (details,) = re.findall(r'<details class="clipped".*?</details>', body, re.S)
    assert "Show all" in details and long_value.strip() in details
    assert "<script" not in details and not re.search(r"\son\w+=", details)
    row = re.search(r"<code>notes:short</code></td>\s*<td class=\"value\">([^<]*)</td>", body)
    assert row and row.group(1) == "short value"
