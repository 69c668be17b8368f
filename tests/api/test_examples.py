"""The documented examples (tests/data/examples, from the public reference), reproduced through the API.

The data is the examples themselves, imported through the exchange format (tests/exchange/examples.py
turns each example into exchange records and imports them with cmsportal.exchange.import_records).
Each test then calls the API with an X-Auth-Token and compares with the example: JSON exactly, links
aside (their host and markers differ); XML element by element by namespace URI, local name,
attributes, text and children (prefixes free; Atom links aside; entries of a list in order). Where an example
cannot be equal, the test asserts the documented difference (docs/API.md "Settled contradictions") and
compares the rest.
"""

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml.ElementTree import fromstring as safe_xml

from tests.exchange.examples import EXAMPLES_DIR, example, load_examples

from .conftest import ATOM, CMS, META, links, xml, xml_links

pytestmark = pytest.mark.django_db

BASE = "http://testserver/v1/customer_accounts"
HISTORY = "CLOUD/10101"  # where tests/exchange/examples.py puts the three history examples
CONTACTS = "CLOUD/3784384"  # the account of most of the contacts examples' `via` links
ACCOUNT_EXAMPLES = ["cloud", "faws", "managed-hosting"]


def example_xml(name: str) -> ET.Element:
    return safe_xml((EXAMPLES_DIR / f"{name}.xml").read_bytes())


def without_links(value):
    if isinstance(value, dict):
        return {k: without_links(v) for k, v in value.items() if k != "link"}
    if isinstance(value, list):
        return [without_links(v) for v in value]
    return value


def canonical(element: ET.Element):
    """An element as comparable data: (namespace URI + local name, attributes, text, children), Atom
    links left out. Siblings of one name keep their order (list entries are ordered); siblings of
    different names are compared by name (the order of a record's parts is checked separately)."""
    children = tuple(
        sorted((canonical(child) for child in element if child.tag != f"{ATOM}link"), key=lambda part: part[0])
    )
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(), children)


def assert_same_xml(ours: ET.Element, expected: ET.Element) -> None:
    assert canonical(ours) == canonical(expected)


def path_of(href: str) -> str:
    return urlsplit(href).path


def query_of(href: str) -> dict:
    return parse_qs(urlsplit(href).query)


@pytest.fixture
def examples(db):
    """Every example imported; MANAGED_HOSTING/5342823 as the managed-hosting detail example shows it."""
    return load_examples(managed_hosting="detail")


@pytest.fixture
def examples_as_listed(db):
    """Every example imported; MANAGED_HOSTING/5342823 as the account list example shows it."""
    return load_examples(managed_hosting="list")


# Accounts (operations 1 and 2)


@pytest.mark.parametrize("kind", ACCOUNT_EXAMPLES)
def test_get_customer_account(api, examples, kind):
    name = f"get-customer-account-response-{kind}"
    expected = example(f"{name}.json")
    path = f"/v1/customer_accounts/{expected['type']}/{expected['id']}"
    assert api.get(path).json() == expected
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml(name))


def test_faws_example_second_domain_wins(api, examples):
    """docs/API.md: the FAWS example has `domain` twice; the second value wins (in its XML too)."""
    pairs = json.loads(
        (EXAMPLES_DIR / "get-customer-account-response-faws.json").read_text(), object_pairs_hook=lambda p: p
    )
    assert [v for k, v in pairs if k == "domain"] == ["10101", "12345"]
    body = api.get("/v1/customer_accounts/FANATICAL_SUPPORT_FOR_AWS/5342823").json()
    assert body["domain"] == "12345" == example_xml("get-customer-account-response-faws").get("domain")


def test_get_customer_accounts_json(api, examples_as_listed):
    listed = example("get-customer-accounts-response.json")
    body = api.get("/v1/customer_accounts").json()
    ours = {(a["type"], a["id"]): a for a in body["customerAccount"]}
    # The list holds every imported account: the list example's four, the cloud and FAWS detail
    # examples, and the two accounts the contacts examples name (which no example shows).
    expected = {(a["type"], a["id"]): a for a in without_links(listed)["customerAccount"]}
    for kind in ("cloud", "faws"):
        detail = example(f"get-customer-account-response-{kind}.json")
        expected[(detail["type"], detail["id"])] = detail
    assert set(ours) == set(expected) | {("CLOUD", "3784384"), ("CLOUD", "7483483")}
    assert {key: without_links(ours[key]) for key in expected} == expected
    # Each item's `via` link is the example's, on this host.
    for item in listed["customerAccount"]:
        (theirs,) = item["link"]
        (mine,) = ours[(item["type"], item["id"])]["link"]
        assert mine["rel"] == theirs["rel"] == "via"
        assert mine["href"] == f"{BASE}/{item['type']}/{item['id']}"
        assert path_of(mine["href"]) == path_of(theirs["href"])
    # Ordered by the marker key (type, id), which the example does not follow.
    assert [(a["type"], a["id"]) for a in body["customerAccount"]] == sorted(ours)


def test_get_customer_accounts_links_follow_api_md_rules(api, examples_as_listed):
    """docs/API.md: the example's rels and markers contradict each other; the rules define them."""
    listed = example("get-customer-accounts-response.json")
    assert [link["rel"] for link in listed["link"]] == ["CURRENT", "SELF", "PREVIOUS", "LAST", "NEXT"]
    # All eight accounts fit one page: CURRENT, SELF and LAST only (nothing precedes or follows).
    body = api.get("/v1/customer_accounts").json()
    rels = links(body)
    assert set(rels) == {"CURRENT", "SELF", "LAST"}
    assert all(href.startswith(f"{BASE}?") or href == BASE for href in rels.values())
    assert query_of(rels["LAST"])["marker"] == ["last"] and query_of(rels["LAST"])["direction"] == ["backward"]
    # A middle page: NEXT's marker is the first record after it, PREVIOUS's the first of it (backward).
    order = [f"{a['type']}:{a['id']}" for a in body["customerAccount"]]
    page = api.get(f"/v1/customer_accounts?limit=3&marker={order[3]}").json()
    assert [f"{a['type']}:{a['id']}" for a in page["customerAccount"]] == order[3:6]
    rels = links(page)
    assert set(rels) == {"CURRENT", "SELF", "LAST", "NEXT", "PREVIOUS"}
    assert query_of(rels["NEXT"])["marker"] == [order[6]] and query_of(rels["NEXT"])["limit"] == ["3"]
    previous = query_of(rels["PREVIOUS"])
    assert previous["marker"] == [order[3]] and previous["direction"] == ["backward"] and previous["limit"] == ["3"]
    assert [f"{a['type']}:{a['id']}" for a in api.get(rels["PREVIOUS"]).json()["customerAccount"]] == order[:3]
    # XML: the same rels, lower case, as Atom links (the example's top-level links have no namespace).
    theirs = example_xml("get-customer-accounts-response")
    assert [link.tag for link in theirs if link.tag.endswith("link")] == ["link"] * 5
    root = xml(api.get(f"/v1/customer_accounts?limit=3&marker={order[3]}", HTTP_ACCEPT="application/xml"))
    assert xml_links(root) == {rel.lower(): href for rel, href in rels.items()}


def test_get_customer_accounts_xml(api, examples):
    ours = xml(api.get("/v1/customer_accounts.xml"))
    theirs = example_xml("get-customer-accounts-response")
    assert ours.tag == theirs.tag == f"{CMS}customerAccounts"
    # The XML example contradicts its own JSON (JSON is authoritative, docs/API.md): CLOUD/19293384938 is
    # named "Hubspot Accounting" and lacks parentAccountNumber, and MANAGED_HOSTING/5342823 carries the
    # managed-hosting detail example's values (imported here) rather than the list JSON's.
    listed = {(a["type"], a["id"]): a for a in example("get-customer-accounts-response.json")["customerAccount"]}
    counting = theirs.find(f"{CMS}customerAccount[@id='19293384938']")
    assert counting.get("name") == "Hubspot Accounting" != listed[("CLOUD", "19293384938")]["name"]
    assert counting.get("parentAccountNumber") is None
    counting.set("name", listed[("CLOUD", "19293384938")]["name"])
    counting.set("parentAccountNumber", str(listed[("CLOUD", "19293384938")]["parentAccountNumber"]))
    assert theirs.find(f"{CMS}customerAccount[@id='5342823']").get("name") == "FreeLancer Corp"

    mine = {(a.get("type"), a.get("id")): a for a in ours.findall(f"{CMS}customerAccount")}
    expected = {(a.get("type"), a.get("id")): a for a in theirs.findall(f"{CMS}customerAccount")}
    for kind in ("cloud", "faws"):
        detail = example_xml(f"get-customer-account-response-{kind}")
        expected[(detail.get("type"), detail.get("id"))] = detail
    assert set(mine) == set(expected) | {("CLOUD", "3784384"), ("CLOUD", "7483483")}
    for key, account in expected.items():
        assert_same_xml(mine[key], account)
    for key, account in mine.items():
        (via,) = account.findall(f"{ATOM}link")
        assert via.get("rel") == "via" and via.get("href") == f"{BASE}/{key[0]}/{key[1]}"
    for key, account in ((k, a) for k, a in expected.items() if k in listed):
        (via,) = account.findall(f"{ATOM}link")
        assert path_of(via.get("href")) == path_of(mine[key].find(f"{ATOM}link").get("href"))


# History (operations 3, 4 and 5)


@pytest.mark.parametrize("collection", ["customer_account", "customer_accounts"])
def test_status_history(api, examples, collection):
    """Both spellings of the path work (docs/API.md); newest first, as the example lists them."""
    name = "get-customer-account-status-history-response"
    path = f"/v1/{collection}/{HISTORY}/status_history"
    assert api.get(path).json() == example(f"{name}.json")
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml(name))


def test_account_history(api, examples):
    name = "get-customer-account-history-response"
    path = f"/v1/customer_accounts/{HISTORY}/history"
    assert api.get(path).json() == example(f"{name}.json")
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml(name))


def test_customer_history(api, examples):
    """docs/API.md: by date, ties in the order written; the example prints its MERGE, dated first, last."""
    name = "get-customer-history-response"
    path = f"/v1/customer_accounts/{HISTORY}/customer_history"
    expected = example(f"{name}.json")
    documented = expected["accountRCNChange"]
    assert [e["accountChangeType"] for e in documented] == ["NEW", "RCN_UPDATE", "MERGE"]
    expected["accountRCNChange"] = [documented[2], documented[0], documented[1]]  # same rows, date order
    assert api.get(path).json() == expected
    theirs = example_xml(name)
    merge = theirs[2]
    theirs.remove(merge)
    theirs.insert(0, merge)
    for change in theirs:  # docs/API.md: the example's capital A is a typo; the attribute is accountChangeType
        assert "accountChangeType" not in change.attrib
        change.set("accountChangeType", change.attrib.pop("AccountChangeType"))
    ours = xml(api.get(f"{path}.xml"))
    assert all("AccountChangeType" not in change.attrib for change in ours)
    assert_same_xml(ours, theirs)


# Contacts (operations 11 and 12)


def settle_contact_json(contact: dict) -> dict:
    """docs/API.md: booleans are always present; the examples drop `primary` on a non-primary address."""
    for address in contact.get("addresses", {}).get("address", []):
        address.setdefault("primary", False)
    return contact


def settle_contact_xml(element: ET.Element, contact_json: dict) -> None:
    """docs/API.md: the XML examples drop `primary` on a non-primary address, and swap doNotMail/doNotEmail
    against the JSON; the JSON is right."""
    for address in element.iter(f"{CMS}address"):
        address.attrib.setdefault("primary", "false")
    prefs = element.find(f"{CMS}notificationPreferences")
    wanted = contact_json["notificationPreferences"]
    assert (prefs.get("doNotMail"), prefs.get("doNotEmail")) == (
        str(wanted["doNotEmail"]).lower(),
        str(wanted["doNotMail"]).lower(),
    )
    for key, value in wanted.items():
        prefs.set(key, "true" if value else "false")


def test_get_a_contact(api, examples):
    name = "get-a-contact-response"
    expected = example(f"{name}.json")
    assert "primary" not in expected["addresses"]["address"][1]
    path = f"/v1/customer_accounts/{CONTACTS}/contacts/{expected['contactNumber']}"
    assert api.get(path).json() == settle_contact_json(expected)
    theirs = example_xml(name)
    settle_contact_xml(theirs, expected)
    assert_same_xml(xml(api.get(f"{path}.xml")), theirs)


def contacts_by_account() -> dict[str, dict[str, dict]]:
    """The contacts examples grouped by the account of each contact's `via` link (get-a-contact, which
    has none, is on CLOUD/3784384: see tests/exchange/examples.py), as the API must list them."""
    grouped = {}
    for contact in example("get-contacts-response.json")["contact"]:
        account = "/".join(path_of(contact["link"][0]["href"]).split("/")[3:5])
        grouped.setdefault(account, {})[contact["contactNumber"]] = contact
    single = example("get-a-contact-response.json")
    grouped[CONTACTS][single["contactNumber"]] = single
    return grouped


def test_get_contacts_json(api, examples):
    listed = example("get-contacts-response.json")
    grouped = contacts_by_account()
    # The example lists one contact whose `via` link is on another account, CLOUD/7483483; the API
    # lists each account's own contacts, so the example is compared across both accounts' lists.
    assert set(grouped) == {CONTACTS, "CLOUD/7483483"}
    seen = set()
    for account, contacts in grouped.items():
        body = api.get(f"/v1/customer_accounts/{account}/contacts").json()
        ours = {c["contactNumber"]: c for c in body["contact"]}
        assert [c["contactNumber"] for c in body["contact"]] == sorted(contacts)  # RPN order
        assert without_links(ours) == {n: settle_contact_json(without_links(c)) for n, c in contacts.items()}
        for number, contact in ours.items():
            assert contact["link"] == [{"rel": "via", "href": f"{BASE}/{account}/contacts/{number}"}]
            for theirs in contacts[number].get("link", []):
                assert path_of(theirs["href"]) == path_of(contact["link"][0]["href"])
        # Every contact fits the first page: no `next` link (the example's has one, against the rules).
        assert links(body) == {}
        seen |= set(ours)
    assert {c["contactNumber"] for c in listed["contact"]} < seen
    assert [link["rel"] for link in listed["link"]] == ["next"]


def test_get_contacts_xml(api, examples):
    theirs = example_xml("get-contacts-response")
    single = example_xml("get-a-contact-response")
    grouped = contacts_by_account()
    expected = {c.get("contactNumber"): c for c in theirs.findall(f"{CMS}contact")}
    expected[single.get("contactNumber")] = single
    for number, element in expected.items():
        account = next(a for a, contacts in grouped.items() if number in contacts)
        settle_contact_xml(element, grouped[account][number])
    assert [link.get("rel") for link in theirs.findall(f"{ATOM}link")] == ["next"]
    for account, contacts in grouped.items():
        root = xml(api.get(f"/v1/customer_accounts/{account}/contacts.xml"))
        assert root.tag == theirs.tag == f"{CMS}contacts"
        assert xml_links(root) == {}  # one page: no `next` (see the JSON test)
        ours = root.findall(f"{CMS}contact")
        assert [c.get("contactNumber") for c in ours] == sorted(contacts)
        for contact in ours:
            number = contact.get("contactNumber")
            assert_same_xml(contact, expected[number])
            (via,) = contact.findall(f"{ATOM}link")
            assert via.get("rel") == "via" and via.get("href") == f"{BASE}/{account}/contacts/{number}"


# Metadata (operations 6 to 9)


def test_get_all_metadata(api, examples):
    name = "get-all-metadata-for-resource-response"
    path = "/v1/customer_accounts/CLOUD/10101/metadata"
    assert api.get(path).json() == example(f"{name}.json")
    ours = xml(api.get(f"{path}.xml"))
    assert ours.tag == f"{META}metadata"
    assert_same_xml(ours, example_xml(name))


def test_get_specific_metadata(api, examples):
    name = "get-specific-metadata-response"
    path = "/v1/customer_accounts/MANAGED_HOSTING/5342823/metadata/some:key"
    assert api.get(path).json() == example(f"{name}.json")
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml(name))


def test_get_metadata_detail(api, examples):
    name = "get-detail-for-specific-metadata-response"
    path = "/v1/customer_accounts/FANATICAL_SUPPORT_FOR_AWS/5342823/metadata/creation:faws:servicelevelid/detail"
    assert api.get(path).json() == example(f"{name}.json")
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml(name))


@pytest.mark.parametrize(("suffix", "content_type"), [("json", "application/json"), ("xml", "application/xml")])
def test_update_metadata_request_examples(api, examples, suffix, content_type):
    """The update request example, PUT as it is, then read back as the specific-metadata example shows it.

    The path names the key (the JSON body's key `name` has no namespace and is not stored; the XML
    body has none)."""
    path = "/v1/customer_accounts/CLOUD/10101/metadata/some:key"
    assert api.get(path).status_code == 404
    body = (EXAMPLES_DIR / f"update-specific-metadata-request.{suffix}").read_bytes()
    assert api.put(path, body, content_type=content_type).status_code == 204
    assert api.get(path).json() == example("get-specific-metadata-response.json")
    assert_same_xml(xml(api.get(f"{path}.xml")), example_xml("get-specific-metadata-response"))
    listing = api.get("/v1/customer_accounts/CLOUD/10101/metadata").json()["metadata"]
    assert listing == {**example("get-all-metadata-for-resource-response.json")["metadata"], "some:key": "Some Value"}
    assert "name" not in listing


def test_every_example_is_covered():
    """Each example file is compared by a test of this module (a new example needs a new test)."""
    covered = {
        *(f"get-customer-account-response-{kind}" for kind in ACCOUNT_EXAMPLES),
        "get-customer-accounts-response",
        "get-customer-account-status-history-response",
        "get-customer-account-history-response",
        "get-customer-history-response",
        "get-contacts-response",
        "get-a-contact-response",
        "get-all-metadata-for-resource-response",
        "get-specific-metadata-response",
        "get-detail-for-specific-metadata-response",
        "update-specific-metadata-request",
    }
    on_disk = {p.stem for p in EXAMPLES_DIR.iterdir() if p.suffix in (".json", ".xml")}
    assert on_disk == covered
    assert all((EXAMPLES_DIR / f"{name}.{ext}").exists() for name in covered for ext in ("json", "xml"))


# The order of a record's parts in XML


def layout(element: ET.Element):
    """The order of an element's parts: its child names (a run of one name counted once), and theirs."""
    names = [child.tag for child in element]
    runs = tuple(name for index, name in enumerate(names) if index == 0 or names[index - 1] != name)
    return element.tag, runs, tuple(sorted({layout(child) for child in element}))


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("get-customer-accounts-response", "/v1/customer_accounts.xml"),
        ("get-customer-account-history-response", f"/v1/customer_accounts/{HISTORY}/history.xml"),
        ("get-all-metadata-for-resource-response", "/v1/customer_accounts/CLOUD/10101/metadata.xml"),
    ],
)
def test_xml_parts_in_the_examples_order(api, examples, name, path):
    theirs = example_xml(name)
    for link in theirs.findall("link"):  # docs/API.md: every link is an Atom link; the accounts example's are bare
        link.tag = f"{ATOM}link"
    assert layout(xml(api.get(path))) == layout(theirs)


@pytest.mark.parametrize("name", ["get-a-contact-response", "get-contacts-response"])
def test_contact_xml_parts_in_the_examples_order(api, examples, name):
    theirs = example_xml(name)
    for link in theirs.findall(f"{ATOM}link"):  # one page: no `next` (docs/API.md rules)
        theirs.remove(link)
    if name == "get-a-contact-response":
        path = f"/v1/customer_accounts/{CONTACTS}/contacts/RPN-823-034-233.xml"
    else:
        path = f"/v1/customer_accounts/{CONTACTS}/contacts.xml"
    assert layout(xml(api.get(path))) == layout(theirs)
