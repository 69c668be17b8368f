"""Phone numbers: found however they are typed (country code or not), shown in one format, stored as
given; the normalised search column is filled on every write path and, on PostgreSQL, indexed for
exact and prefix lookups."""

import importlib
import json
import re
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from cmsportal.exchange import import_file, import_records, importer
from cmsportal.identity.access import Actor
from contacts import phones, services
from contacts.models import PhoneNumber
from tests.factories import AccountContactFactory, ContactFactory, CustomerFactory, PhoneNumberFactory, StaffFactory

pytestmark = pytest.mark.django_db

TYPED = ["+1 540 826 3188", "+15408263188", "540-826-3188", "(540) 826 3188"]
STORED = ["(540) 826-3188", "5408263188", "+1 540.826.3188", "540-826-3188"]


@pytest.mark.parametrize("typed", TYPED + STORED)
def test_every_way_of_writing_a_number_has_one_key(typed):
    assert phones.search_key(typed) == "+15408263188"


def test_keys_of_other_regions_and_of_what_does_not_parse():
    assert phones.search_key("020 7123 4567", "GB") == "+442071234567"
    assert phones.search_key("+44 20 7123 4567", "US") == "+442071234567"
    assert phones.search_key("ext 12", None) == "12"
    assert phones.search_key("", None) == ""
    assert phones.display("not a phone") == "not a phone"


@pytest.fixture
def staff_client(db):
    client = Client()
    client.force_login(StaffFactory(username="phone-staff"))
    return client


def _contact_with(number: str, country: str | None = "US"):
    link = AccountContactFactory(account__customer=CustomerFactory())
    PhoneNumberFactory(contact=link.contact, number=number, country=country)
    return link.contact


def _found(client, q: str) -> list[str]:
    response = client.get("/search/", {"q": q})
    assert response.status_code == 200
    return [hit.url for hit in response.context["results"].groups["contacts"]]


@pytest.mark.parametrize("stored", STORED)
@pytest.mark.parametrize("typed", TYPED)
def test_search_finds_a_contact_however_the_number_is_typed(staff_client, stored, typed):
    contact = _contact_with(stored)
    _contact_with("(540) 826-3100")  # another number of the same exchange is not an exact match
    found = _found(staff_client, typed)
    assert found[0] == contact.get_absolute_url()


def test_search_finds_a_number_typed_in_part_with_or_without_country_code(staff_client):
    contact = _contact_with("(540) 826-3188")
    assert contact.get_absolute_url() in _found(staff_client, "+1 540 82")
    assert contact.get_absolute_url() in _found(staff_client, "540 826")
    assert contact.get_absolute_url() in _found(staff_client, "826-3188")
    assert contact.get_absolute_url() not in _found(staff_client, "+44 540 826")


def test_search_highlights_the_number_in_its_display_format(staff_client):
    _contact_with("5408263188")
    body = staff_client.get("/search/", {"q": "+1 (540) 826-3188"}).content.decode()
    assert "+<mark>1 540-826-3188</mark>" in body


def test_pages_show_numbers_in_one_format_and_the_api_as_stored(staff_client):
    contact = _contact_with("(540) 826-3188")
    PhoneNumberFactory(contact=contact, number="+1 540.826.3189", country=None)
    PhoneNumberFactory(contact=contact, number="020 7123 4567", country="GB")
    body = staff_client.get(contact.get_absolute_url()).content.decode()
    shown = re.findall(r'<a href="(tel:[^"]*)">([^<]*)</a>', body)
    assert shown == [
        ("tel:+15408263188", "+1 540-826-3188"),
        ("tel:+15408263189", "+1 540-826-3189"),
        ("tel:+442071234567", "+44 20 7123 4567"),
    ]
    account = contact.account_links.get().account
    account_page = staff_client.get(account.get_absolute_url()).content.decode()
    assert ">+1 540-826-3188<" in account_page and "(540) 826-3188" not in account_page

    from tests.api.conftest import client_for

    api = client_for(StaffFactory(username="phone-api"))
    path = f"/v1/customer_accounts/{account.type}/{account.account_id}/contacts/{contact.contact_number}"
    numbers = [p["number"] for p in api.get(path).json()["phoneNumbers"]["phoneNumber"]]
    assert numbers == ["(540) 826-3188", "+1 540.826.3189", "020 7123 4567"]


def test_the_contact_filter_matches_however_the_number_is_typed(staff_client):
    contact = _contact_with("(540) 826-3188")
    for typed in TYPED:
        body = staff_client.get("/contacts/", {"phone": typed}).content.decode()
        assert contact.contact_number in body, typed


# The column is filled on every write path.


def test_save_and_services_fill_the_key():
    phone = PhoneNumberFactory(number="(540) 826-3188", country="US")
    assert PhoneNumber.objects.get(pk=phone.pk).normalized == "+15408263188"
    phone.number = "020 7123 4567"
    phone.country = "GB"
    phone.save(update_fields=["number", "country"])
    assert PhoneNumber.objects.get(pk=phone.pk).normalized == "+442071234567"
    contact = ContactFactory()
    services.contact_update(
        actor=Actor("t", "SYSTEM"),
        contact=contact,
        phone_numbers=[{"number": "540-826-3188", "country": "US", "primary": True}],
    )
    assert list(contact.phone_numbers.values_list("normalized", flat=True)) == ["+15408263188"]


def _contact_record(number: str) -> dict:
    return {
        "contact": {
            "contactNumber": "RPN-540-826-318",
            "rcn": "RCN-540-826-318",
            "notificationPreferences": {
                "doNotFax": False,
                "doNotCall": False,
                "doNotEmail": False,
                "doNotMail": False,
                "doNotSurvey": False,
            },
            "phoneNumbers": {
                "phoneNumber": [
                    {"number": number, "country": "US", "smsVerify": False, "primary": True},
                    {"number": "020 7123 4567", "country": "GB", "smsVerify": False, "primary": False},
                ]
            },
            "accounts": [],
        }
    }


def _stored_keys():
    return list(PhoneNumber.objects.order_by("id").values_list("normalized", flat=True))


def test_import_fills_the_key():
    import_records([_contact_record("(540) 826-3188")], progress=False)
    assert _stored_keys() == ["+15408263188", "+442071234567"]
    # Importing the contact again replaces its phones, keys included.
    import_records([_contact_record("540.826.3199")], progress=False)
    assert _stored_keys() == ["+15408263199", "+442071234567"]


@pytest.mark.parametrize("in_workers", [False, True])
def test_file_import_fills_the_key_in_every_reader(tmp_path, monkeypatch, in_workers):
    """Plain, and on PostgreSQL staged by COPY, read by the worker processes or not."""
    monkeypatch.setattr(importer, "PARALLEL", in_workers)
    path = tmp_path / "phones.jsonl"
    path.write_text(json.dumps(_contact_record("+1 (540) 826-3188")) + "\n")
    import_file(str(path))
    assert _stored_keys() == ["+15408263188", "+442071234567"]


def test_the_migration_backfills_stored_numbers():
    PhoneNumberFactory(number="(540) 826-3188", country="US")
    PhoneNumberFactory(number="020 7123 4567", country="GB")
    PhoneNumber.objects.update(normalized="")
    migration = importlib.import_module("contacts.migrations.0004_phone_normalized")
    migration.backfill(apps, SimpleNamespace(connection=connection))
    assert _stored_keys() == ["+15408263188", "+442071234567"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "queryset",
    [
        lambda: PhoneNumber.objects.filter(normalized="+15408263188"),
        lambda: PhoneNumber.objects.filter(normalized__startswith="+1540826"),
    ],
)
def test_exact_and_prefix_lookups_use_the_index(queryset):
    PhoneNumberFactory(number="(540) 826-3188")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    assert "phone_normalized_idx" in queryset().explain()
