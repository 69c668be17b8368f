"""Drift between what the API and the staff pages declare and what they serve.

- Every documented GET (enumerated from the served /v1/openapi.json, not from a list kept here)
  answers a staff client in JSON with a body its 200 schema accepts, the schemas read as closed: no
  undeclared key, every required key, the declared types.
- The same GET in XML carries the same fields as the JSON, by the mapping docs/API.md "Formats"
  documents (scalars are attributes, nested objects and lists are elements, `link` is Atom links,
  metadata entries are `meta[@key]`).
- Every staff CSV export (every `.csv` route, and the account list's "CSV of the selected") names
  in its header only declared fields of its resource.

The data (`world`) fills every optional field, so that a key the schema does not declare shows up;
`test_the_data_fills_every_declared_field` keeps it that way.
"""

import csv
import io
import json
from datetime import timedelta
from functools import cache

import jsonschema
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator

from accounts.models import AccessPolicy, AccountStatus, AccountType, CollectionsStatus, FraudStatus, UserType
from cmsportal import dates
from cmsportal import resources as r
from cmsportal.api.renderers import ATOM_NS, METADATA_NS, xml_text
from cmsportal.exchange.fields import CUSTOMER_FIELDS
from contacts.models import Role
from tests.changes.feed_records import record
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AccountHistoryFactory,
    AddressFactory,
    ContactFactory,
    CustomerFactory,
    EmailAddressFactory,
    MetadataFactory,
    PhoneNumberFactory,
    RCNChangeFactory,
    StaffFactory,
    StatusChangeFactory,
)

from .conftest import xml

pytestmark = pytest.mark.django_db


# --- the description ------------------------------------------------------------------------------


@cache
def _generated() -> dict:
    """The description as drf-spectacular generates it (for parametrizing at collection time; the
    tests check it against the served one)."""
    return SchemaGenerator().get_schema(request=None, public=True)


def _gets(spec: dict) -> list[str]:
    return sorted(path for path, item in spec["paths"].items() if "get" in item)


def _queries(spec: dict, path: str) -> list[str]:
    """The plain GET and, for a paged list, its first page of one (which links to the next)."""
    names = {p["name"] for p in spec["paths"][path]["get"].get("parameters", [])}
    return ["", "limit=1"] if "limit" in names else [""]


# Paths that read the change log: on PostgreSQL the feed shows only changes of finished transactions (below its
# horizon), so their cases run with committed data rather than inside the test's own transaction.
CHANGE_LOG_PATHS = ("/v1/changes",)


def _marks(path: str) -> list:
    return [pytest.mark.django_db(transaction=True)] if path.startswith(CHANGE_LOG_PATHS) else []


GETS = _gets(_generated())
CASES = [
    pytest.param(path, query, id=f"{path}?{query}", marks=_marks(path))
    for path in GETS
    for query in _queries(_generated(), path)
]
PATHS = [pytest.param(path, id=path, marks=_marks(path)) for path in GETS]


@pytest.fixture(scope="module")
def spec(django_db_blocker) -> dict:
    """The description as /v1/openapi.json serves it."""
    with django_db_blocker.unblock():
        response = Client().get("/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_every_documented_get_is_checked(spec):
    assert _gets(spec) == GETS
    assert len(GETS) >= 11  # the API's resources, and this enumeration found them


def _closed(schema):
    """An OpenAPI 3.0 schema as a closed JSON Schema: an object with `properties` and no
    `additionalProperties` admits no other key; `nullable` becomes a "null" type."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _closed(value) for key, value in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def _validator(spec: dict, schema: dict) -> jsonschema.Draft4Validator:
    # Draft 4 reads `$ref` as OpenAPI 3.0 does (siblings ignored) and its boolean exclusiveMinimum.
    root = {**_closed(schema), "components": {"schemas": _closed(spec["components"]["schemas"])}}
    return jsonschema.Draft4Validator(root)


def _response_schema(spec: dict, path: str, media_type: str = "application/json") -> dict:
    return spec["paths"][path]["get"]["responses"]["200"]["content"][media_type]["schema"]


def test_the_schemas_can_be_closed(spec):
    """Closing each schema is only sound when no object is split across the parts of an allOf (the
    alternatives of an anyOf or oneOf are closed each)."""

    def walk(schema, where):
        if isinstance(schema, dict):
            assert len(schema.get("allOf", [])) <= 1, where
            for key, value in schema.items():
                walk(value, f"{where}.{key}")
        elif isinstance(schema, list):
            for item in schema:
                walk(item, where)

    walk(spec["components"]["schemas"], "components")


# --- the data -------------------------------------------------------------------------------------


def _fill_declared(obj) -> None:
    """Give every plain declared field of `obj` still empty a value its declaration allows, so that
    a field just added to a declaration (and to its model) is shown too. Pattern fields are named by
    the data above."""
    resource = r.declaration_of(type(obj))
    values = {r.STR: "x", r.INT: 7, r.BOOL: True, r.DATE: dates.now()}
    changed = False
    for field in resource.fields:
        if field.type in (r.OBJECT, r.LIST) or field.arg or "." in field.attr or field.pattern:
            continue
        if getattr(obj, field.attr) is None:
            setattr(obj, field.attr, field.choices[0] if field.type == r.CHOICE else values[field.type])
            changed = True
    if changed:
        obj.save()


@pytest.fixture
def world(db) -> dict:
    """One account with every optional field, its three trails, a metadata entry and a contact with an
    address, an email address, a phone number and roles, two change records of it, and a second of each
    list entry; returns the path parameters naming them."""
    now = dates.now()
    customer = CustomerFactory()
    account = AccountFactory(
        customer=customer,
        type=AccountType.CLOUD,
        nickname="nick",
        status=AccountStatus.ACTIVE,
        collections_status=CollectionsStatus.CURRENT,
        access_policy=AccessPolicy.FULL,
        parent_account_number=42,
        created_by="factory",
        created_date=now - timedelta(days=1),
    )
    _fill_declared(account)
    StatusChangeFactory(
        account=account,
        collections_status=CollectionsStatus.CURRENT,
        access_policy=AccessPolicy.FULL,
        fraud_status=FraudStatus.ACCEPT,
    )
    AccountHistoryFactory(
        account=account,
        collections_status=CollectionsStatus.CURRENT,
        nickname="nick",
        destination_updated_by_username="other",
        destination_updated_by_type=UserType.RACKER,
    )
    RCNChangeFactory(account=account)
    entry = MetadataFactory(account=account)
    contact = ContactFactory(customer=customer, title="Dr", suffix="Jr")
    AccountContactFactory(account=account, contact=contact, roles=[Role.TECHNICAL, Role.BILLING])
    AddressFactory(contact=contact)
    EmailAddressFactory(contact=contact)
    PhoneNumberFactory(contact=contact, sms_verify=True)
    # A second of each list entry, so that a page of one links to the next.
    StatusChangeFactory(account=account, date=now - timedelta(hours=1))
    AccountHistoryFactory(account=account, updated_date=now - timedelta(hours=1))
    RCNChangeFactory(account=account, date=now - timedelta(hours=1))
    AccountContactFactory(account=account)
    AccountFactory(customer=customer)
    key = f"{account.type}/{account.account_id}"
    for status in (AccountStatus.SUSPENDED, AccountStatus.ACTIVE):
        record(object_key=key, account_key=key, rcn=customer.rcn, before={"status": "x"}, after={"status": str(status)})
    return {
        "accountType": account.type,
        "accountId": account.account_id,
        "key": entry.key,
        "contactNumber": contact.contact_number,
    }


def _url(path: str, world: dict, query: str = "") -> str:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    unknown = set(names) - set(world)
    assert not unknown, f"{path}: no data names the path parameter(s) {sorted(unknown)}: add them to `world`"
    for name in names:
        path = path.replace("{" + name + "}", world[name])
    return f"{path}?{query}" if query else path


# --- (a) JSON against the 200 schema --------------------------------------------------------------


@pytest.mark.parametrize(("path", "query"), CASES)
def test_json_body_matches_its_schema(path, query, spec, world, api):
    response = api.get(_url(path, world, query), HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    errors = sorted(_validator(spec, _response_schema(spec, path)).iter_errors(response.json()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_sees_drift(spec, world, api):
    """The check above can fail: an undeclared key (also nested), a missing required key, a wrong type."""
    path = "/v1/customer_accounts/{accountType}/{accountId}/contacts/{contactNumber}"
    body = api.get(_url(path, world), HTTP_ACCEPT="application/json").json()
    validator = _validator(spec, _response_schema(spec, path))
    assert not list(validator.iter_errors(body))
    nested = {**body, "notificationPreferences": {**body["notificationPreferences"], "doNotText": True}}
    missing = {k: v for k, v in body.items() if k != "contactNumber"}
    for drifted in ({**body, "nickname": "x"}, nested, missing, {**body, "title": 5}):
        assert list(validator.iter_errors(drifted)), drifted


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema or ("allOf" in schema and len(schema["allOf"]) == 1 and "properties" not in schema):
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        else:
            schema = schema["allOf"][0]
    return schema


def _declared(spec: dict, schema: dict, prefix: str = "") -> set[str]:
    """Every key path a schema declares (`a.b`, `a[].b`; `*` for the keys of a map)."""
    schema = _resolve(spec, schema)
    found = set()
    for key, sub in schema.get("properties", {}).items():
        found.add(prefix + key)
        found |= _declared(spec, sub, f"{prefix}{key}.")
    if "items" in schema:
        found |= _declared(spec, schema["items"], prefix[:-1] + "[].")
    if isinstance(schema.get("additionalProperties"), dict):
        found.add(prefix + "*")
    return found


def _served(value, prefix: str = "", maps: frozenset = frozenset()) -> set[str]:
    found = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            name = "*" if prefix[:-1] in maps else key
            found.add(prefix + name)
            found |= _served(sub, f"{prefix}{name}.", maps)
    elif isinstance(value, list):
        for item in value:
            found |= _served(item, prefix[:-1] + "[].", maps)
    return found


@pytest.mark.parametrize("path", PATHS)
def test_the_data_fills_every_declared_field(path, spec, world, api):
    """Otherwise an undeclared key could hide behind a field the data leaves empty."""
    declared = _declared(spec, _response_schema(spec, path))
    maps = frozenset(d[:-2] for d in declared if d.endswith(".*"))
    served = set()
    for query in _queries(spec, path):
        served |= _served(api.get(_url(path, world, query), HTTP_ACCEPT="application/json").json(), maps=maps)
    missing = declared - served
    assert not missing, f"{path}: the data shows none of {sorted(missing)}"


# --- (b) XML carries what JSON carries ------------------------------------------------------------


def _local(tag: str) -> tuple[str, str]:
    ns, _, name = tag[1:].partition("}")
    return ns, name


# Elements whose JSON objects XML carries as JSON text (their keys are a representation's, their values nest).
JSON_TEXT = {"change": ("before", "after")}


def _same(data, element, where: str) -> list[str]:
    """Where the XML element differs from the JSON value, by the documented mapping."""
    ns, name = _local(element.tag)
    if ns == METADATA_NS and isinstance(data, dict) and set(data) == {name} and name in ("metadata", "meta"):
        entries = data[name]
        if name == "meta":  # <meta key="k">v</meta>
            got = {element.get("key"): element.text or ""}
        else:  # <metadata><meta key="k">v</meta>...</metadata>
            got = {child.get("key"): child.text or "" for child in element}
        want = {key: xml_text(value) for key, value in entries.items()}
        return [] if got == want else [f"{where}: entries {got} != {want}"]
    problems = []
    scalars = {k: xml_text(v) for k, v in data.items() if v is not None and not isinstance(v, dict | list)}
    if dict(element.attrib) != scalars:
        problems.append(f"{where}: attributes {dict(element.attrib)} != JSON scalars {scalars}")
    links = [child for child in element if _local(child.tag)[0] == ATOM_NS]
    got_links = sorted((link.get("rel"), link.get("href")) for link in links)
    want_links = sorted((str(link["rel"]).lower(), link["href"]) for link in data.get("link") or [])
    if got_links != want_links:
        problems.append(f"{where}: links {got_links} != {want_links}")
    children = [child for child in element if _local(child.tag)[0] != ATOM_NS]
    nested = {k: v for k, v in data.items() if k != "link" and isinstance(v, dict | list)}
    names = {_local(child.tag)[1] for child in children}
    if names - set(nested):
        problems.append(f"{where}: elements {sorted(names - set(nested))} are not in the JSON")
    for key, value in nested.items():
        mine = [child for child in children if _local(child.tag)[1] == key]
        if key in JSON_TEXT.get(name, ()):
            # docs/API.md "Change feed": a change's before and after are their JSON, as text.
            try:
                same = len(mine) == 1 and not mine[0].attrib and not len(mine[0]) and json.loads(mine[0].text) == value
            except (TypeError, ValueError):
                same = False
            if not same:
                problems.append(f"{where}.{key}: not the JSON {value!r} as text")
            continue
        if isinstance(value, dict):
            if len(mine) != 1:
                problems.append(f"{where}.{key}: {len(mine)} elements for one JSON object")
            else:
                problems += _same(value, mine[0], f"{where}.{key}")
            continue
        if len(mine) != len(value):
            problems.append(f"{where}.{key}: {len(mine)} elements for {len(value)} JSON items")
            continue
        for i, (item, child) in enumerate(zip(value, mine, strict=True)):
            if isinstance(item, dict):
                problems += _same(item, child, f"{where}.{key}[{i}]")
            elif (child.text or "") != xml_text(item) or child.attrib or len(child):
                problems.append(f"{where}.{key}[{i}]: <{key}>{child.text}</{key}> != {item!r}")
    return problems


@pytest.mark.parametrize(("path", "query"), CASES)
def test_xml_carries_the_json_fields(path, query, world, api):
    url = _url(path, world, query)
    data = api.get(url, HTTP_ACCEPT="application/json").json()
    response = api.get(url, HTTP_ACCEPT="application/xml")
    assert response.status_code == 200, response.content
    problems = _same(data, xml(response), _local(xml(response).tag)[1])
    assert not problems, "\n".join(problems)


def test_the_xml_comparison_sees_a_difference():
    """The comparison above can fail: a dropped attribute, an extra element, a missing entry."""
    from defusedxml.ElementTree import fromstring

    cms, atom = "http://customer.api.rackspace.com/v1", ATOM_NS
    doc = fromstring(
        f'<contact xmlns="{cms}" xmlns:atom="{atom}" contactNumber="RPN-1"><roles><role>BILLING</role></roles>'
        '<atom:link rel="via" href="h"/></contact>'
    )
    good = {"contactNumber": "RPN-1", "roles": {"role": ["BILLING"]}, "link": [{"rel": "VIA", "href": "h"}]}
    assert _same(good, doc, "contact") == []
    assert _same({**good, "title": "Dr"}, doc, "contact")
    assert _same({**good, "roles": {"role": ["BILLING", "PRIMARY"]}}, doc, "contact")
    assert _same({k: v for k, v in good.items() if k != "roles"}, doc, "contact")
    assert _same({**good, "link": []}, doc, "contact")
    change = fromstring(f'<change xmlns="{cms}" id="1"><before>{{"status": "x"}}</before></change>')
    assert _same({"id": "1", "before": {"status": "x"}}, change, "change") == []
    assert _same({"id": "1", "before": {"status": "y"}}, change, "change")
    assert _same({"id": "1", "before": {"status": "x"}, "after": {"status": "y"}}, change, "change")


# --- (c) CSV headers name declared fields -------------------------------------------------------


def _csv_routes(resolver=None, namespace: str = "") -> set[str]:
    """The names of every route ending in `.csv`."""
    found = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found |= _csv_routes(entry, inner)
        elif isinstance(entry, URLPattern) and str(entry.pattern).endswith(".csv"):
            found.add(namespace + entry.name)
    return found


def _declared_fields(spec: dict, resource: str) -> set[str]:
    if resource == "customer":  # no API resource: the exchange format declares it
        return {key for key, _, _ in CUSTOMER_FIELDS}
    return set(spec["components"]["schemas"][resource]["properties"])


# Route name -> the resource its rows are.
CSV_EXPORTS = {
    "accounts:customer_export": "customer",
    "accounts:account_export": "Account",
    "contacts:contact_export": "Contact",
}


# The change log's CSV is no resource's subset: its columns are the change record's (cmsportal/changes/shapes.py).
OTHER_CSV_EXPORTS = {"changes:change_export"}


def test_every_csv_export_is_checked():
    assert _csv_routes() == set(CSV_EXPORTS) | OTHER_CSV_EXPORTS


def test_change_log_csv_header_is_the_change_records(staff_page, world):
    from cmsportal.changes.shapes import CSV_HEADER

    response = staff_page.get(reverse("changes:change_export"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0] == CSV_HEADER


@pytest.fixture
def staff_page(world) -> Client:
    client = Client()
    client.force_login(StaffFactory(username="drift-staff"))
    return client


def _header(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert len(rows) >= 2, "the export lists the world's rows"
    return rows[0]


@pytest.mark.parametrize("name", sorted(CSV_EXPORTS))
def test_csv_header_names_declared_fields(name, spec, staff_page):
    header = _header(staff_page.get(reverse(name)))
    assert set(header) <= _declared_fields(spec, CSV_EXPORTS[name]), header


def test_selected_accounts_csv_header_names_declared_fields(spec, staff_page, world):
    response = staff_page.post(
        reverse("accounts:account_bulk"), {"action": "csv", "selected": f"{world['accountType']}/{world['accountId']}"}
    )
    header = _header(response)
    assert set(header) <= _declared_fields(spec, "Account"), header
