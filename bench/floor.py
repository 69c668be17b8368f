"""The floor: the least any server could do for the two hottest API reads, as a WSGI app.

It runs the same SQL as the API (account by type and id; a 50-row keyset page ordered by
(type, account_id)) through psycopg, one connection per worker thread, and answers `json.dumps` of
the same representation, under the same gunicorn settings. cmsportal's latency divided by the
floor's is the price of Django, DRF, authentication and access scoping.

    GET /floor/customer_accounts/{type}/{id}
    GET /floor/customer_accounts?marker=TYPE:ID&limit=50
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
    except (ValueError, psycopg.Error) as exc:
        _local.conn = None
        return _respond(start_response, "500 Internal Server Error", {"error": type(exc).__name__})
    return _respond(start_response, "404 Not Found", {"notFound": {"code": 404, "message": "Not found"}})
