"""The OpenAPI description (/v1/openapi.json) and the interactive reference (/v1/docs)."""

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/v1/customer_accounts", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/status_history", "get"),
    ("/v1/customer_account/{accountType}/{accountId}/status_history", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/customer_history", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/history", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/metadata", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/metadata/{key}", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/metadata/{key}", "put"),
    ("/v1/customer_accounts/{accountType}/{accountId}/metadata/{key}", "delete"),
    ("/v1/customer_accounts/{accountType}/{accountId}/metadata/{key}/detail", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/contacts", "get"),
    ("/v1/customer_accounts/{accountType}/{accountId}/contacts/{contactNumber}", "get"),
    ("/v1/changes", "get"),
}


@pytest.fixture
def spec(anonymous):
    response = anonymous.get("/v1/openapi.json", HTTP_ACCEPT="text/html")  # readable without a token, any Accept
    assert response.status_code == 200
    return response.json()


def test_every_operation_is_described(spec):
    described = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert described >= OPERATIONS
    assert not any(path.endswith(".{format}") or "{format}" in path for path in spec["paths"])


def test_both_media_types_and_faults(spec):
    account = spec["paths"]["/v1/customer_accounts/{accountType}/{accountId}"]["get"]
    assert set(account["responses"]["200"]["content"]) == {"application/json", "application/xml"}
    assert {"401", "404", "406"} <= set(account["responses"])
    fault = account["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "notFound" in spec["components"]["schemas"][fault]["properties"]
    put = spec["paths"]["/v1/customer_accounts/{accountType}/{accountId}/metadata/{key}"]["put"]
    assert set(put["requestBody"]["content"]) == {"application/json", "application/xml"}
    assert {"204", "400", "403", "415"} <= set(put["responses"])


def test_parameters(spec):
    listing = spec["paths"]["/v1/customer_accounts"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"accountType", "domain", "metadataKey", "metadataValue", "marker", "limit", "offset", "direction"} <= names
    contacts = spec["paths"]["/v1/customer_accounts/{accountType}/{accountId}/contacts"]["get"]
    assert {"role", "username", "emailAddress", "accountType", "accountId"} <= {
        p["name"] for p in contacts["parameters"]
    }
    history = spec["paths"]["/v1/customer_accounts/{accountType}/{accountId}/history"]["get"]
    assert "changeType" in {p["name"] for p in history["parameters"]}


def test_change_feed(spec):
    """JSON, XML and Atom; every filter of the change log and the marker paging; its faults."""
    feed = spec["paths"]["/v1/changes"]["get"]
    assert set(feed["responses"]["200"]["content"]) == {"application/json", "application/xml", "application/atom+xml"}
    names = {p["name"] for p in feed["parameters"]}
    filters = {"objectType", "action", "key", "rcn", "account", "actor", "q", "since", "until"}
    assert filters | {"marker", "limit", "offset", "direction"} == names
    assert {"400", "401", "406"} <= set(feed["responses"])
    assert feed["security"]  # a token (or a session), like every other /v1/ path
    change = spec["components"]["schemas"]["Change"]
    assert {"id", "time", "requestId", "actor", "objectType", "objectKey", "action", "before", "after"} <= set(
        change["properties"]
    )


def test_token_security_scheme(spec):
    schemes = spec["components"]["securitySchemes"]
    token = next(s for s in schemes.values() if s.get("name") == "X-Auth-Token")
    assert token["type"] == "apiKey" and token["in"] == "header"
    name = next(k for k, s in schemes.items() if s is token)
    assert {name: []} in spec["paths"]["/v1/customer_accounts"]["get"]["security"]


def test_docs_page_uses_own_static_files(anonymous):
    response = anonymous.get("/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/v1/openapi.json" in page
    assert "cdn." not in page and "unpkg" not in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_parameters_and_bodies_are_tight(spec):
    """limit and offset have their bounds; no `format` parameter (the suffix or Accept chooses); the token body and the
    413/414 answers are described."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            names = {p["name"]: p for p in operation.get("parameters", [])}
            assert "format" not in names, (path, method)
            if "limit" in names:
                assert names["limit"]["schema"]["minimum"] == 1
                assert names["offset"]["schema"]["minimum"] == 0
                assert names["offset"]["schema"]["maximum"] >= 10**12
            assert "414" in operation["responses"], (path, method)
            if "requestBody" in operation:
                assert "413" in operation["responses"], (path, method)
    tokens = spec["paths"]["/v2.0/tokens"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert tokens["required"] == ["auth"]
    kinds = [set(option["properties"]) for option in tokens["properties"]["auth"]["oneOf"]]
    assert kinds == [{"passwordCredentials"}, {"RAX-KSKEY:apiKeyCredentials"}]
