"""Accounts: the list, one account, its three trails, filters and the tenant line, in JSON and XML."""

import pytest

from accounts import services
from accounts.choices import AccountType
from cmsportal.identity.access import Actor
from tests.factories import (
    AccountFactory,
    AccountHistoryFactory,
    CustomerFactory,
    MetadataFactory,
    NamespaceFactory,
    RCNChangeFactory,
    StatusChangeFactory,
)

from .conftest import ATOM, CMS, links, xml, xml_links

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    return {
        "cloud": AccountFactory(type="CLOUD", account_id="10101", tenant_id="t-1", domain="d1", nickname="MyRack"),
        "cloud2": AccountFactory(type="CLOUD", account_id="RAN2823", tenant_id="t-2", domain="d2"),
        "mh": AccountFactory(type="MANAGED_HOSTING", account_id="5342823", tenant_id="t-1", domain="dedicated:1"),
        "faws": AccountFactory(type="FANATICAL_SUPPORT_FOR_AWS", account_id="77", tenant_id="t-3", domain="d1"),
    }


def ids(body):
    return [f"{a['type']}:{a['id']}" for a in body["customerAccount"]]


def test_list_json_orders_by_type_and_id_with_via_links(api, accounts):
    response = api.get("/v1/customer_accounts")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert ids(body) == ["CLOUD:10101", "CLOUD:RAN2823", "FANATICAL_SUPPORT_FOR_AWS:77", "MANAGED_HOSTING:5342823"]
    first = body["customerAccount"][0]
    assert first["link"] == [{"rel": "via", "href": "http://testserver/v1/customer_accounts/CLOUD/10101"}]
    assert first["nickname"] == "MyRack" and first["number"] == 10101 and first["tenantId"] == "t-1"
    assert "parentAccountNumber" not in first  # absent values are omitted, never null
    assert set(links(body)) == {"CURRENT", "SELF", "LAST"}


def test_list_xml(api, accounts):
    root = xml(api.get("/v1/customer_accounts", HTTP_ACCEPT="application/xml"))
    assert root.tag == f"{CMS}customerAccounts"
    items = root.findall(f"{CMS}customerAccount")
    assert [(a.get("type"), a.get("id")) for a in items][:2] == [("CLOUD", "10101"), ("CLOUD", "RAN2823")]
    assert items[0].find(f"{ATOM}link").attrib == {
        "rel": "via",
        "href": "http://testserver/v1/customer_accounts/CLOUD/10101",
    }
    assert items[0].get("number") == "10101"
    assert set(xml_links(root)) == {"current", "self", "last"}  # lower case in XML


def test_detail_json_and_xml_and_case_insensitive_type(api, accounts):
    body = api.get("/v1/customer_accounts/cloud/10101").json()
    assert body["id"] == "10101" and body["type"] == "CLOUD" and body["rcn"] == accounts["cloud"].customer.rcn
    assert "link" not in body
    for path, kwargs in (
        ("/v1/customer_accounts/Cloud/10101.xml", {}),
        ("/v1/customer_accounts/CLOUD/10101", {"HTTP_ACCEPT": "application/xml"}),
    ):
        root = xml(api.get(path, **kwargs))
        assert root.tag == f"{CMS}customerAccount"
        assert root.get("id") == "10101" and root.get("nickname") == "MyRack" and root.get("type") == "CLOUD"
        assert list(root) == []


def test_json_suffix_beats_accept(api, accounts):
    response = api.get("/v1/customer_accounts/CLOUD/10101.json", HTTP_ACCEPT="application/xml")
    assert response["Content-Type"] == "application/json"
    assert response.json()["id"] == "10101"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customer_accounts/CLOUD/999",
        "/v1/customer_accounts/NOPE/10101",
        "/v1/customer_accounts/CLOUD/999/status_history",
        "/v1/customer_accounts/CLOUD/999/history",
        "/v1/customer_accounts/CLOUD/999/customer_history",
        "/v1/customer_accounts/CLOUD/999/metadata",
        "/v1/customer_accounts/CLOUD/999/contacts",
    ],
)
def test_unknown_account_or_type_is_404(api, accounts, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["notFound"]["code"] == 404


def test_filter_account_type(api, accounts):
    assert ids(api.get("/v1/customer_accounts?accountType=managed_hosting").json()) == ["MANAGED_HOSTING:5342823"]
    response = api.get("/v1/customer_accounts?accountType=BOGUS")
    assert response.status_code == 400
    assert "'BOGUS'" in response.json()["badRequest"]["message"]


def test_filter_domain_is_exact(api, accounts):
    assert ids(api.get("/v1/customer_accounts?domain=d1").json()) == ["CLOUD:10101", "FANATICAL_SUPPORT_FOR_AWS:77"]
    assert ids(api.get("/v1/customer_accounts?domain=d").json()) == []


def test_filter_metadata_key_and_value(api, accounts):
    MetadataFactory(account=accounts["cloud"], key="support:level", value="navigator")
    MetadataFactory(account=accounts["mh"], key="support:level", value="intensive")
    MetadataFactory(account=accounts["faws"], key="billing:x", value="navigator")
    assert ids(api.get("/v1/customer_accounts?metadataKey=support:level").json()) == [
        "CLOUD:10101",
        "MANAGED_HOSTING:5342823",
    ]
    assert ids(api.get("/v1/customer_accounts?metadataKey=support:level&metadataValue=intensive").json()) == [
        "MANAGED_HOSTING:5342823"
    ]
    response = api.get("/v1/customer_accounts?metadataValue=navigator")
    assert response.status_code == 400
    assert "metadataKey" in response.json()["badRequest"]["message"]


def test_filters_are_kept_in_links(api, accounts):
    body = api.get("/v1/customer_accounts?domain=d1&limit=1&unknown=x").json()
    assert ids(body) == ["CLOUD:10101"]
    assert links(body)["NEXT"] == (
        "http://testserver/v1/customer_accounts?domain=d1&limit=1&marker=FANATICAL_SUPPORT_FOR_AWS%3A77&direction=forward"
    )
    assert "unknown" not in links(body)["CURRENT"]


def test_unknown_query_parameters_are_ignored(api, accounts):
    # tenantId is a staff-page filter of the same FilterSet, not an API parameter.
    assert len(api.get("/v1/customer_accounts?tenantId=t-2&bogus=1").json()["customerAccount"]) == 4


def test_filter_on_unreadable_namespace_is_403(tenant_api, accounts):
    NamespaceFactory(name="secret", access="READ_RESTRICTED")
    response = tenant_api.get("/v1/customer_accounts?metadataKey=secret:x")
    assert response.status_code == 403
    assert response.json()["forbidden"]["code"] == 403


# The tenant line.


def test_staff_sees_all_tenant_sees_granted_only(api, tenant_api, accounts):
    assert len(api.get("/v1/customer_accounts").json()["customerAccount"]) == 4
    assert ids(tenant_api.get("/v1/customer_accounts").json()) == ["CLOUD:10101", "MANAGED_HOSTING:5342823"]


def test_user_without_grants_sees_nothing(db, accounts):
    from tests.factories import UserFactory

    from .conftest import client_for

    body = client_for(UserFactory(username="nobody")).get("/v1/customer_accounts").json()
    assert body["customerAccount"] == []


@pytest.mark.parametrize(
    "suffix",
    ["", "/status_history", "/customer_history", "/history", "/metadata", "/metadata/support:x", "/contacts"],
)
def test_other_tenants_account_and_everything_under_it_is_404(tenant_api, api, accounts, suffix):
    MetadataFactory(account=accounts["cloud2"], key="support:x", value="v")
    path = f"/v1/customer_accounts/CLOUD/RAN2823{suffix}"
    assert api.get(path).status_code == 200
    response = tenant_api.get(path)
    assert response.status_code == 404
    missing = tenant_api.get(f"/v1/customer_accounts/CLOUD/NOSUCH{suffix}")
    assert response.json()["notFound"]["message"].replace("RAN2823", "X") == missing.json()["notFound"][
        "message"
    ].replace("NOSUCH", "X")


def test_tenant_cannot_write_metadata_of_other_tenant(tenant_api, accounts):
    response = tenant_api.put(
        "/v1/customer_accounts/CLOUD/RAN2823/metadata/support:x", {"meta": {"k": "v"}}, format="json"
    )
    assert response.status_code == 404
    assert not accounts["cloud2"].metadata.exists()


# Trails.


@pytest.fixture
def trails(accounts):
    account = accounts["cloud"]
    from datetime import UTC, datetime

    for day, status in ((1, "Active"), (3, "Suspended"), (2, "Delinquent")):
        StatusChangeFactory(account=account, date=datetime(2012, 1, day, tzinfo=UTC), status=status)
    for change in ("NEW", "COLLECTIONS_STATUS", "NICKNAME", "COLLECTIONS_STATUS"):
        AccountHistoryFactory(account=account, change_type=change)
    for change in ("NEW", "RCN_UPDATE", "MERGE"):
        RCNChangeFactory(account=account, change_type=change)
    return account


def test_status_history_newest_first_both_spellings(api, trails):
    for base in ("/v1/customer_accounts", "/v1/customer_account"):
        body = api.get(f"{base}/CLOUD/10101/status_history").json()
        assert [c["status"] for c in body["statusChange"]] == ["Suspended", "Delinquent", "Active"]
        assert "link" not in body
    root = xml(api.get("/v1/customer_account/CLOUD/10101/status_history.xml"))
    assert root.tag == f"{CMS}customerAccountStatusChanges"
    assert [c.get("status") for c in root.findall(f"{CMS}statusChange")] == ["Suspended", "Delinquent", "Active"]


def test_status_history_limit_offset_and_next(api, trails):
    body = api.get("/v1/customer_accounts/CLOUD/10101/status_history?limit=2").json()
    assert [c["status"] for c in body["statusChange"]] == ["Suspended", "Delinquent"]
    assert links(body) == {"next": "http://testserver/v1/customer_accounts/CLOUD/10101/status_history?limit=2&offset=2"}
    body = api.get("/v1/customer_accounts/CLOUD/10101/status_history?limit=2&offset=2").json()
    assert [c["status"] for c in body["statusChange"]] == ["Active"]
    assert "link" not in body
    assert api.get("/v1/customer_accounts/CLOUD/10101/status_history?offset=-1").status_code == 400
    assert api.get("/v1/customer_accounts/CLOUD/10101/status_history?limit=x").status_code == 400


def test_customer_history_oldest_first(api, trails):
    body = api.get("/v1/customer_accounts/CLOUD/10101/customer_history").json()
    assert [c["accountChangeType"] for c in body["accountRCNChange"]] == ["NEW", "RCN_UPDATE", "MERGE"]
    root = xml(api.get("/v1/customer_accounts/CLOUD/10101/customer_history.xml"))
    assert root.tag == f"{CMS}accountRCNChanges"
    assert [c.get("accountChangeType") for c in root.findall(f"{CMS}accountRCNChange")] == [
        "NEW",
        "RCN_UPDATE",
        "MERGE",
    ]


def test_history_and_change_type_filter(api, trails):
    body = api.get("/v1/customer_accounts/CLOUD/10101/history").json()
    assert [h["accountChangeType"] for h in body["customerAccountHistory"]] == [
        "NEW",
        "COLLECTIONS_STATUS",
        "NICKNAME",
        "COLLECTIONS_STATUS",
    ]
    body = api.get("/v1/customer_accounts/CLOUD/10101/history?changeType=collections_status&limit=1").json()
    assert [h["accountChangeType"] for h in body["customerAccountHistory"]] == ["COLLECTIONS_STATUS"]
    assert links(body)["next"].endswith("history?changeType=collections_status&limit=1&offset=1")
    response = api.get("/v1/customer_accounts/CLOUD/10101/history?changeType=WHATEVER")
    assert response.status_code == 400
    assert response.json()["badRequest"]["details"] == "changeType"


def test_history_written_by_services_with_actors_in_xml(api, db):
    actor = Actor("racker1", "RACKER")
    account = services.account_create(
        actor=actor, customer=CustomerFactory(rcn="RCN-000-000-001"), type=AccountType.CLOUD, account_id="4242"
    )
    services.account_move(
        account=account,
        actor=actor,
        customer=CustomerFactory(rcn="RCN-000-000-002"),
        destination_actor=Actor("xyz123", "RACKER"),
    )
    body = api.get("/v1/customer_accounts/CLOUD/4242/history").json()
    move = body["customerAccountHistory"][1]
    assert move["accountChangeType"] == "RCN_UPDATE"
    assert move["updatedBy"] == {"username": "racker1", "type": "RACKER"}
    assert move["destinationUpdatedBy"] == {"username": "xyz123", "type": "RACKER"}
    root = xml(api.get("/v1/customer_accounts/CLOUD/4242/history.xml"))
    entry = root.findall(f"{CMS}customerAccountHistory")[1]
    assert entry.get("rcn") == "RCN-000-000-002"
    assert entry.find(f"{CMS}updatedBy").attrib == {"username": "racker1", "type": "RACKER"}
    assert entry.find(f"{CMS}destinationUpdatedBy").attrib == {"username": "xyz123", "type": "RACKER"}
    rcn = api.get("/v1/customer_accounts/CLOUD/4242/customer_history").json()["accountRCNChange"]
    assert [(c["accountChangeType"], c["rcn"]) for c in rcn] == [
        ("NEW", "RCN-000-000-001"),
        ("RCN_UPDATE", "RCN-000-000-002"),
    ]
