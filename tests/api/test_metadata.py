"""Metadata of an account: list, one entry, detail, PUT and DELETE, namespace policies, XML robustness."""

import pytest
from defusedxml.ElementTree import fromstring as safe_xml
from django.contrib.auth.models import Group

from metadata.models import Metadata
from tests.factories import AccountFactory, MetadataFactory, NamespaceFactory

from .conftest import META, client_for, xml

pytestmark = pytest.mark.django_db

BASE = "/v1/customer_accounts/CLOUD/10101/metadata"


@pytest.fixture
def account():
    account = AccountFactory(account_id="10101", tenant_id="t-1")
    MetadataFactory(account=account, key="support:level", value="navigator", created_by="svc", last_updated_by="adm")
    MetadataFactory(account=account, key="billing:somekey", value="a value billing cares about")
    return account


@pytest.fixture
def policies(account):
    """`secret` is read-restricted (readers: group auditors); `locked` is write-restricted (writers: group admins)."""
    auditors, admins = Group.objects.create(name="auditors"), Group.objects.create(name="admins")
    NamespaceFactory(name="secret", access="READ_RESTRICTED").readers.add(auditors)
    NamespaceFactory(name="locked", access="WRITE_RESTRICTED").writers.add(admins)
    MetadataFactory(account=account, key="secret:code", value="42")
    MetadataFactory(account=account, key="locked:tier", value="gold")
    return {"auditors": auditors, "admins": admins}


def test_list_json_and_xml(api, account):
    assert api.get(BASE).json() == {
        "metadata": {"billing:somekey": "a value billing cares about", "support:level": "navigator"}
    }
    root = xml(api.get(f"{BASE}.xml"))
    assert root.tag == f"{META}metadata"
    assert [(m.get("key"), m.text) for m in root.findall(f"{META}meta")] == [
        ("billing:somekey", "a value billing cares about"),
        ("support:level", "navigator"),
    ]


def test_entry_and_detail(api, account):
    assert api.get(f"{BASE}/support:level").json() == {"meta": {"support:level": "navigator"}}
    root = xml(api.get(f"{BASE}/support:level", HTTP_ACCEPT="application/xml"))
    assert root.tag == f"{META}meta" and root.get("key") == "support:level" and root.text == "navigator"
    detail = api.get(f"{BASE}/support:level/detail").json()
    assert detail["key"] == "support:level" and detail["value"] == "navigator"
    assert detail["createdBy"] == "svc" and detail["lastUpdatedBy"] == "adm"
    assert detail["createdDate"].endswith("Z")
    root = xml(api.get(f"{BASE}/support:level/detail.xml"))
    assert root.tag == f"{META}metadataDetail" and root.get("value") == "navigator" and root.get("createdBy") == "svc"


def test_missing_key_is_404(api, account):
    for path in (f"{BASE}/support:nope", f"{BASE}/support:nope/detail"):
        response = api.get(path)
        assert response.status_code == 404 and "notFound" in response.json()
    response = api.delete(f"{BASE}/support:nope")
    assert response.status_code == 404


def test_put_json_creates_then_replaces(api, staff, account):
    response = api.put(f"{BASE}/support:new", {"meta": {"name": "Some Value"}}, format="json")
    assert response.status_code == 204 and response.content == b""
    entry = Metadata.objects.get(account=account, key="support:new")
    assert entry.value == "Some Value" and entry.created_by == staff.username
    response = api.put(f"{BASE}/support:new", {"meta": {"support:new": "Other"}}, format="json")
    assert response.status_code == 204
    assert api.get(f"{BASE}/support:new").json() == {"meta": {"support:new": "Other"}}


def test_put_xml_body(api, account):
    body = '<meta xmlns="http://docs.rackspace.com/metadata/api">Some &amp; Value</meta>'
    response = api.put(f"{BASE}/support:x", body, content_type="application/xml")
    assert response.status_code == 204
    assert Metadata.objects.get(account=account, key="support:x").value == "Some & Value"


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("{not json", "application/json"),
        ('{"meta": "flat"}', "application/json"),
        ('{"meta": {"a": "1", "b": "2"}}', "application/json"),
        ('{"meta": {"a": 1}}', "application/json"),
        ('{"value": "x"}', "application/json"),
        ("<meta>unclosed", "application/xml"),
        ("<other xmlns='http://docs.rackspace.com/metadata/api'>x</other>", "application/xml"),
        (
            '<!DOCTYPE m [<!ENTITY e "boom">]><meta xmlns="http://docs.rackspace.com/metadata/api">&e;</meta>',
            "application/xml",
        ),
        ("", "application/xml"),
    ],
)
def test_put_bad_body_is_400(api, account, body, content_type):
    response = api.put(f"{BASE}/support:x", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["badRequest"]["code"] == 400
    assert not Metadata.objects.filter(key="support:x").exists()


def test_put_other_media_type_is_415(api, account):
    response = api.put(f"{BASE}/support:x", "value", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["unsupportedMediaType"]["code"] == 415


def test_put_invalid_key_is_400(api, account):
    response = api.put(f"{BASE}/nocolon", {"meta": {"k": "v"}}, format="json")
    assert response.status_code == 400


def test_delete(api, account):
    assert api.delete(f"{BASE}/support:level").status_code == 204
    assert not Metadata.objects.filter(account=account, key="support:level").exists()
    assert api.get(f"{BASE}/support:level").status_code == 404


def test_wrong_method_is_405(api, account):
    for response in (api.post(f"{BASE}/support:level", {}, format="json"), api.delete(BASE), api.patch(BASE, {})):
        assert response.status_code == 405
        assert response.json()["methodNotAllowed"]["code"] == 405
    root = xml(api.post(f"{BASE}.xml"))
    assert root.tag == "{http://customer.api.rackspace.com/v1}methodNotAllowed" and root.get("code") == "405"


# Namespace policies.


def test_read_restricted_absent_from_list_and_403_when_named(tenant, tenant_api, account, policies):
    assert set(tenant_api.get(BASE).json()["metadata"]) == {"billing:somekey", "support:level", "locked:tier"}
    for response in (
        tenant_api.get(f"{BASE}/secret:code"),
        tenant_api.get(f"{BASE}/secret:code/detail"),
        tenant_api.get(f"{BASE}/secret:absent"),  # 403 before existence: no probing
        tenant_api.put(f"{BASE}/secret:code", {"meta": {"k": "v"}}, format="json"),
        tenant_api.delete(f"{BASE}/secret:code"),
    ):
        assert response.status_code == 403
        assert response.json()["forbidden"]["code"] == 403
    assert Metadata.objects.get(key="secret:code").value == "42"
    tenant.groups.add(policies["auditors"])
    assert tenant_api.get(f"{BASE}/secret:code").json() == {"meta": {"secret:code": "42"}}
    assert "secret:code" in tenant_api.get(BASE).json()["metadata"]
    assert tenant_api.put(f"{BASE}/secret:code", {"meta": {"k": "v"}}, format="json").status_code == 403


def test_write_restricted_readable_by_all_writable_by_writers(tenant, tenant_api, account, policies):
    assert tenant_api.get(f"{BASE}/locked:tier").json() == {"meta": {"locked:tier": "gold"}}
    assert tenant_api.put(f"{BASE}/locked:tier", {"meta": {"k": "x"}}, format="json").status_code == 403
    assert tenant_api.delete(f"{BASE}/locked:tier").status_code == 403
    tenant.groups.add(policies["admins"])
    assert tenant_api.put(f"{BASE}/locked:tier", {"meta": {"k": "x"}}, format="json").status_code == 204
    assert Metadata.objects.get(key="locked:tier").value == "x"


def test_open_namespace_writable_by_tenant(tenant_api, account):
    assert tenant_api.put(f"{BASE}/support:mine", {"meta": {"k": "v"}}, format="json").status_code == 204
    detail = tenant_api.get(f"{BASE}/support:mine/detail").json()
    assert detail["createdBy"] == "api-tenant"


# XML robustness: stored text never becomes markup and never breaks the document.

# (stored text, the text an XML parser reads back). NUL is left out: PostgreSQL cannot store it
# (the renderer's handling of it is tested in test_formats.py).
NASTY = [
    ("<b>&amp;\"'", "<b>&amp;\"'"),
    ("tab\there\nnew", "tab\there\nnew"),
    ("ctl\x01\x08\x0b\x1f\x7f", "ctl\ufffd\ufffd\ufffd\ufffd\x7f"),
    ("emoji 🎉 ünïcødé", "emoji 🎉 ünïcødé"),
    ("]]>", "]]>"),
    ("\ufffe\uffff", "\ufffd\ufffd"),
]


@pytest.mark.parametrize("value,expected", NASTY)
def test_xml_never_breaks_on_stored_text(api, account, value, expected):
    key = "support:" + "k<&\"'>]]>🎉"
    MetadataFactory(account=account, key=key, value=value)
    account.nickname = value
    account.save()
    responses = [
        api.get(f"{BASE}.xml"),
        api.get(f"{BASE}/{key}.xml"),
        api.get("/v1/customer_accounts/CLOUD/10101.xml"),
        api.get("/v1/customer_accounts.xml"),
    ]
    for response in responses:
        assert response.status_code == 200
        root = safe_xml(response.content)  # well-formed
        for element in root.iter():
            assert element.tag.split("}")[1] in {"metadata", "meta", "customerAccount", "customerAccounts", "link"}
    metas = {m.get("key"): m.text for m in safe_xml(responses[0].content)}
    assert metas[key] == expected
    one = safe_xml(responses[1].content)
    assert (one.get("key"), one.text) == (key, expected)
    assert safe_xml(responses[2].content).get("nickname") == expected
    # JSON carries the text unchanged.
    assert api.get(BASE).json()["metadata"][key] == value


def test_key_with_slash_and_suffix_like_ending(api, account):
    assert api.put(f"{BASE}/support:a/b", {"meta": {"k": "slash"}}, format="json").status_code == 204
    assert api.get(f"{BASE}/support:a/b").json() == {"meta": {"support:a/b": "slash"}}
    assert api.put(f"{BASE}/support:file.json.json", {"meta": {"k": "j"}}, format="json").status_code == 204
    assert Metadata.objects.filter(key="support:file.json").exists()
    assert api.get(f"{BASE}/support:file.json.xml").content.startswith(b"<?xml")


def test_session_write_needs_csrf(staff, account):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.get(BASE).status_code == 200  # staff may browse with their session
    response = client.put(f"{BASE}/support:x", {"meta": {"k": "v"}}, format="json")
    assert response.status_code == 403 and "forbidden" in response.json()


def test_token_of_other_user_writes_as_that_user(db, account):
    from tests.factories import UserFactory

    user = UserFactory(username="writer", is_staff=True, view_all=True)
    assert client_for(user).put(f"{BASE}/support:w", {"meta": {"k": "v"}}, format="json").status_code == 204
    assert Metadata.objects.get(key="support:w").last_updated_by == "writer"
