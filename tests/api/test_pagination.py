"""Marker pagination of accounts and contacts: walks, links, limits, and constant query counts."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.auth_cost import authentication_queries
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AddressFactory,
    ContactFactory,
    EmailAddressFactory,
    MetadataFactory,
    PhoneNumberFactory,
)

from .conftest import links, xml, xml_links

pytestmark = pytest.mark.django_db

TYPES = ["CLOUD", "MANAGED_HOSTING", "FANATICAL_SUPPORT_FOR_AWS"]


@pytest.fixture
def many_accounts():
    """20 accounts over three types; every other one has domain "even"."""
    made = []
    for n in range(20):
        made.append(AccountFactory(type=TYPES[n % 3], account_id=f"{n:03d}", domain="even" if n % 2 == 0 else "odd"))
    return sorted(f"{a.type}:{a.account_id}" for a in made), made


def path_of(url):
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver"  # links are absolute
    return parts.path + ("?" + parts.query if parts.query else "")


def walk(client, start, rel, key="customerAccount", ident=lambda a: f"{a['type']}:{a['id']}"):
    """Follow `rel` links from `start`; returns the pages' records in visiting order and the number of pages."""
    seen, url, pages = [], start, 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen.append([ident(a) for a in body[key]])
        pages += 1
        assert pages < 100
        url = links(body).get(rel) and path_of(links(body)[rel])
    return seen, pages


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
@pytest.mark.parametrize("query", ["", "domain=even&"])
def test_walk_next_from_current_and_previous_from_last(api, many_accounts, limit, query):
    expected, made = many_accounts
    if query:
        expected = sorted(f"{a.type}:{a.account_id}" for a in made if a.domain == "even")
    first = api.get(f"/v1/customer_accounts?{query}limit={limit}").json()
    forward, _ = walk(api, path_of(links(first)["CURRENT"]), "NEXT")
    assert [record for page in forward for record in page] == expected
    assert all(len(page) == limit for page in forward[:-1])
    backward, _ = walk(api, path_of(links(first)["LAST"]), "PREVIOUS")
    assert [record for page in reversed(backward) for record in page] == expected
    for page in backward:
        assert page == sorted(page)  # backward pages are still listed in ascending order
    if query:
        assert all("domain=even" in href for href in links(first).values())


def test_links_first_middle_last(api, many_accounts):
    expected, _ = many_accounts
    first = api.get("/v1/customer_accounts?limit=5").json()
    assert set(links(first)) == {"CURRENT", "SELF", "LAST", "NEXT"}
    assert links(first)["SELF"] == "http://testserver/v1/customer_accounts?limit=5"
    assert parse_qs(urlsplit(links(first)["NEXT"]).query)["marker"] == [expected[5]]
    middle = api.get(f"/v1/customer_accounts?limit=5&marker={expected[5]}").json()
    assert set(links(middle)) == {"CURRENT", "SELF", "LAST", "NEXT", "PREVIOUS"}
    previous = parse_qs(urlsplit(links(middle)["PREVIOUS"]).query)
    assert previous["marker"] == [expected[5]] and previous["direction"] == ["backward"] and previous["limit"] == ["5"]
    last = api.get("/v1/customer_accounts?limit=5&marker=last&direction=backward").json()
    assert [f"{a['type']}:{a['id']}" for a in last["customerAccount"]] == expected[-5:]
    assert set(links(last)) == {"CURRENT", "SELF", "LAST", "PREVIOUS"}


def test_marker_need_not_exist_and_past_end_is_empty(api, many_accounts):
    expected, _ = many_accounts
    body = api.get("/v1/customer_accounts?marker=CLOUD:0001&limit=2").json()
    assert [f"{a['type']}:{a['id']}" for a in body["customerAccount"]] == [e for e in expected if e > "CLOUD:0001"][:2]
    body = api.get("/v1/customer_accounts?marker=ZZZ:1").json()
    assert body["customerAccount"] == []
    assert "NEXT" not in links(body) and "PREVIOUS" in links(body)
    body = api.get("/v1/customer_accounts?marker=cloud:003&limit=1").json()  # the type part is case-insensitive
    assert body["customerAccount"][0]["id"] == "003"


def test_backward_lists_records_just_before_marker_and_offset(api, many_accounts):
    expected, _ = many_accounts
    marker = expected[10]
    body = api.get(f"/v1/customer_accounts?marker={marker}&direction=backward&limit=3").json()
    assert [f"{a['type']}:{a['id']}" for a in body["customerAccount"]] == expected[7:10]
    assert parse_qs(urlsplit(links(body)["NEXT"]).query)["marker"] == [expected[10]]
    body = api.get(f"/v1/customer_accounts?marker={marker}&limit=3&offset=2").json()
    assert [f"{a['type']}:{a['id']}" for a in body["customerAccount"]] == expected[12:15]
    body = api.get("/v1/customer_accounts?limit=3&offset=18").json()
    assert [f"{a['type']}:{a['id']}" for a in body["customerAccount"]] == expected[18:]
    assert "NEXT" not in links(body) and "PREVIOUS" in links(body)


def test_xml_rels_are_lower_case(api, many_accounts):
    root = xml(api.get("/v1/customer_accounts.xml?limit=5&marker=CLOUD:003"))
    assert set(xml_links(root)) == {"current", "self", "last", "next", "previous"}
    assert xml_links(root)["next"].startswith("http://testserver/v1/customer_accounts.xml?")


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "%20", "1e3"])
def test_bad_limit_is_400(api, limit):
    response = api.get(f"/v1/customer_accounts?limit={limit}")
    assert response.status_code == 400
    assert response.json()["badRequest"]["details"] == "limit"


def test_empty_limit_is_the_default(api, db):
    body = api.get("/v1/customer_accounts?limit=").json()
    assert parse_qs(urlsplit(links(body)["CURRENT"]).query)["limit"] == ["50"]


def test_limit_above_1000_is_1000(api, db):
    body = api.get("/v1/customer_accounts?limit=5000").json()
    assert parse_qs(urlsplit(links(body)["CURRENT"]).query)["limit"] == ["1000"]


def test_bad_direction_offset_and_marker_are_400(api, db):
    assert api.get("/v1/customer_accounts?direction=sideways").status_code == 400
    assert api.get("/v1/customer_accounts?offset=-3").status_code == 400
    assert api.get("/v1/customer_accounts?marker=nocolon").status_code == 400


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
@pytest.mark.parametrize("account_type", ["CLOUD", "managed_hosting"])
def test_walk_with_account_type(api, many_accounts, limit, account_type):
    _, made = many_accounts
    expected = sorted(f"{a.type}:{a.account_id}" for a in made if a.type == account_type.upper())
    first = api.get(f"/v1/customer_accounts?accountType={account_type}&limit={limit}").json()
    forward, _ = walk(api, path_of(links(first)["CURRENT"]), "NEXT")
    assert [record for page in forward for record in page] == expected
    backward, _ = walk(api, path_of(links(first)["LAST"]), "PREVIOUS")
    assert [record for page in reversed(backward) for record in page] == expected


@pytest.mark.parametrize(
    ("marker", "direction", "expected"),
    [
        ("CLOUD:009", "forward", ["CLOUD:009", "CLOUD:012"]),
        ("CLOUD:010", "forward", ["CLOUD:012", "CLOUD:015"]),
        ("CLOUD:009", "backward", ["CLOUD:003", "CLOUD:006"]),
        ("A:1", "forward", ["CLOUD:000", "CLOUD:003"]),  # a marker of another type is a position all the same
        ("ZZZ:1", "forward", []),
        ("ZZZ:1", "backward", ["CLOUD:015", "CLOUD:018"]),
        ("A:1", "backward", []),
    ],
)
def test_account_type_markers(api, many_accounts, marker, direction, expected):
    body = api.get(f"/v1/customer_accounts?accountType=CLOUD&limit=2&marker={marker}&direction={direction}").json()
    assert [f"{a['type']}:{a['id']}" for a in body["customerAccount"]] == expected


def test_account_type_keyset_compares_account_ids_only(api, many_accounts):
    """Under accountType the type is pinned: a row comparison starting with it would read the type from its start."""
    for direction in ("forward", "backward"):
        url = f"/v1/customer_accounts?accountType=CLOUD&limit=2&marker=CLOUD:009&direction={direction}"
        captured = queries_for(api, url)
        assert len(captured) == authentication_queries() + 1  # the page with what lies beside it
        sql = captured.captured_queries[-1]["sql"]
        assert not re.search(r'\(\S*"type", \S*"account_id"\) [<>]', sql)
        # The page, and beside it the key before (forward) or the two key fields after (backward).
        assert len(re.findall(r'\(\S*"account_id"\) [<>]', sql)) == (2 if direction == "forward" else 3)


def queries_for(client, url):
    client.get(url)  # warm up: the token's last-used time is written at most once in a while
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return captured


@pytest.mark.parametrize(
    "query",
    ["", "marker=CLOUD:0&", "marker=last&direction=backward&", "marker=MANAGED_HOSTING:5&direction=backward&"],
)
def test_account_list_query_count_does_not_depend_on_page_size(api, query):
    for n in range(60):
        account = AccountFactory(type=TYPES[n % 3], account_id=f"{n:03d}")
        MetadataFactory(account=account, key="support:level", value="x")
    small = queries_for(api, f"/v1/customer_accounts?{query}limit=5")
    large = queries_for(api, f"/v1/customer_accounts?{query}limit=50")
    assert len(small) == len(large)
    filtered = queries_for(api, f"/v1/customer_accounts?{query}limit=50&metadataKey=support:level")
    assert len(filtered) <= len(large) + 1  # the namespace policy lookup
    for captured in (small, large, filtered):
        sql = " ".join(q["sql"].upper() for q in captured.captured_queries)
        assert "COUNT(" not in sql
        assert "OFFSET" not in sql


def test_contact_list_query_count_does_not_depend_on_page_size(api):
    account = AccountFactory(account_id="1")
    for n in range(60):
        contact = ContactFactory(contact_number=f"RPN-000-000-{n:03d}", customer=account.customer)
        AccountContactFactory(account=account, contact=contact, roles=["TECHNICAL", "BILLING"])
        AddressFactory(contact=contact)
        EmailAddressFactory(contact=contact)
        PhoneNumberFactory(contact=contact)
    for query in ("", "marker=RPN-000-000-010&", "marker=RPN-000-000-040&direction=backward&", "role=billing&"):
        small = queries_for(api, f"/v1/customer_accounts/CLOUD/1/contacts?{query}limit=5")
        large = queries_for(api, f"/v1/customer_accounts/CLOUD/1/contacts?{query}limit=50")
        assert len(small) == len(large), query
        sql = " ".join(q["sql"].upper() for q in large.captured_queries)
        assert "COUNT(" not in sql and "OFFSET" not in sql


def test_contacts_walk_with_lower_case_rels(api):
    account = AccountFactory(account_id="1")
    numbers = [f"RPN-000-000-{n:03d}" for n in range(11)]
    for number in numbers:
        AccountContactFactory(account=account, contact=ContactFactory(contact_number=number, customer=account.customer))
    AccountContactFactory(account=AccountFactory(account_id="2"))  # someone else's contact
    for limit in (1, 2, 3, 7, 50):
        forward, _ = walk(
            api,
            f"/v1/customer_accounts/CLOUD/1/contacts?limit={limit}",
            "next",
            key="contact",
            ident=lambda c: c["contactNumber"],
        )
        assert [n for page in forward for n in page] == numbers
        backward, _ = walk(
            api,
            f"/v1/customer_accounts/CLOUD/1/contacts?limit={limit}&marker=last&direction=backward",
            "previous",
            key="contact",
            ident=lambda c: c["contactNumber"],
        )
        assert [n for page in reversed(backward) for n in page] == numbers
    body = api.get("/v1/customer_accounts/CLOUD/1/contacts?limit=3&marker=RPN-000-000-005").json()
    assert set(links(body)) == {"next", "previous"}


@pytest.mark.parametrize("size", [5, 50])
def test_pinned_query_counts(api, django_assert_num_queries, size):
    """Every list costs the same number of queries whatever its size: 1 to authenticate (and decide the caller's
    scope), then the list's own."""
    account = AccountFactory(account_id="1")
    for n in range(size):
        AccountFactory(account_id=f"2{n:03d}")
        contact = ContactFactory(contact_number=f"RPN-000-000-{n:03d}", customer=account.customer)
        AccountContactFactory(account=account, contact=contact, roles=["TECHNICAL", "BILLING"])
        AddressFactory(contact=contact)
        EmailAddressFactory(contact=contact)
        PhoneNumberFactory(contact=contact)
        MetadataFactory(account=account, key=f"support:k{n}")
    from tests.factories import AccountHistoryFactory, RCNChangeFactory, StatusChangeFactory

    for _ in range(size):
        StatusChangeFactory(account=account)
        AccountHistoryFactory(account=account)
        RCNChangeFactory(account=account)
    # On PostgreSQL a page's addresses, emails, phones and roles are read in one statement (PrecompiledTogether).
    contacts = 4 if connection.vendor == "postgresql" else 7
    expected = {
        "/v1/customer_accounts": 2,  # auth, page
        "/v1/customer_accounts?marker=CLOUD:2002": 2,  # auth, page (which also reads whether records precede)
        "/v1/customer_accounts?marker=last&direction=backward": 2,  # auth, page (nothing follows the last page)
        "/v1/customer_accounts/CLOUD/1/contacts": contacts,  # auth, account, page, addresses, emails, phones, roles
        "/v1/customer_accounts/CLOUD/1/contacts?marker=RPN-000-000-002": contacts,
        "/v1/customer_accounts/CLOUD/1/metadata": 3,  # auth, account, entries (unreadable namespaces: a subquery)
        "/v1/customer_accounts/CLOUD/1/status_history": 3,
        "/v1/customer_accounts/CLOUD/1/history": 3,
        "/v1/customer_accounts/CLOUD/1/customer_history": 3,
    }
    for url, count in expected.items():
        api.get(url)  # warm up: the token's last-used time is written at most once in a while
        with django_assert_num_queries(count - 1 + authentication_queries()):
            assert api.get(url + ("&" if "?" in url else "?") + f"limit={size}").status_code == 200


def test_a_trails_default_page_is_its_first_page_of_fifty(api, django_assert_num_queries):
    """Without parameters a trail answers its precompiled first page: the same entries and link as `limit=50`."""
    from datetime import timedelta

    from cmsportal import dates
    from tests.factories import AccountHistoryFactory, RCNChangeFactory, StatusChangeFactory

    account = AccountFactory(account_id="1")
    other = AccountFactory(account_id="2")
    start = dates.now() - timedelta(days=100)
    for n in range(53):
        when = start + timedelta(hours=n // 2)  # pairs share a date: ties go by the order written
        StatusChangeFactory(account=account, date=when, status=f"S{n}")
        AccountHistoryFactory(account=account, updated_date=when, nickname=f"n{n}")
        RCNChangeFactory(account=account, date=when)
    StatusChangeFactory(account=other)
    for trail, key in (
        ("status_history", "statusChange"),
        ("history", "customerAccountHistory"),
        ("customer_history", "accountRCNChange"),
    ):
        url = f"/v1/customer_accounts/CLOUD/1/{trail}"
        api.get(url)  # warm up: the token's last-used time is written at most once in a while
        with django_assert_num_queries(authentication_queries() + 2):  # account, page
            default = api.get(url).json()
        explicit = api.get(url + "?limit=50").json()
        assert default == explicit, trail
        assert len(default[key]) == 50
        assert [link["href"].split("?")[1] for link in default["link"]] == ["limit=50&offset=50"]
        assert api.get(url + "?limit=50&offset=50").json()[key] == api.get(url + "?offset=50").json()[key]
    body = api.get("/v1/customer_accounts/CLOUD/1/status_history").json()
    statuses = [entry["status"] for entry in body["statusChange"]]
    assert statuses[:3] == ["S52", "S51", "S50"]  # newest first


@pytest.mark.parametrize(
    "marker",
    [None, "CLOUD:000", "CLOUD:050", "CLOUD:050a", "MANAGED_HOSTING:010", "AAA:1", "ZZZ:1", "cloud:100", "last"],
)
def test_precompiled_default_pages_answer_what_the_orm_does(api, monkeypatch, marker):
    """The unfiltered default pages (50 rows forward) of a caller who sees everything run precompiled queries:
    the same rows and links as the queries `paginate` builds, from the start, from any marker (existing or not,
    any case, before or after every account) and past the end."""
    from accounts.api import views
    from cmsportal.api.pagination import PrecompiledPages

    for n in range(130):
        AccountFactory(type=TYPES[n % 3], account_id=f"{n:03d}")
    url = "/v1/customer_accounts" + ("" if marker is None else f"?marker={marker}")
    used = []
    fetch = PrecompiledPages.fetch
    monkeypatch.setattr(PrecompiledPages, "fetch", lambda self, key: used.append(key) or fetch(self, key))

    def without_self(body):  # SELF is the request's own URL
        return {**body, "link": [link for link in body["link"] if link["rel"] != "SELF"]}

    explicit = url + ("&" if "?" in url else "?") + "limit=50"
    precompiled = [api.get(url).json(), without_self(api.get(explicit).json())]
    assert len(used) == (0 if marker == "last" else 2)
    monkeypatch.setattr(views, "_ALL_ACCOUNT_PAGES", None)
    built = api.get(url).json()
    assert precompiled[0] == built
    assert precompiled[1] == without_self(built)
    if marker in (None, "CLOUD:050"):
        assert len(built["customerAccount"]) == 50
        assert {link["rel"] for link in built["link"]} >= {"NEXT"}


@pytest.mark.parametrize(
    "marker", [None, "RPN-000-000-000", "RPN-000-000-020", "RPN-000-000-051", "A", "rpn-000-000-010", "ZZZ", "last"]
)
def test_precompiled_contact_pages_answer_what_the_orm_does(api, monkeypatch, marker):
    """An account's unfiltered default contact pages run precompiled queries bound to the account: the same
    contacts and links as the queries `paginate` builds, from any marker, and never another account's contacts."""
    from types import SimpleNamespace

    from cmsportal.api.pagination import PrecompiledPages
    from contacts.api import views

    account, other = AccountFactory(account_id="1"), AccountFactory(account_id="2")
    for n in range(0, 130, 2):
        for owner, number in ((account, n), (other, n + 1)):
            contact = ContactFactory(contact_number=f"RPN-000-000-{number:03d}", customer=owner.customer)
            AccountContactFactory(account=owner, contact=contact, roles=["TECHNICAL"])
    url = "/v1/customer_accounts/CLOUD/1/contacts" + ("" if marker is None else f"?marker={marker}")
    used = []
    fetch = PrecompiledPages.fetch
    monkeypatch.setattr(PrecompiledPages, "fetch", lambda self, *args: used.append(args) or fetch(self, *args))
    precompiled = api.get(url).json()
    assert len(used) == (0 if marker == "last" else 1)
    monkeypatch.setattr(views, "_CONTACT_PAGES", SimpleNamespace(bound=lambda *args: None))
    built = api.get(url).json()
    assert precompiled == built
    numbers = [contact["contactNumber"] for contact in built["contact"]]
    if marker in (None, "RPN-000-000-020"):
        assert len(built["contact"]) == 50 and {link["rel"] for link in built["link"]} >= {"next"}
        assert all(int(number[-3:]) % 2 == 0 for number in numbers)
