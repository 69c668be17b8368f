"""Renderers, parsers, negotiation and faults: the machinery every resource shares."""

import io
import json

import pytest
from defusedxml.ElementTree import fromstring as safe_xml
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from rest_framework import exceptions

from cmsportal.api.faults import FaultMiddleware, exception_handler
from cmsportal.api.negotiation import choose, parse_accept
from cmsportal.api.parsers import CMSXMLParser
from cmsportal.api.renderers import (
    ATOM_NS,
    CUSTOMER_NS,
    FAULT,
    METADATA_NS,
    CMSJSONRenderer,
    CMSXMLRenderer,
    Element,
    KeyedEntries,
    xml_document,
)
from tests.factories import AccountFactory

from .conftest import CMS, xml

# Units.


def test_xml_document_namespaces_attributes_and_links():
    shape = Element("customerAccount", children={"updatedBy": Element("updatedBy")})
    data = {
        "id": "1",
        "flag": True,
        "off": False,
        "none": None,
        "updatedBy": {"username": "u"},
        "link": [{"rel": "VIA", "href": "h"}],
    }
    root = safe_xml(xml_document(data, shape))
    assert root.tag == f"{{{CUSTOMER_NS}}}customerAccount"
    assert root.attrib == {"id": "1", "flag": "true", "off": "false"}
    assert root.find(f"{{{CUSTOMER_NS}}}updatedBy").get("username") == "u"
    assert root.find(f"{{{ATOM_NS}}}link").attrib == {"rel": "via", "href": "h"}


def test_xml_replaces_characters_xml_cannot_carry():
    shape = KeyedEntries("metadata", "metadata", "meta")
    content = xml_document({"metadata": {"a:\x00b": "x\x00y\x1b\ud800z"}}, shape)
    root = safe_xml(content)
    assert root.tag == f"{{{METADATA_NS}}}metadata"
    (meta,) = root
    assert meta.get("key") == "a:\ufffdb" and meta.text == "x\ufffdy\ufffd\ufffdz"


def test_undeclared_nested_values_never_become_element_names():
    with pytest.raises(TypeError):
        xml_document({"id": "1", "ns:key": {"x": "y"}}, Element("customerAccount"))


def test_renderers_render_nothing_for_no_content():
    assert CMSXMLRenderer().render(None) == b""
    assert CMSJSONRenderer().render(None) == b""


@pytest.mark.parametrize(
    "accept,expected",
    [
        (None, "json"),
        ("", "json"),
        ("*/*", "json"),
        ("application/json", "json"),
        ("application/xml", "xml"),
        ("text/xml", "xml"),
        ("application/*", "json"),
        ("application/json;q=0.5, application/xml", "xml"),
        ("application/xml;q=0, */*", "json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "xml"),
        ("text/html", None),
        ("application/json;q=0, application/xml;q=0", None),
    ],
)
def test_choose_renderer(accept, expected):
    chosen = choose([CMSJSONRenderer(), CMSXMLRenderer()], accept)
    assert (chosen.format if chosen else None) == expected


def test_suffix_overrides_accept():
    assert choose([CMSJSONRenderer(), CMSXMLRenderer()], "text/html", "xml").format == "xml"
    assert parse_accept("application/xml;q=abc") == [("application/xml", 0.0)]


def test_xml_parser_refuses_entities_and_external_references():
    parser = CMSXMLParser()
    bomb = b'<!DOCTYPE m [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><meta>&b;</meta>'
    external = b'<!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]><meta>&e;</meta>'
    for body in (bomb, external):
        with pytest.raises(exceptions.ParseError):
            parser.parse(io.BytesIO(body))
    parsed = parser.parse(io.BytesIO(f'<meta xmlns="{METADATA_NS}" key="a:b">v</meta>'.encode()))
    assert parsed == {"meta": {"a:b": "v"}}


@pytest.mark.parametrize(
    "exc,status,name",
    [
        (exceptions.ParseError("bad"), 400, "badRequest"),
        (ValidationError({"limit": "bad limit"}), 400, "badRequest"),
        (exceptions.NotAuthenticated(), 401, "unauthorized"),
        (PermissionDenied("no"), 403, "forbidden"),
        (Http404("gone"), 404, "notFound"),
        (exceptions.MethodNotAllowed("POST"), 405, "methodNotAllowed"),
        (exceptions.NotAcceptable(), 406, "notAcceptable"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "unsupportedMediaType"),
        (exceptions.Throttled(wait=2.5), 413, "overLimit"),
        (RuntimeError("secret internals"), 500, "internalServerError"),
    ],
)
def test_exception_handler_maps_every_error_to_a_fault(exc, status, name):
    response = exception_handler(exc, {})
    assert response.status_code == status
    assert response.data[name]["code"] == status
    assert "secret internals" not in str(response.data)
    if status == 413:
        assert response["Retry-After"] == "3"
    root = safe_xml(xml_document(response.data, FAULT))
    assert root.tag == f"{{{CUSTOMER_NS}}}{name}" and root.get("code") == str(status)
    assert root.find(f"{{{CUSTOMER_NS}}}message").text


def test_middleware_turns_escaping_exceptions_and_html_errors_into_faults():
    factory = RequestFactory()
    middleware = FaultMiddleware(lambda request: HttpResponse("<h1>Server Error</h1>", status=500))
    response = middleware(factory.get("/v1/customer_accounts.xml"))
    root = safe_xml(response.content)
    assert response.status_code == 500 and root.tag == f"{{{CUSTOMER_NS}}}internalServerError"
    response = middleware.process_exception(factory.get("/v2.0/tokens"), RuntimeError("boom"))
    assert response.status_code == 500 and b"boom" not in response.content
    assert json.loads(response.content)["internalServerError"]["code"] == 500
    # Staff pages keep their own error pages.
    assert middleware(factory.get("/accounts/")).content == b"<h1>Server Error</h1>"
    assert middleware.process_exception(factory.get("/accounts/"), RuntimeError()) is None


# Through the stack.


@pytest.mark.django_db
def test_406_when_accept_allows_neither(api):
    response = api.get("/v1/customer_accounts", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["notAcceptable"]["code"] == 406


@pytest.mark.django_db
def test_401_without_or_with_bad_token_json_and_xml(anonymous):
    for kwargs in ({}, {"HTTP_X_AUTH_TOKEN": "nonsense"}):
        response = anonymous.get("/v1/customer_accounts", **kwargs)
        assert response.status_code == 401
        assert response["WWW-Authenticate"]
        assert response.json()["unauthorized"]["code"] == 401
    response = anonymous.get("/v1/customer_accounts/CLOUD/1/metadata.xml", HTTP_X_AUTH_TOKEN="nonsense")
    assert response.status_code == 401 and response["WWW-Authenticate"]
    assert xml(response).tag == f"{CMS}unauthorized"


@pytest.mark.django_db
def test_revoked_token_is_401(staff):
    from rest_framework.test import APIClient

    from cmsportal.identity import services as identity

    token, plaintext = identity.token_issue(staff, [identity.PASSWORD])
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=plaintext)
    assert client.get("/v1/customer_accounts").status_code == 200
    identity.token_revoke(token)
    assert client.get("/v1/customer_accounts").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/v1/nothing", "/v1/customer_accounts/", "/v1/customer_accounts/CLOUD", "/v1/", "/v2.0/nothing"]
)
def test_unknown_paths_are_404_faults_never_html(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["notFound"]["code"] == 404


@pytest.mark.django_db
def test_unknown_path_xml(api):
    root = xml(api.get("/v1/nothing.xml"))
    assert root.tag == f"{CMS}notFound" and root.get("code") == "404"
    root = xml(api.get("/v2.0/nothing", HTTP_ACCEPT="application/xml"))
    assert root.tag == f"{CMS}notFound"


@pytest.mark.django_db
def test_options_and_post_are_405(api):
    AccountFactory(account_id="1")
    for method in ("options", "post", "put", "delete"):
        response = getattr(api, method)("/v1/customer_accounts/CLOUD/1")
        assert response.status_code == 405, method
        assert response.json()["methodNotAllowed"]["code"] == 405


@pytest.mark.django_db
def test_unexpected_exception_is_500_fault_without_traceback(api, monkeypatch, caplog):
    AccountFactory(account_id="1")

    def explode(account):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("accounts.api.views.account_to_dict", explode)
    response = api.get("/v1/customer_accounts/CLOUD/1.xml")
    assert response.status_code == 500
    assert xml(response).tag == f"{CMS}internalServerError"
    assert b"hunter2" not in response.content and b"Traceback" not in response.content
    assert "hunter2" in caplog.text  # logged for the operators


@pytest.mark.django_db
def test_token_from_v2_tokens_opens_v1(anonymous, staff):
    staff.set_password("s3cret-passphrase")
    staff.save()
    body = {"auth": {"passwordCredentials": {"username": staff.username, "password": "s3cret-passphrase"}}}
    response = anonymous.post("/v2.0/tokens", body, format="json")
    assert response.status_code == 200
    token = response.json()["access"]["token"]["id"]
    response = anonymous.get("/v1/customer_accounts", HTTP_X_AUTH_TOKEN=token)
    assert response.status_code == 200 and "customerAccount" in response.json()


class _PlainView:
    plain_json = True


class _OtherView:
    pass


# Every character class JSON escapes or not: controls, quotes, backslash, DEL, non-ASCII, the line separators
# DRF escapes, a character outside the BMP.
_TRICKY = "".join(chr(c) for c in range(0, 0x80)) + "é€\u2028x\u2029\U0001f600\ufffd"
_PLAIN_DOCUMENTS = [
    {"customerAccounts": [{"id": "1", "name": _TRICKY, "n": 2**63 - 1, "m": -(2**63), "ok": True, "no": None}]},
    [{"link": [{"rel": "SELF", "href": "http://testserver/v1/x%20y"}]}, [], {}, 0, False, "\u2028"],
    {"": "", 'k\u2029"\\': [[[]]]},
]


@pytest.mark.parametrize("data", _PLAIN_DOCUMENTS)
def test_plain_documents_render_byte_for_byte_as_drf_renders_them(data):
    from rest_framework.renderers import JSONRenderer

    drf = JSONRenderer()
    drf.ensure_ascii = False
    expected = drf.render(data)
    assert b"\\u2028" in expected or "\u2028" not in json.dumps(data)  # DRF's escape is part of what is compared
    assert CMSJSONRenderer().render(data, "application/json", {"view": _PlainView()}) == expected


@pytest.mark.parametrize(
    "data",
    [
        {"value": 1e-05},  # orjson would write 0.00001
        {"value": 2**64},  # past orjson's integers
        {"value": "\ud800"},  # a lone surrogate: UnicodeEncodeError from DRF, as before
    ],
)
def test_other_documents_render_as_drf_renders_them(data):
    from rest_framework.renderers import JSONRenderer

    drf = JSONRenderer()
    drf.ensure_ascii = False
    try:
        expected = drf.render(data)
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            CMSJSONRenderer().render(data, "application/json", {"view": _PlainView()})
        return
    assert CMSJSONRenderer().render(data, "application/json", {"view": _OtherView()}) == expected
    if isinstance(data["value"], int):
        assert CMSJSONRenderer().render(data, "application/json", {"view": _PlainView()}) == expected


def test_a_plain_view_still_honours_an_indent():
    rendered = CMSJSONRenderer().render({"a": [1]}, "application/json; indent=2", {"view": _PlainView()})
    assert rendered == b'{\n  "a": [\n    1\n  ]\n}'


@pytest.mark.django_db
def test_api_lists_render_as_drf_renders_them(api):
    from rest_framework.renderers import JSONRenderer

    AccountFactory(account_id="1", name='Zoë \u2028 "quoted" \\ 𝄞')
    body = api.get("/v1/customer_accounts").content
    drf = JSONRenderer()
    drf.ensure_ascii = False
    assert b"\\u2028" in body
    assert body == drf.render(json.loads(body))


def test_no_route_outside_the_api_answers_a_path_under_v1_or_v2():
    """cmsportal/urls.py tries the API's routes first: that changes nothing only while no other route could answer
    a path under /v1/ or /v2.0/ (the API's catch-all would now take it)."""
    from django.urls import URLResolver, get_resolver

    def routes(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from routes(pattern.url_patterns, route)
            else:
                yield route

    api = [p for p in get_resolver().url_patterns if str(p.pattern) in ("v1/", "v2.0/")]
    others = [route for route in routes(p for p in get_resolver().url_patterns if p not in api)]
    assert len(others) > 30 and "accounts/<str:type>/<str:account_id>/" in others
    for route in others:
        assert not route.startswith(("v1", "v2", "<", "^")), route
