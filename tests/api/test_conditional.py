"""Conditional requests (RFC 9110): validators on every single-resource GET, 304 and 412, and optimistic
locking of metadata writes with If-Match / If-Unmodified-Since; faults in the negotiated format."""

from datetime import timedelta

import pytest
from django.utils.http import http_date

from accounts import services as account_services
from cmsportal.api.conditional import RequestPreconditions, Version, parse_etags
from cmsportal.identity.access import Actor
from metadata.models import Metadata
from tests.factories import AccountContactFactory, AccountFactory, ContactFactory, MetadataFactory

from .conftest import xml

pytestmark = pytest.mark.django_db

ACCOUNT = "/v1/customer_accounts/CLOUD/10101"
ENTRY = f"{ACCOUNT}/metadata/support:level"
CONTACT = f"{ACCOUNT}/contacts/RPN-000-000-001"
RESOURCES = [ACCOUNT, ENTRY, f"{ENTRY}/detail", CONTACT]


@pytest.fixture
def account():
    account = AccountFactory(account_id="10101", tenant_id="t-1")
    MetadataFactory(account=account, key="support:level", value="navigator", created_by="svc", last_updated_by="adm")
    contact = ContactFactory(contact_number="RPN-000-000-001", customer=account.customer)
    AccountContactFactory(account=account, contact=contact, roles=["TECHNICAL"])
    return account


def since(moment, seconds=0) -> str:
    return http_date((moment + timedelta(seconds=seconds)).timestamp())


def last_modified_of(path):
    if "metadata" in path:
        return Metadata.objects.get(key="support:level").last_updated_date
    if "contacts" in path:
        return ContactFactory._meta.model.objects.get(contact_number="RPN-000-000-001").last_updated_date
    return AccountFactory._meta.model.objects.get(account_id="10101").last_updated_date


def assert_fault(response, status, name, fmt="json"):
    assert response.status_code == status
    if fmt == "xml":
        root = xml(response)
        assert root.tag.endswith(name) and root.get("code") == str(status)
    else:
        assert response.json()[name]["code"] == status


# --- GET -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", RESOURCES)
def test_get_sends_validators(api, account, path):
    response = api.get(path)
    assert response.status_code == 200
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert response["Last-Modified"] == since(last_modified_of(path))
    # Each format has its own strong validator; the same state gives the same one.
    assert api.get(path, HTTP_ACCEPT="application/xml")["ETag"] != etag
    assert api.get(path)["ETag"] == etag


@pytest.mark.parametrize("path", RESOURCES)
def test_if_none_match_answers_304_without_a_body(api, account, path):
    etag = api.get(path)["ETag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = api.get(path, HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 304, header
        assert response.content == b""
        assert response["ETag"] == etag
    assert api.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    # The JSON validator does not stand for the XML representation.
    assert api.get(path, HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT="application/xml").status_code == 200


@pytest.mark.parametrize("path", RESOURCES)
def test_if_modified_since(api, account, path):
    modified = last_modified_of(path)
    assert api.get(path, HTTP_IF_MODIFIED_SINCE=since(modified)).status_code == 304
    assert api.get(path, HTTP_IF_MODIFIED_SINCE=since(modified, -1)).status_code == 200
    assert api.get(path, HTTP_IF_MODIFIED_SINCE="not a date").status_code == 200
    # If-None-Match wins over If-Modified-Since.
    response = api.get(path, HTTP_IF_MODIFIED_SINCE=since(modified), HTTP_IF_NONE_MATCH='"other"')
    assert response.status_code == 200


@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_failed_if_match_on_get_is_412(api, account, path, fmt):
    accept = "application/xml" if fmt == "xml" else "application/json"
    response = api.get(path, HTTP_IF_MATCH='"stale"', HTTP_ACCEPT=accept)
    assert_fault(response, 412, "preconditionFailed", fmt)
    modified = last_modified_of(path)
    response = api.get(path, HTTP_IF_UNMODIFIED_SINCE=since(modified, -1), HTTP_ACCEPT=accept)
    assert_fault(response, 412, "preconditionFailed", fmt)
    assert api.get(path, HTTP_IF_MATCH=api.get(path, HTTP_ACCEPT=accept)["ETag"], HTTP_ACCEPT=accept).status_code == 200


def test_account_validator_follows_every_change(api, account):
    etag = api.get(ACCOUNT)["ETag"]
    account_services.account_nickname_change(account=account, actor=Actor("x"), nickname="new")
    response = api.get(ACCOUNT, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response.json()["nickname"] == "new"
    assert response["ETag"] != etag


def test_account_get_costs_no_extra_query(api, account, django_assert_max_num_queries):
    api.get(ACCOUNT)  # the token's last use is written once a minute at most
    with django_assert_max_num_queries(2):
        assert api.get(ACCOUNT, HTTP_IF_NONE_MATCH='"x"').status_code == 200


def test_missing_resource_is_404_whatever_the_preconditions(api, account):
    assert api.get(f"{ACCOUNT}/metadata/support:none", HTTP_IF_NONE_MATCH="*").status_code == 404
    assert api.get("/v1/customer_accounts/CLOUD/404", HTTP_IF_MATCH="*").status_code == 404


# --- PUT and DELETE of metadata --------------------------------------------------------------------


def put(api, value, **headers):
    return api.put(ENTRY, {"meta": {"support:level": value}}, format="json", **headers)


def value():
    entry = Metadata.objects.filter(key="support:level").first()
    return entry.value if entry else None


@pytest.mark.parametrize("source", ["", "/detail"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_put_with_the_current_etag_of_either_representation_succeeds(api, account, source, fmt):
    etag = api.get(ENTRY + source, HTTP_ACCEPT=f"application/{fmt}")["ETag"]
    assert put(api, "first", HTTP_IF_MATCH=etag).status_code == 204
    assert value() == "first"
    # That ETag is stale now.
    response = put(api, "second", HTTP_IF_MATCH=etag)
    assert_fault(response, 412, "preconditionFailed")
    assert value() == "first"


def test_stale_put_fault_is_in_the_negotiated_format(api, account):
    response = api.put(
        f"{ENTRY}.xml",
        b'<meta xmlns="http://docs.rackspace.com/metadata/api">x</meta>',
        content_type="application/xml",
        HTTP_IF_MATCH='"stale"',
    )
    assert_fault(response, 412, "preconditionFailed", "xml")
    assert value() == "navigator"


def test_if_match_compares_strongly(api, account):
    etag = api.get(ENTRY)["ETag"]
    assert_fault(put(api, "x", HTTP_IF_MATCH=f"W/{etag}"), 412, "preconditionFailed")
    assert_fault(put(api, "x", HTTP_IF_MATCH="garbage"), 412, "preconditionFailed")
    assert put(api, "x", HTTP_IF_MATCH=f'"other", {etag}').status_code == 204


def test_if_match_star(api, account):
    assert put(api, "x", HTTP_IF_MATCH="*").status_code == 204
    assert value() == "x"
    missing = f"{ACCOUNT}/metadata/support:none"
    response = api.put(missing, {"meta": {"support:none": "y"}}, format="json", HTTP_IF_MATCH="*")
    assert_fault(response, 412, "preconditionFailed")
    response = api.delete(f"{missing}.xml", HTTP_IF_MATCH="*")
    assert_fault(response, 412, "preconditionFailed", "xml")
    assert not Metadata.objects.filter(key="support:none").exists()
    # Without a precondition a missing entry is still 404 to DELETE.
    assert api.delete(missing).status_code == 404


def test_if_none_match_star_creates_only(api, account):
    assert_fault(put(api, "x", HTTP_IF_NONE_MATCH="*"), 412, "preconditionFailed")
    assert value() == "navigator"
    new = f"{ACCOUNT}/metadata/support:new"
    assert api.put(new, {"meta": {"support:new": "y"}}, format="json", HTTP_IF_NONE_MATCH="*").status_code == 204


def test_if_unmodified_since_on_put(api, account):
    modified = Metadata.objects.get(key="support:level").last_updated_date
    assert_fault(put(api, "x", HTTP_IF_UNMODIFIED_SINCE=since(modified, -1)), 412, "preconditionFailed")
    assert value() == "navigator"
    assert put(api, "x", HTTP_IF_UNMODIFIED_SINCE="not a date").status_code == 204  # ignored
    modified = Metadata.objects.get(key="support:level").last_updated_date
    assert put(api, "y", HTTP_IF_UNMODIFIED_SINCE=since(modified)).status_code == 204
    # If-Match takes precedence over If-Unmodified-Since.
    etag = api.get(ENTRY)["ETag"]
    assert put(api, "z", HTTP_IF_MATCH=etag, HTTP_IF_UNMODIFIED_SINCE=since(modified, -3600)).status_code == 204


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_delete_with_preconditions(api, account, fmt):
    etag = api.get(ENTRY)["ETag"]
    suffix = ".xml" if fmt == "xml" else ""
    assert_fault(api.delete(ENTRY + suffix, HTTP_IF_MATCH='"stale"'), 412, "preconditionFailed", fmt)
    modified = Metadata.objects.get(key="support:level").last_updated_date
    assert_fault(
        api.delete(ENTRY + suffix, HTTP_IF_UNMODIFIED_SINCE=since(modified, -1)), 412, "preconditionFailed", fmt
    )
    assert value() == "navigator"
    assert api.delete(ENTRY + suffix, HTTP_IF_MATCH=etag).status_code == 204
    assert value() is None


# --- the evaluation itself ------------------------------------------------------------------------


def test_parse_etags():
    assert parse_etags(None) is None
    assert parse_etags(" * ") == ["*"]
    tags = parse_etags('"a", W/"b" ,"c,d"')
    assert [(t.opaque, t.weak) for t in tags] == [("a", False), ("b", True), ("c,d", False)]
    assert parse_etags("junk") == []


def test_if_match_takes_precedence_and_none_match_fails_writes():
    current = Version("v1")
    writes = RequestPreconditions("PUT", if_none_match=parse_etags('"v1-json"'))
    assert writes.evaluate(current) == 412
    reads = RequestPreconditions("GET", if_none_match=parse_etags('"v1-json"'))
    assert reads.evaluate(current, "v1-json") == 304
    assert reads.evaluate(current, "v1-xml") is None


# --- the OpenAPI description ----------------------------------------------------------------------

A = "/v1/customer_accounts/{accountType}/{accountId}"
READS = [A, f"{A}/metadata/{{key}}", f"{A}/metadata/{{key}}/detail", f"{A}/contacts/{{contactNumber}}"]


def test_openapi_documents_validators_304_and_412(anonymous):
    spec = anonymous.get("/v1/openapi.json").json()
    for path in READS:
        operation = spec["paths"][path]["get"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"} <= headers, path
        assert {"304", "412"} <= set(operation["responses"]), path
        assert {"ETag", "Last-Modified"} <= set(operation["responses"]["200"]["headers"]), path
        assert {"ETag", "Last-Modified"} <= set(operation["responses"]["304"]["headers"]), path
    for method in ("put", "delete"):
        operation = spec["paths"][f"{A}/metadata/{{key}}"][method]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"If-Match", "If-Unmodified-Since"} <= headers
        fault = operation["responses"]["412"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert "preconditionFailed" in spec["components"]["schemas"][fault]["properties"]


def test_http_date_is_django_s():
    from datetime import UTC, datetime

    from django.utils.http import http_date as django_http_date

    from cmsportal.api.conditional import http_date

    for moment in (datetime(1994, 11, 6, 8, 49, 37, 999000, tzinfo=UTC), datetime(2026, 2, 28, 23, 0, tzinfo=UTC)):
        assert http_date(moment) == django_http_date(moment.timestamp())
