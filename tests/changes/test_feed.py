"""GET /v1/changes: formats, paging both ways, filters, tenant scope, redaction, authentication and cost."""

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml.ElementTree import fromstring
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmsportal import dates
from cmsportal.changes.access import REDACTED
from cmsportal.changes.api.atom import EMPTY_UPDATED, entry_id, entry_title
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.filtersets import ChangeFilterSet
from cmsportal.changes.models import ACCOUNT_KEYED, Change
from cmsportal.identity.access import Actor
from metadata.choices import Access
from tests.api.conftest import ATOM, CMS, client_for, links, xml
from tests.auth_cost import authentication_queries
from tests.factories import AccountFactory, NamespaceFactory, TenantGrantFactory, UserFactory

from .feed_records import record

# Transactional: on PostgreSQL the feed shows only committed changes of finished transactions (below the
# horizon), never those of a test transaction still open.
pytestmark = pytest.mark.django_db(transaction=True)

URL = "/v1/changes"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    return UserFactory(username="feed-staff", is_staff=True, view_all=True)


@pytest.fixture
def api(staff):
    client = client_for(staff)
    Change.objects.all().delete()  # issuing its token is a change too: each test starts from an empty log
    return client


def ids(body) -> list[str]:
    return [change["id"] for change in body["change"]]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver"
    return parts.path + ("?" + parts.query if parts.query else "")


@pytest.fixture
def many():
    """25 account changes; their ids, newest first."""
    made = [record(object_key=f"CLOUD/{n}", account_key=f"CLOUD/{n}") for n in range(25)]
    return [str(change.id) for change in reversed(made)]


# --- formats --------------------------------------------------------------------------------------


def test_json_lists_changes_newest_first_as_change_to_dict(api, many):
    response = api.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert ids(body) == many[:25]
    first = body["change"][0]
    change = Change.objects.get(pk=int(first["id"]))
    assert first == {
        "id": str(change.id),
        "time": dates.format_date(change.time),
        "requestId": str(change.request_id),
        "actor": {"username": "writer", "type": "RACKER"},
        "objectType": "account",
        "objectKey": "CLOUD/24",
        "action": "update",
        "rcn": "RCN-000-000-001",
        "account": "CLOUD/24",
        "before": {"status": "Active"},
        "after": {"status": "Suspended"},
    }
    assert set(links(body)) == {"current", "self", "last"}  # one page: nothing newer, nothing older


def _atom(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    root = fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


@pytest.mark.parametrize("how", ["accept", "suffix"])
def test_atom_feed_has_the_cloud_feeds_elements(api, many, how):
    limit = 10
    if how == "accept":
        response = api.get(f"{URL}?limit={limit}", HTTP_ACCEPT="application/atom+xml")
    else:
        response = api.get(f"{URL}.atom?limit={limit}", HTTP_ACCEPT="application/json")
    root = _atom(response)
    body = api.get(f"{URL}?limit={limit}").json()
    feed_links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert set(feed_links) == {"current", "self", "next", "last"}
    assert {rel: href.replace(".atom", "") for rel, href in feed_links.items() if rel != "self"} == {
        link["rel"]: link["href"] for link in body["link"] if link["rel"] != "self"
    }
    assert root.find(f"{ATOM}id").text.startswith("urn:uuid:")
    assert root.find(f"{ATOM}title").text
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == limit
    for entry, change in zip(entries, body["change"], strict=True):
        assert entry.find(f"{ATOM}id").text == entry_id(change["id"])
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", entry.find(f"{ATOM}id").text)
        assert entry.find(f"{ATOM}title").text == f"account {change['objectKey']} updated"
        assert entry.find(f"{ATOM}author/{ATOM}name").text == "writer"
        assert entry.find(f"{ATOM}updated").text == change["time"]
        terms = {category.get("term") for category in entry.findall(f"{ATOM}category")}
        assert terms == {"objectType:account", "action:update"}
        content = entry.find(f"{ATOM}content")
        assert content.get("type") == "application/json"
        assert json.loads(content.text) == change
    assert root.find(f"{ATOM}updated").text == body["change"][0]["time"]
    # Ids are stable: the same change has the same entry id on another page.
    second = _atom(api.get(f"{URL}?limit=1&marker={many[3]}", HTTP_ACCEPT="application/atom+xml"))
    assert second.find(f"{ATOM}entry/{ATOM}id").text == entries[3].find(f"{ATOM}id").text


def test_an_empty_atom_page_is_a_feed_without_entries(api, many):
    root = _atom(api.get(f"{URL}?objectType=import", HTTP_ACCEPT="application/atom+xml"))
    assert root.findall(f"{ATOM}entry") == []
    assert root.find(f"{ATOM}updated").text == EMPTY_UPDATED  # the same answer however often it is asked
    assert {link.get("rel") for link in root.findall(f"{ATOM}link")} == {"current", "self", "last"}


def test_atom_titles_name_kind_key_and_action():
    assert entry_title({"objectType": "account", "objectKey": "CLOUD/123", "action": "update"}) == (
        "account CLOUD/123 updated"
    )
    assert entry_title({"objectType": "tenant_grant", "objectKey": "ann t-1", "action": "create"}) == (
        "tenant grant ann t-1 created"
    )


def test_atom_faults_are_xml_faults(api):
    response = api.get(f"{URL}?limit=x", HTTP_ACCEPT="application/atom+xml")
    assert response.status_code == 400
    root = xml(response)
    assert root.tag == f"{CMS}badRequest"


def test_xml_carries_the_changes(api, many):
    response = api.get(f"{URL}?limit=2", HTTP_ACCEPT="application/xml")
    root = xml(response)
    assert root.tag == f"{CMS}changes"
    body = api.get(f"{URL}?limit=2").json()
    changes = root.findall(f"{CMS}change")
    assert [c.get("id") for c in changes] == ids(body)
    for element, change in zip(changes, body["change"], strict=True):
        assert element.get("objectKey") == change["objectKey"]
        assert element.find(f"{CMS}actor").get("username") == "writer"
        assert json.loads(element.find(f"{CMS}before").text) == change["before"]
        assert json.loads(element.find(f"{CMS}after").text) == change["after"]
    assert {link.get("rel") for link in root.findall(f"{ATOM}link")} == {"current", "self", "next", "last"}


def test_nothing_acceptable_is_406(api):
    assert api.get(URL, HTTP_ACCEPT="text/html").status_code == 406


# --- paging ---------------------------------------------------------------------------------------


def walk(client, start, rel):
    pages, url = [], start
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(ids(body))
        assert len(pages) < 100
        url = links(body).get(rel) and path_of(links(body)[rel])
    return pages


@pytest.mark.parametrize("limit", [1, 4, 7, 25, 50])
def test_walks_visit_every_change_once_both_ways(api, many, limit):
    pages = walk(api, f"{URL}?limit={limit}", "next")
    assert [i for page in pages for i in page] == many
    assert all(pages) and all(len(page) == limit for page in pages[:-1])
    back = walk(api, f"{URL}?limit={limit}&marker=last&direction=backward", "previous")
    assert [i for page in reversed(back) for i in page] == many


def test_forward_starts_at_the_marker_backward_ends_before_it(api, many):
    forward = api.get(f"{URL}?marker={many[5]}&limit=3").json()
    assert ids(forward) == many[5:8]
    assert links(forward)["next"].endswith(f"marker={many[8]}&direction=forward")
    assert links(forward)["previous"].endswith(f"marker={many[5]}&direction=backward")
    backward = api.get(f"{URL}?marker={many[5]}&limit=3&direction=backward").json()
    assert ids(backward) == many[2:5]  # the three just newer than the marker, still newest first
    assert links(backward)["previous"].endswith(f"marker={many[2]}&direction=backward")
    assert links(backward)["next"].endswith(f"marker={many[5]}&direction=forward")
    head = api.get(f"{URL}?marker={many[0]}&direction=backward").json()
    assert ids(head) == [] and "previous" not in links(head)


def test_links_keep_filters_and_limit(api, many):
    body = api.get(f"{URL}?objectType=account&limit=2").json()
    query = parse_qs(urlsplit(links(body)["next"]).query)
    assert query["objectType"] == ["account"] and query["limit"] == ["2"]


def test_polling_for_newer_changes_sees_each_once(api, many):
    """The consumer's recipe: keep the newest id; ask for what is newer (backward), follow `previous`."""
    newest = ids(api.get(f"{URL}?limit=5").json())[0]
    seen = []

    def poll(newest):
        url = f"{URL}?marker={newest}&direction=backward&limit=3"
        while url:
            body = api.get(url).json()
            seen.extend(reversed(ids(body)))  # oldest of the page first
            newest = ids(body)[0] if body["change"] else newest
            url = links(body).get("previous") and path_of(links(body)["previous"])
        return newest

    newest = poll(newest)
    assert seen == []
    added = [str(record(object_key=f"CLOUD/new{n}").id) for n in range(8)]
    newest = poll(newest)
    assert seen == added and newest == added[-1]
    newest = poll(newest)
    assert seen == added


@pytest.mark.django_db  # 400 whatever the feed holds: no need to commit
@pytest.mark.parametrize("marker", ["abc", "-1", "1.5", "١٢", "9" * 40, "CLOUD:1", "999999999"], ids=lambda m: m[:10])
def test_a_marker_that_names_no_change_is_400(api, marker):
    record()
    response = api.get(f"{URL}?marker={marker}")
    assert response.status_code == 400, response.content
    assert response.json()["badRequest"]["details"] == "marker"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=0", "limit=x", "offset=-1", "direction=sideways"])
def test_bad_paging_parameters_are_400(api, query):
    assert api.get(f"{URL}?{query}").status_code == 400


# --- filters --------------------------------------------------------------------------------------


@pytest.fixture
def assorted():
    """Changes differing in every filtered field; returns them by name."""
    early = dates.now() - timedelta(days=10)
    return {
        "account": record(when=early),
        "metadata": record(
            object_type=ObjectType.METADATA,
            object_key="CLOUD/2 support:level",
            action=Action.CREATE,
            before=None,
            after={"key": "support:level", "value": "gold"},
            namespace="support",
            rcn="RCN-000-000-002",
            account_key="CLOUD/2",
            actor=Actor("ann", "RACKER"),
        ),
        "customer": record(
            object_type=ObjectType.CUSTOMER,
            object_key="RCN-000-000-003",
            action=Action.DELETE,
            rcn="RCN-000-000-003",
            account_key=None,
            actor=Actor("system", "SYSTEM"),
        ),
    }


VALID = {
    "objectType": ("metadata", {"metadata"}),
    "action": ("delete", {"customer"}),
    "key": ("CLOUD/1", {"account"}),
    "rcn": ("RCN-000-000-002", {"metadata"}),
    "account": ("CLOUD/2", {"metadata"}),
    "actor": ("ann", {"metadata"}),
    "q": ("support", {"metadata"}),
    "since": (None, {"metadata", "customer"}),  # five days ago, below
    "until": (None, {"account"}),
}
INVALID = {
    "objectType": ["bogus", "ACCOUNT"],
    "action": ["bogus"],
    "since": ["yesterday", "2026-13-45", "9" * 50],
    "until": ["tomorrow", "2026-02-30T25:00Z"],
}
# Free-text filters: no value is invalid, but none may fail the request (values as sent, URL-encoded).
ODD = ["%ED%A0%80", "%FF", "x" * 5000, "%25", "%27%20OR%201%3D1%20--", "%C3%BC" * 400]


def test_every_filter_is_covered():
    assert set(ChangeFilterSet.base_filters) == set(VALID)
    assert set(INVALID) | {"key", "rcn", "account", "actor", "q"} == set(VALID)


@pytest.mark.parametrize("name", sorted(VALID))
def test_each_filter_narrows(api, assorted, name):
    value, expected = VALID[name]
    if value is None:
        value = (dates.now() - timedelta(days=5)).date().isoformat()
    body = api.get(URL, {name: value}).json()
    by_id = {str(change.id): label for label, change in assorted.items()}
    assert {by_id[i] for i in ids(body)} == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in INVALID.items() for v in values])
def test_invalid_filter_values_are_400(api, assorted, name, value):
    response = api.get(URL, {name: value})
    assert response.status_code == 400, response.content
    assert response.json()["badRequest"]["details"] == name


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["key", "rcn", "account", "actor", "q"])
@pytest.mark.parametrize("value", ODD, ids=["surrogate", "not-utf8", "long", "percent", "quote", "accents"])
def test_odd_free_text_values_never_fail(api, assorted, name, value):
    response = api.get(f"{URL}?{name}={value}")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert ids(response.json()) == []


@pytest.mark.django_db
def test_nul_in_a_filter_is_400(api, assorted):
    assert api.get(URL, {"q": "a\x00b"}).status_code == 400


# --- who sees what --------------------------------------------------------------------------------


def test_authentication_is_required(anonymous_client, many):
    response = anonymous_client.get(URL)
    assert response.status_code == 401
    assert "unauthorized" in response.json()
    assert anonymous_client.get(URL, HTTP_ACCEPT="application/atom+xml").status_code == 401
    assert anonymous_client.get(URL, HTTP_X_AUTH_TOKEN="nonsense").status_code == 401


@pytest.fixture
def anonymous_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def tenant_world():
    """For every object type a change on the tenant's account, one on another account, one on none."""
    mine = AccountFactory(account_id="501", tenant_id="t-1")
    AccountFactory(account_id="502", tenant_id="t-2")
    user = UserFactory(username="feed-tenant")
    TenantGrantFactory(user=user, tenant_id="t-1")
    visible = set()
    for object_type in ObjectType.values:
        keyed = object_type in ACCOUNT_KEYED  # its key holds its account's (as the services record them)

        def key(n, account, object_type=object_type, keyed=keyed):
            if object_type == ObjectType.ACCOUNT:
                return account
            return f"{account} {object_type}:{n}" if keyed else f"{object_type} {n}"

        visible.add(str(record(object_type=object_type, object_key=key(1, "CLOUD/501"), account_key="CLOUD/501").id))
        record(object_type=object_type, object_key=key(2, "CLOUD/502"), account_key="CLOUD/502")
        # One on no account, or for an account's own kinds, on an account nobody was granted.
        record(
            object_type=object_type,
            object_key=key(3, "CLOUD/503"),
            account_key="CLOUD/503" if keyed else None,
            rcn=None,
        )
    assert mine.customer_id
    return user, visible


def test_a_tenant_sees_only_its_accounts_changes(tenant_world, staff):
    user, visible = tenant_world
    client = client_for(user)
    pages = walk(client, f"{URL}?limit=4", "next")
    assert {i for page in pages for i in page} == visible
    assert len(visible) == len(ObjectType.values)
    everything = walk(client_for(staff), f"{URL}?limit=1000", "next")
    # The world's three changes of each type, and the tokens issued to the two clients.
    assert len(everything[0]) == Change.objects.count() == 3 * len(ObjectType.values) + 2
    # Every object type's own filter agrees, and a marker the tenant may not see names nothing.
    for object_type in ObjectType.values:
        assert len(ids(client.get(URL, {"objectType": object_type}).json())) == 1
    hidden = Change.objects.filter(account_key="CLOUD/502").first()
    assert client.get(f"{URL}?marker={hidden.id}").status_code == 400
    assert client.get(URL, {"account": "CLOUD/502"}).json()["change"] == []


def test_a_user_without_grants_sees_nothing(many):
    body = client_for(UserFactory(username="nobody")).get(URL).json()
    assert body["change"] == []


def test_restricted_metadata_values_are_redacted(staff):
    NamespaceFactory(name="secret", access=Access.READ_RESTRICTED)
    hidden = record(
        object_type=ObjectType.METADATA,
        object_key="CLOUD/1 secret:pin",
        action=Action.UPDATE,
        before={"key": "secret:pin", "value": "1234"},
        after={"key": "secret:pin", "value": "5678"},
        namespace="secret",
    )
    shown = record(
        object_type=ObjectType.METADATA,
        object_key="CLOUD/1 open:colour",
        before={"value": "red"},
        after={"value": "blue"},
        namespace="open",
    )
    body = client_for(staff).get(URL).json()
    by_id = {change["id"]: change for change in body["change"]}
    assert by_id[str(hidden.id)]["before"] == {"key": "secret:pin", "value": REDACTED}
    assert by_id[str(hidden.id)]["after"] == {"key": "secret:pin", "value": REDACTED}
    assert by_id[str(shown.id)]["after"] == {"value": "blue"}
    atom = client_for(staff).get(URL, HTTP_ACCEPT="application/atom+xml").content.decode()
    assert "1234" not in atom and "5678" not in atom
    xml_body = client_for(staff).get(URL, HTTP_ACCEPT="application/xml").content.decode()
    assert "1234" not in xml_body and "5678" not in xml_body
    # A reader of the namespace (here: a superuser) sees the values.
    root = UserFactory(username="feed-root", is_superuser=True)
    by_id = {change["id"]: change for change in client_for(root).get(URL).json()["change"]}
    assert by_id[str(hidden.id)]["after"] == {"key": "secret:pin", "value": "5678"}


# --- cost -----------------------------------------------------------------------------------------


def _count(client, url) -> tuple[int, list[str]]:
    client.get(url)  # the first use of a token records its last-used time
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries), [q["sql"] for q in queries.captured_queries]


def test_a_page_costs_what_an_account_list_page_costs(api, many):
    """Authentication (no query for a remembered token), then one statement for the page (the horizon is part of
    it); a marker adds its lookup, a page holding a metadata change the reader's unreadable namespaces."""
    AccountFactory()
    accounts, _ = _count(api, "/v1/customer_accounts?limit=5")
    first, sql = _count(api, f"{URL}?limit=5")
    assert first == accounts == authentication_queries() + 1
    assert "pg_snapshot_xmin" in sql[-1] or connection.vendor != "postgresql"
    marked, _ = _count(api, f"{URL}?limit=5&marker={many[10]}")
    assert marked == first + 1
    backward, _ = _count(api, f"{URL}?limit=5&marker={many[10]}&direction=backward")
    assert backward == first + 1
    filtered, _ = _count(api, f"{URL}?limit=5&objectType=account&since=2020-01-01")
    assert filtered == first
    record(object_type=ObjectType.METADATA, object_key="CLOUD/1 a:b", namespace="a")
    assert _count(api, f"{URL}?limit=5")[0] == first + 1


def test_precompiled_pages_answer_what_the_general_query_answers(staff, monkeypatch):
    """A caller who sees every change gets the default pages, the marker lookup and the unreadable namespaces from
    precompiled queries; with those turned off, every page (both ways, redaction included) is the same."""
    from cmsportal.changes.access import Redactor
    from cmsportal.changes.api import views

    NamespaceFactory(name="secret", access=Access.READ_RESTRICTED)
    made = []
    for n in range(120):
        if n % 7 == 0:
            made.append(
                record(
                    object_type=ObjectType.METADATA,
                    object_key=f"CLOUD/{n} secret:pin",
                    before={"key": "secret:pin", "value": f"old {n}"},
                    after={"key": "secret:pin", "value": f"new {n}"},
                    namespace="secret",
                )
            )
        else:
            made.append(record(object_key=f"CLOUD/{n}", account_key=f"CLOUD/{n}"))
    client = client_for(staff)  # view-all, not a superuser, in no group: the secret namespace is redacted
    markers = [str(made[i].id) for i in (0, 1, 49, 50, 51, 70, 119)]
    paths = [URL, f"{URL}?limit=50"]
    paths += [f"{URL}?marker={marker}" for marker in markers]
    paths += [f"{URL}?marker={marker}&limit=50&direction=backward" for marker in markers]
    paths += [f"{URL}?marker=last&direction=backward", f"{URL}?marker=999999999"]

    def answers():
        return [(r.status_code, r.content) for r in (client.get(path) for path in paths)]

    fast = answers()
    assert all(status == 200 for status, _ in fast[:-1]) and fast[-1][0] == 400
    assert b"old 7" not in b"".join(body for _, body in fast) and REDACTED.encode() in fast[0][1]
    calls = []
    fetch = views._FEED_PAGES.fetch
    monkeypatch.setattr(views._FEED_PAGES, "fetch", lambda marker: calls.append(marker) or fetch(marker))
    answers()
    assert len(calls) == 2 + len(markers)  # the default pages forward came from the precompiled queries
    monkeypatch.setattr(views, "can_view_all", lambda user: False)  # no precompiled page nor marker lookup
    monkeypatch.setattr(views, "_redactor", Redactor)
    calls.clear()
    assert answers() == fast
    assert calls == []
