"""The floor: the least any server could do for the hot API reads, as a WSGI app.

It runs the same SQL as the API on cmsportal's tables (account by type and id; a 50-row keyset page
ordered by (type, account_id); an account's contacts with their addresses, emails, phones and roles
on it; its metadata; one contact; its status history) through psycopg, one connection per worker
thread, and answers `json.dumps` of the same representation, under the same gunicorn settings.
cmsportal's latency divided by the floor's is the price of Django, DRF, authentication and access
scoping. It answers as a caller in no group: read-restricted metadata namespaces are left out.

    GET /floor/customer_accounts/{type}/{id}
    GET /floor/customer_accounts?marker=TYPE:ID&limit=50
    GET /floor/customer_accounts/{type}/{id}/contacts
    GET /floor/customer_accounts/{type}/{id}/contacts/{rpn}
    GET /floor/customer_accounts/{type}/{id}/metadata
    GET /floor/customer_accounts/{type}/{id}/status_history
"""

import json
import os
import threading
from datetime import UTC
from urllib.parse import parse_qs

import psycopg

COLUMNS = (
    "a.account_id, a.type, a.number, c.rcn, a.name, a.nickname, a.status, a.tenant_id, a.domain, a.service_level, "
    "a.collections_status, a.access_policy, a.parent_account_number, a.created_by, a.created_date, "
    "a.last_updated_by, a.last_updated_date"
)
KEYS = (
    "id",
    "type",
    "number",
    "rcn",
    "name",
    "nickname",
    "status",
    "tenantId",
    "domain",
    "serviceLevel",
    "collectionsStatus",
    "accessPolicy",
    "parentAccountNumber",
    "createdBy",
    "createdDate",
    "lastUpdatedBy",
    "lastUpdatedDate",
)
FROM = "FROM accounts_account a JOIN accounts_customer c ON c.id = a.customer_id"
ACCOUNT_SQL = f"SELECT {COLUMNS} {FROM} WHERE a.type = %s AND a.account_id = %s"
PAGE_SQL = f"SELECT {COLUMNS} {FROM} WHERE (a.type, a.account_id) >= (%s, %s) ORDER BY a.type, a.account_id LIMIT %s"
FIRST_PAGE_SQL = f"SELECT {COLUMNS} {FROM} ORDER BY a.type, a.account_id LIMIT %s"
ACCOUNT_PK_SQL = "SELECT id FROM accounts_account WHERE type = %s AND account_id = %s"
CONTACT_COLUMNS = (
    "c.id, c.contact_number, cu.rcn, c.first_name, c.last_name, c.title, c.suffix, c.username, c.do_not_fax, "
    "c.do_not_call, c.do_not_email, c.do_not_mail, c.do_not_survey, c.last_updated_by, c.last_updated_date, l.id"
)
CONTACTS_SQL = (
    f"SELECT {CONTACT_COLUMNS} FROM contacts_contact c JOIN contacts_accountcontact l ON l.contact_id = c.id "
    "JOIN accounts_customer cu ON cu.id = c.customer_id WHERE l.account_id = %s ORDER BY c.contact_number LIMIT %s"
)
CONTACT_SQL = (
    f"SELECT {CONTACT_COLUMNS} FROM contacts_contact c JOIN contacts_accountcontact l ON l.contact_id = c.id "
    "JOIN accounts_customer cu ON cu.id = c.customer_id WHERE l.account_id = %s AND c.contact_number = %s"
)
ADDRESSES_SQL = (
    'SELECT contact_id, street, city, state, zipcode, country, "primary" FROM contacts_address '
    "WHERE contact_id = ANY(%s) ORDER BY contact_id, id"
)
EMAILS_SQL = (
    'SELECT contact_id, address, "primary" FROM contacts_emailaddress '
    "WHERE contact_id = ANY(%s) ORDER BY contact_id, id"
)
PHONES_SQL = (
    'SELECT contact_id, number, country, mask, sms_verify, "primary" FROM contacts_phonenumber '
    "WHERE contact_id = ANY(%s) ORDER BY contact_id, id"
)
ROLES_SQL = "SELECT link_id, role FROM contacts_accountcontactrole WHERE link_id = ANY(%s) ORDER BY link_id, id"
METADATA_SQL = (
    "SELECT m.key, m.value FROM metadata_metadata m WHERE m.account_id = %s AND m.namespace NOT IN "
    "(SELECT name FROM metadata_namespace WHERE access = 'READ_RESTRICTED') ORDER BY m.key"
)
STATUS_SQL = (
    "SELECT date, status, username, usertype, collections_status, access_policy, fraud_status "
    "FROM accounts_statuschange WHERE account_id = %s ORDER BY date DESC NULLS FIRST, id DESC LIMIT %s"
)
ADDRESS_KEYS = ("street", "city", "state", "zipcode", "country", "primary")
EMAIL_KEYS = ("address", "primary")
PHONE_KEYS = ("number", "country", "mask", "smsVerify", "primary")
STATUS_KEYS = ("date", "status", "username", "usertype", "collectionsStatus", "accessPolicy", "fraudStatus")
BEFORE_SQL = "SELECT EXISTS (SELECT 1 FROM accounts_account a WHERE (a.type, a.account_id) < (%s, %s))"

_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, options="-c timezone=UTC")
        _local.conn = conn
    return conn


def format_date(value) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def account_json(row, base: str | None = None) -> dict:
    """The API account object of one row (absent values omitted, dates in the API's format)."""
    data = {}
    for key, value in zip(KEYS, row, strict=True):
        if value is None:
            continue
        data[key] = format_date(value) if key.endswith("Date") else value
    if base is not None:
        data["link"] = [{"rel": "via", "href": f"{base}/v1/customer_accounts/{data['type']}/{data['id']}"}]
    return data


def _respond(start_response, status: str, body: dict):
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _page(environ, base: str) -> dict:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    limit = min(int(query.get("limit", ["50"])[0]), 1000)
    marker = query.get("marker", [None])[0]
    with _connection().cursor() as cur:
        if marker:
            type_, _, account_id = marker.partition(":")
            cur.execute(PAGE_SQL, (type_.upper(), account_id, limit + 1))
            rows = cur.fetchall()
            cur.execute(BEFORE_SQL, (type_.upper(), account_id))
            has_previous = cur.fetchone()[0]
        else:
            cur.execute(FIRST_PAGE_SQL, (limit + 1,))
            rows = cur.fetchall()
            has_previous = False
    url = f"{base}/floor/customer_accounts"
    links = [
        {"rel": "CURRENT", "href": f"{url}?limit={limit}"},
        {"rel": "SELF", "href": f"{url}?{environ.get('QUERY_STRING', '')}"},
        {"rel": "LAST", "href": f"{url}?limit={limit}&marker=last&direction=backward"},
    ]
    if len(rows) > limit:
        links.append({"rel": "NEXT", "href": f"{url}?limit={limit}&marker={rows[limit][1]}:{rows[limit][0]}"})
    if has_previous and rows:
        links.append({"rel": "PREVIOUS", "href": f"{url}?limit={limit}&marker={rows[0][1]}:{rows[0][0]}"})
    return {"customerAccount": [account_json(row, base) for row in rows[:limit]], "link": links}


def _present(keys, values) -> dict:
    return {key: value for key, value in zip(keys, values, strict=True) if value is not None}


def _contacts(cur, account_pk: int, rows) -> list[dict]:
    """The contact objects of `rows` (CONTACT_COLUMNS), with their details and roles on the account."""
    ids, links = [row[0] for row in rows], [row[-1] for row in rows]
    details = {}
    for sql, keys, name in (
        (ADDRESSES_SQL, ADDRESS_KEYS, "addresses"),
        (EMAILS_SQL, EMAIL_KEYS, "emails"),
        (PHONES_SQL, PHONE_KEYS, "phones"),
    ):
        cur.execute(sql, (ids,))
        for owner, *values in cur.fetchall():
            details.setdefault((name, owner), []).append(_present(keys, values))
    cur.execute(ROLES_SQL, (links,))
    roles = {}
    for link, role in cur.fetchall():
        roles.setdefault(link, []).append(role)
    contacts = []
    for pk, number, rcn, first, last, title, suffix, username, *prefs, by, date, link in rows:
        data = _present(
            ("contactNumber", "rcn", "firstName", "lastName", "title", "suffix", "username"),
            (number, rcn, first, last, title, suffix, username),
        )
        data["roles"] = {"role": roles.get(link, [])}
        for key, wrap, name in (
            ("addresses", "address", "addresses"),
            ("emailAddresses", "emailAddress", "emails"),
            ("phoneNumbers", "phoneNumber", "phones"),
        ):
            if (name, pk) in details:  # an empty list is left out, like any absent value
                data[key] = {wrap: details[(name, pk)]}
        data["notificationPreferences"] = dict(
            zip(("doNotFax", "doNotCall", "doNotEmail", "doNotMail", "doNotSurvey"), prefs, strict=True)
        )
        if by is not None:
            data["lastUpdatedBy"] = by
        if date is not None:
            data["lastUpdatedDate"] = format_date(date)
        contacts.append(data)
    return contacts


def _under_account(environ, base: str, type_: str, account_id: str, rest: list[str]):
    """(status, body) of a read under one account, or None for a path the floor does not serve."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    limit = min(int(query.get("limit", ["50"])[0]), 1000)
    with _connection().cursor() as cur:
        cur.execute(ACCOUNT_PK_SQL, (type_.upper(), account_id))
        found = cur.fetchone()
        if found is None:
            return "404 Not Found", {"notFound": {"code": 404, "message": "Not found"}}
        account_pk = found[0]
        if rest == ["contacts"]:
            cur.execute(CONTACTS_SQL, (account_pk, limit + 1))
            rows = cur.fetchall()
            url = f"{base}/v1/customer_accounts/{type_.upper()}/{account_id}/contacts"
            items = _contacts(cur, account_pk, rows[:limit])
            for item in items:
                item["link"] = [{"rel": "via", "href": f"{url}/{item['contactNumber']}"}]
            links = []
            if len(rows) > limit:
                links.append({"rel": "next", "href": f"{url}?limit={limit}&marker={rows[limit][1]}&direction=forward"})
            return "200 OK", {"contact": items, "link": links}
        if len(rest) == 2 and rest[0] == "contacts":
            cur.execute(CONTACT_SQL, (account_pk, rest[1]))
            rows = cur.fetchall()
            if not rows:
                return "404 Not Found", {"notFound": {"code": 404, "message": "Not found"}}
            return "200 OK", _contacts(cur, account_pk, rows)[0]
        if rest == ["metadata"]:
            cur.execute(METADATA_SQL, (account_pk,))
            return "200 OK", {"metadata": dict(cur.fetchall())}
        if rest == ["status_history"]:
            cur.execute(STATUS_SQL, (account_pk, limit + 1))
            rows = cur.fetchall()
            changes = [
                _present(STATUS_KEYS, (format_date(row[0]) if row[0] else None, *row[1:])) for row in rows[:limit]
            ]
            data = {"statusChange": changes}
            if len(rows) > limit:
                url = f"{base}/v1/customer_accounts/{type_.upper()}/{account_id}/status_history"
                data["link"] = [{"rel": "next", "href": f"{url}?limit={limit}&offset={limit}"}]
            return "200 OK", data
    return None


def application(environ, start_response):
    """WSGI entry point (gunicorn bench.floor:application)."""
    path = environ.get("PATH_INFO", "")
    base = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', 'localhost')}"
    try:
        if path == "/floor/customer_accounts":
            return _respond(start_response, "200 OK", _page(environ, base))
        parts = path.split("/")
        if len(parts) == 5 and parts[:3] == ["", "floor", "customer_accounts"]:
            with _connection().cursor() as cur:
                cur.execute(ACCOUNT_SQL, (parts[3].upper(), parts[4]))
                row = cur.fetchone()
            if row is None:
                return _respond(start_response, "404 Not Found", {"notFound": {"code": 404, "message": "Not found"}})
            return _respond(start_response, "200 OK", account_json(row))
        if len(parts) > 5 and parts[:3] == ["", "floor", "customer_accounts"]:
            answer = _under_account(environ, base, parts[3], parts[4], parts[5:])
            if answer is not None:
                return _respond(start_response, *answer)
    except (ValueError, psycopg.Error) as exc:
        _local.conn = None
        return _respond(start_response, "500 Internal Server Error", {"error": type(exc).__name__})
    return _respond(start_response, "404 Not Found", {"notFound": {"code": 404, "message": "Not found"}})
