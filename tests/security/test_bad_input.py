"""Bad input, sent to every route: never a 5xx, never a traceback; API paths answer a fault in the negotiated format.

The routes are enumerated from the URL conf (every API route under /v1/ and /v2.0/, every staff page), and the
query parameters from every FilterSet of the project, so a new route or filter cannot escape. The cases: NUL in
each path segment, query parameter and body value (PostgreSQL refuses NUL in text); over-long identifiers;
`limit`/`offset` with non-ASCII digits or beyond 64 bits; deeply nested JSON; a lone surrogate; a body over the
size limit.
"""

import json
import re

import django_filters
import pytest
from defusedxml.ElementTree import fromstring as safe_xml
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from cmsportal.api.faults import FAULT_NAMES
from cmsportal.identity import services as identity
from cmsportal.models import SavedFilter
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    MetadataFactory,
    NamespaceFactory,
    StaffFactory,
)

NUL = "a\x00b"
LONG = "9" * 300  # longer than any identifier field (RCN 15, account id 64, metadata key 255)
FAULTS = set(FAULT_NAMES.values())
QUERY_VALUES = [NUL, "x" * 3000, "²", "9" * 30, "9" * 5000, "-1"]
PAGINATION = ("marker", "limit", "offset", "direction")
BODY_LIMIT = 4096


# --- enumeration ---------------------------------------------------------------------------------


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


def _routes():
    """(route text, name, view class, path parameter names) of every named route but the admin's."""
    found = []
    for text, entry, namespace in _walk(get_resolver().url_patterns):
        if text.startswith("admin/") or not entry.name:
            continue
        entry.cms_reverse_name = namespace + entry.name
        names = [name for name in entry.pattern.regex.groupindex if name != "format"]
        names += list(getattr(entry.pattern, "converters", {}) or {})
        view = getattr(entry.callback, "view_class", None) or getattr(entry.callback, "cls", None) or entry.callback
        found.append((text, entry, view, sorted(set(names))))
    return found


def _url_name(text, entry):
    return entry.cms_reverse_name


ROUTES = _routes()
API_ROUTES = [
    r
    for r in ROUTES
    if r[0].startswith(("v1/", "v2.0/")) and not r[1].name.endswith("-suffixed") and r[1].name != "api-unknown-path"
]
PAGE_ROUTES = [r for r in ROUTES if not r[0].startswith(("v1/", "v2.0/"))]


def _methods(view) -> list[str]:
    return [m for m in ("get", "put", "post", "delete") if hasattr(view, m)] or ["get"]


def _all_filters() -> list[str]:
    """Every filter of every FilterSet of the project."""
    names = set()
    stack = list(django_filters.FilterSet.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in ("accounts", "contacts", "metadata", "cmsportal"):
            names.update(cls.base_filters)
    return sorted(names)


# --- data ----------------------------------------------------------------------------------------


@pytest.fixture
def seeded(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = BODY_LIMIT
    NamespaceFactory(name="support")
    link = AccountContactFactory()
    account, contact = link.account, link.contact
    entry = MetadataFactory(account=account, key="support:level", value="gold")
    AccountFactory(customer=account.customer)
    user = StaffFactory(username="bad-input-staff", is_superuser=True)
    token, plaintext = identity.token_issue(user, [identity.PASSWORD])
    saved = SavedFilter.objects.create(user=user, list_name="accounts:account_list", name="mine", query="status=Active")
    values = {
        "accountType": account.type,
        "accountId": account.account_id,
        "contactNumber": contact.contact_number,
        "key": entry.key,
        "token_id": plaintext,
        "type": account.type,
        "account_id": account.account_id,
        "contact_number": contact.contact_number,
        "rcn": account.customer.rcn,
        "pk": saved.pk,
    }
    return {"user": user, "token": plaintext, "values": values}


# --- checks --------------------------------------------------------------------------------------


def assert_fault(response, fmt, what):
    """A 4xx fault body in `fmt` (or the format the path's suffix names), no traceback."""
    suffix = re.search(r"\.(json|xml)$", response.wsgi_request.path)
    fmt = suffix.group(1) if suffix else fmt
    status = response.status_code
    assert 400 <= status < 500, f"{what}: {status} {response.content[:300]!r}"
    content_type = response.get("Content-Type", "")
    text = response.content.decode("utf-8", "replace")
    assert "Traceback" not in text, what
    if fmt == "xml":
        assert content_type.startswith("application/xml"), f"{what}: {content_type}"
        root = safe_xml(response.content)
        assert root.tag.rsplit("}", 1)[-1] in FAULTS, f"{what}: {text[:200]}"
        assert root.get("code") == str(status), what
    else:
        assert content_type.startswith("application/json"), f"{what}: {content_type}"
        body = json.loads(response.content)
        [(name, fault)] = body.items()
        assert name in FAULTS and fault["code"] == status, f"{what}: {text[:200]}"


def assert_page(response, what):
    """A staff page answer: never a 5xx, never a traceback (4xx page, redirect or the page itself)."""
    assert response.status_code < 500, f"{what}: {response.status_code}"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8", "replace")
    assert "Traceback" not in text, what


ACCEPT = {"json": "application/json", "xml": "application/xml"}


def _api_client(seeded):
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=seeded["token"])
    return client


def _reverse(text, entry, kwargs):
    name = _url_name(text, entry)
    return reverse(name, kwargs=kwargs)


def _good_body(view, kwargs):
    if "key" in kwargs:
        return json.dumps({"meta": {kwargs["key"]: "value"}})
    return json.dumps({"auth": {"passwordCredentials": {"username": "bad-input-staff", "password": "x"}}})


def _send(client, method, url, fmt, body=None, content_type="application/json", **extra):
    kwargs = {"HTTP_ACCEPT": ACCEPT[fmt], **extra}
    if method in ("put", "post"):
        return getattr(client, method)(url, data=body if body is not None else "", content_type=content_type, **kwargs)
    return getattr(client, method)(url, **kwargs)


# --- API -----------------------------------------------------------------------------------------


def test_every_api_route_is_enumerated():
    names = {entry.name for _, entry, _, _ in API_ROUTES}
    assert {"api-account-list", "api-contact-detail", "api-metadata-entry", "identity-tokens"} <= names
    assert len(API_ROUTES) >= 10


@pytest.mark.parametrize("route", API_ROUTES, ids=[r[1].name for r in API_ROUTES])
def test_api_path_segments(seeded, route):
    """NUL and over-long values in each path segment, for every method and both formats."""
    text, entry, view, params = route
    client = _api_client(seeded)
    good = {name: seeded["values"][name] for name in params}
    for name in params:
        bad_values = [NUL, LONG if name != "key" else "support:" + LONG]
        for bad in bad_values:
            kwargs = {**good, name: bad}
            url = _reverse(text, entry, kwargs)
            for method in _methods(view):
                for fmt in ("json", "xml"):
                    response = _send(client, method, url, fmt, _good_body(view, kwargs))
                    assert_fault(response, fmt, f"{method.upper()} {url!r} ({fmt})")
                    if method == "delete" and name == "token_id":
                        client = _api_client(seeded)


@pytest.mark.parametrize("route", API_ROUTES, ids=[r[1].name for r in API_ROUTES])
def test_api_query_parameters(seeded, route):
    """Every filter of every FilterSet, and the pagination parameters, with each bad value."""
    text, entry, view, params = route
    if not hasattr(view, "get"):
        pytest.skip("no GET")
    client = _api_client(seeded)
    url = _reverse(text, entry, {name: seeded["values"][name] for name in params})
    names = [*PAGINATION, *_all_filters()]
    for index, name in enumerate(names):
        for bad in QUERY_VALUES:
            if name not in PAGINATION and bad != NUL:
                continue  # filters are checked with NUL; the numbers are for pagination
            fmt = ("json", "xml")[index % 2]
            response = _send(client, "get", url, fmt, QUERY_STRING=f"{name}={_quote(bad)}")
            if response.status_code < 400:
                # A parameter this route ignores, or a value it takes (limit over 1000 is 1000).
                assert response.status_code == 200, f"{url}?{name}={bad[:20]!r}: {response.status_code}"
                assert bad != NUL, f"{url}?{name}: NUL served"
                continue
            assert_fault(response, fmt, f"GET {url}?{name}={bad[:20]!r}")


def _quote(value):
    from urllib.parse import quote

    return quote(value, safe="")


BODY_ROUTES = [r for r in API_ROUTES if {"put", "post"} & set(_methods(r[2]))]


def _bad_bodies():
    return {
        "nested-array": "[" * 100_000,
        "nested-auth": '{"auth":' * 5_000,
        "lone-surrogate": '{"meta": {"support:level": "\\ud800"}}',
        "surrogate-key": '{"auth": {"passwordCredentials": {"username": "\\udfff", "password": "x"}}}',
        "nul-value": '{"meta": {"support:level": "a\\u0000b"}}',
        "nul-credentials": '{"auth": {"passwordCredentials": {"username": "a\\u0000b", "password": "x"}}}',
        "nul-key": '{"meta": {"support:a\\u0000b": "x"}}',
        "too-large": json.dumps({"meta": {"support:level": "x" * (2 * BODY_LIMIT)}}),
        "nan": '{"meta": {"support:level": NaN}}',
    }


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[r[1].name for r in BODY_ROUTES])
def test_api_bodies(seeded, route):
    text, entry, view, params = route
    client = _api_client(seeded)
    url = _reverse(text, entry, {name: seeded["values"][name] for name in params})
    for method in {"put", "post"} & set(_methods(view)):
        for label, body in _bad_bodies().items():
            for fmt in ("json", "xml"):
                response = _send(client, method, url, fmt, body)
                assert_fault(response, fmt, f"{method.upper()} {url} {label} ({fmt})")
                if label == "too-large":
                    assert response.status_code == 413, label
                    assert str(BODY_LIMIT) in response.content.decode(), label
        xml_too_large = "<meta xmlns='http://docs.rackspace.com/metadata/api'>" + "x" * 2 * BODY_LIMIT + "</meta>"
        response = _send(client, method, url, "xml", xml_too_large, content_type="application/xml")
        assert_fault(response, "xml", f"{method.upper()} {url} too-large XML")
        assert response.status_code == 413


def test_huge_offset_is_a_fault_and_huge_limit_is_capped(seeded):
    client = _api_client(seeded)
    url = reverse("api-account-list")
    response = _send(client, "get", url, "json", QUERY_STRING="offset=" + "9" * 25)
    assert_fault(response, "json", "huge offset")
    assert response.status_code == 400
    response = _send(client, "get", url, "json", QUERY_STRING="limit=" + "9" * 25)
    assert response.status_code == 200
    response = _send(client, "get", url, "xml", QUERY_STRING="limit=%C2%B2")
    assert_fault(response, "xml", "limit=²")
    assert response.status_code == 400


# --- staff pages ---------------------------------------------------------------------------------


@pytest.fixture
def staff_client(seeded):
    client = Client()
    client.force_login(seeded["user"])
    return client


def test_every_page_is_enumerated():
    names = {entry.name for _, entry, _, _ in PAGE_ROUTES}
    assert {"search", "search_suggest", "account_list", "contact_list", "account_detail", "metadata_add"} <= names


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=[r[1].name for r in PAGE_ROUTES])
def test_page_path_and_query(staff_client, seeded, route):
    """NUL and over-long values in each path segment and query parameter of every page: never a 5xx."""
    text, entry, view, params = route
    good = {name: seeded["values"][name] for name in params}
    for name in params:
        for bad in (NUL, LONG):
            try:
                url = _reverse(text, entry, {**good, name: bad})
            except NoReverseMatch:
                # A converter (int) that no such value matches: the same URL with the value in place of the good one.
                url = _reverse(text, entry, good).replace(f"/{good[name]}/", f"/{_quote(bad)}/")
            response = staff_client.get(url)
            assert_page(response, f"GET {url!r}")
            if bad == NUL:
                assert response.status_code == 400, url
    url = _reverse(text, entry, good)
    numeric = {"q", "page", "sort", *PAGINATION}
    for name in [*sorted(numeric), *_all_filters()]:
        for bad in QUERY_VALUES if name in numeric else QUERY_VALUES[:2]:
            response = staff_client.get(url, QUERY_STRING=f"{name}={_quote(bad)}")
            assert_page(response, f"GET {url}?{name}={bad[:20]!r}")
            if bad == NUL:
                assert response.status_code == 400, f"{url}?{name}"
                assert b"NUL" in response.content


FORM_FIELDS = [
    "status",
    "access_policy",
    "fraud_status",
    "collections_status",
    "nickname",
    "rcn",
    "target",
    "key",
    "value",
    "reason",
    "username",
    "password",
]


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=[r[1].name for r in PAGE_ROUTES])
def test_page_forms(staff_client, seeded, route):
    """Every page posted NUL (a 400 page) and over-long values (a form error or a redirect): never a 5xx."""
    text, entry, view, params = route
    url = _reverse(text, entry, {name: seeded["values"][name] for name in params})
    for field in FORM_FIELDS:
        response = staff_client.post(url, {field: NUL})
        assert_page(response, f"POST {url} {field}=NUL")
        assert response.status_code in (400, 403), f"POST {url} {field}=NUL: {response.status_code}"
        response = staff_client.post(url, {field: "support:" + LONG * 4})
        assert_page(response, f"POST {url} {field}=long")


def test_oversized_form_is_413(staff_client, seeded):
    url = reverse("accounts:account_nickname", kwargs={"type": seeded["values"]["type"], "account_id": LONG[:5]})
    response = staff_client.post(url, {"nickname": "x" * (2 * BODY_LIMIT)})
    assert response.status_code == 413
    assert str(BODY_LIMIT).encode() in response.content


def test_api_fault_for_nul_is_xml_when_asked(seeded):
    client = _api_client(seeded)
    response = client.get("/v1/customer_accounts/CLOUD/a%00b.xml")
    assert_fault(response, "xml", "suffix")
    assert b"NUL" in response.content


# --- digits that are not numbers -----------------------------------------------------------------


@pytest.mark.parametrize("account_id", ["²", "9" * 30])
def test_an_account_id_of_odd_digits_has_no_number(db, actor, account_id):
    """str.isdigit() is true of "²", which int() refuses, and of ids too long for the 64-bit number column."""
    from accounts import services
    from tests.factories import CustomerFactory

    account = services.account_create(actor=actor, customer=CustomerFactory(), type="CLOUD", account_id=account_id)
    assert account.number is None


@pytest.mark.parametrize("term", ["²", "9" * 30])
def test_admin_account_search_with_odd_digits(seeded, term):
    client = Client()
    client.force_login(seeded["user"])
    response = client.get(reverse("admin:accounts_account_changelist"), {"q": term})
    assert response.status_code == 200
