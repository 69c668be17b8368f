"""The account list filtered by metadata: read in list order from the metadata entries' copy of the list key.

The pages, their links and their markers are those of the same accounts listed without the filter's join (a
plain list of the matching accounts, paged the same way), for every marker, direction, offset and size; on
PostgreSQL a page reads about a page of index entries wherever it lies and however rare the matches are.
"""

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.api.views import ACCOUNT_FILTERS
from accounts.models import Account
from cmsportal.api.pagination import AccountPagination
from tests.auth_cost import authentication_queries
from tests.factories import AccountFactory, MetadataFactory, TenantGrantFactory

from .conftest import client_for, links

pytestmark = pytest.mark.django_db

TYPES = ["CLOUD", "MANAGED_HOSTING", "FANATICAL_SUPPORT_FOR_AWS"]
LEVELS = ["managed", "navigator", "aviator"]


@pytest.fixture
def catalogue():
    """45 accounts over three types; metadata spread evenly, concentrated on one type, and rare."""
    made = []
    for n in range(45):
        account_type = TYPES[n % 3]
        account = AccountFactory(
            type=account_type,
            account_id=f"{n:03d}",
            domain="even" if n % 2 == 0 else "odd",
            tenant_id="t-1" if n % 4 == 0 else f"t-{n}",
        )
        made.append(account)
        MetadataFactory(account=account, key="support:level", value=LEVELS[n % 5 % 3])
        if account_type == "FANATICAL_SUPPORT_FOR_AWS":
            MetadataFactory(account=account, key="creation:faws:servicelevelid", value="AVIATOR")
        if n in (4, 26, 27):
            MetadataFactory(account=account, key="risk:score", value="0.47")
    return made


def matching(accounts, key, value=None, **where):
    """The accounts the filter should list, in list order (computed without the database's help)."""
    found = []
    for account in accounts:
        entries = {entry.key: entry.value for entry in account.metadata.all()}
        if key not in entries or (value is not None and entries[key] != value):
            continue
        if any(getattr(account, field) != wanted for field, wanted in where.items()):
            continue
        found.append(account)
    return sorted(found, key=lambda a: (a.type, a.account_id))


def keys(body) -> list[str]:
    return [f"{a['type']}:{a['id']}" for a in body["customerAccount"]]


def reference(path: str, expected, fixed=()) -> dict:
    """The page the same request gets from a plain list of the expected accounts."""
    request = RequestFactory().get(path)
    queryset = Account.objects.filter(pk__in=[a.pk for a in expected]).select_related("customer")
    page = AccountPagination(filters=ACCOUNT_FILTERS).paginate(queryset, request, fixed=fixed)
    return {"keys": [a.marker for a in page.items], "links": {link["rel"]: link["href"] for link in page.links}}


FILTERS = [
    ({"metadataKey": "support:level"}, {"key": "support:level"}),
    ({"metadataKey": "support:level", "metadataValue": "navigator"}, {"key": "support:level", "value": "navigator"}),
    ({"metadataKey": "creation:faws:servicelevelid"}, {"key": "creation:faws:servicelevelid"}),
    ({"metadataKey": "risk:score", "metadataValue": "0.47"}, {"key": "risk:score", "value": "0.47"}),
    ({"metadataKey": "risk:score", "metadataValue": "0.48"}, {"key": "risk:score", "value": "0.48"}),
    ({"metadataKey": "support:level", "domain": "even"}, {"key": "support:level", "domain": "even"}),
    (
        {"metadataKey": "support:level", "metadataValue": "managed", "accountType": "managed_hosting"},
        {"key": "support:level", "value": "managed", "type": "MANAGED_HOSTING"},
    ),
    ({"metadataKey": "creation:faws:servicelevelid", "accountType": "CLOUD"}, {"key": "creation:faws:servicelevelid"}),
]
POSITIONS = [
    {},
    {"marker": "CLOUD:009"},
    {"marker": "CLOUD:0095"},  # need not exist
    {"marker": "FANATICAL_SUPPORT_FOR_AWS:020"},
    {"marker": "MANAGED_HOSTING:001"},  # past every FANATICAL_SUPPORT_FOR_AWS account
    {"marker": "MANAGED_HOSTING:1"},
    {"marker": "A:1"},
    {"marker": "ZZZ:1"},
    {"marker": "MANAGED_HOSTING:013", "direction": "backward"},
    {"marker": "FANATICAL_SUPPORT_FOR_AWS:011", "direction": "backward"},
    {"marker": "CLOUD:000", "direction": "backward"},
    {"marker": "last", "direction": "backward"},
    {"marker": "last"},
    {"marker": "CLOUD:003", "offset": "2"},
    {"offset": "3"},
    {"marker": "MANAGED_HOSTING:004", "direction": "backward", "offset": "1"},
]


@pytest.mark.parametrize("limit", ["1", "2", "50"])
@pytest.mark.parametrize(("params", "wanted"), FILTERS)
def test_pages_and_links_are_those_of_the_plain_list(api, catalogue, params, wanted, limit):
    wanted = dict(wanted)
    key, value = wanted.pop("key"), wanted.pop("value", None)
    if "accountType" in params and "type" not in wanted:
        wanted["type"] = params["accountType"].upper()
    expected = matching(catalogue, key, value, **wanted)
    fixed = (params["accountType"].upper(),) if "accountType" in params else ()
    for position in POSITIONS:
        path = "/v1/customer_accounts?" + urlencode({**params, **position, "limit": limit})
        response = api.get(path)
        assert response.status_code == 200, response.content
        body = response.json()
        assert {"keys": keys(body), "links": links(body)} == reference(path, expected, fixed), path


@pytest.mark.parametrize("limit", [1, 3, 50])
@pytest.mark.parametrize(("params", "wanted"), FILTERS[:4])
def test_walks_visit_every_match_once(api, catalogue, params, wanted, limit):
    from .test_pagination import path_of, walk

    expected = [a.marker for a in matching(catalogue, **wanted)]
    first = api.get("/v1/customer_accounts?" + urlencode({**params, "limit": limit})).json()
    forward, _ = walk(api, path_of(links(first)["CURRENT"]), "NEXT")
    assert [record for page in forward for record in page] == expected
    backward, _ = walk(api, path_of(links(first)["LAST"]), "PREVIOUS")
    assert [record for page in reversed(backward) for record in page] == expected


def test_tenant_users_see_their_matching_accounts_only(catalogue):
    from tests.factories import UserFactory

    user = UserFactory(username="meta-tenant")
    TenantGrantFactory(user=user, tenant_id="t-1")
    client = client_for(user)
    expected = [a for a in matching(catalogue, "support:level") if a.tenant_id == "t-1"]
    assert expected  # every fourth account
    for position in POSITIONS:
        path = "/v1/customer_accounts?" + urlencode({"metadataKey": "support:level", **position, "limit": 2})
        body = client.get(path).json()
        assert {"keys": keys(body), "links": links(body)} == reference(path, expected), path


def test_the_page_joins_one_entry_per_account(api, catalogue):
    """Key, value, md5 and the copy of the list key are all conditions on one joined entry."""
    path = "/v1/customer_accounts?metadataKey=support:level&metadataValue=managed&accountType=CLOUD&marker=CLOUD:003"
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path).status_code == 200
    page = captured.captured_queries[-1]["sql"]
    table = connection.ops.quote_name("metadata_metadata")
    # the page, and beside it the probe for the key before the marker
    assert page.count(f"JOIN {table}") == 2, page


def test_query_count_is_that_of_any_list_page(api, catalogue):
    """Authentication, the namespace policy of the key, then the page (and, past the end, one probe before it)."""
    for query, count in (
        ("metadataKey=support:level", 3),
        ("metadataKey=support:level&metadataValue=managed&marker=CLOUD:009", 3),
        ("metadataKey=support:level&marker=MANAGED_HOSTING:013&direction=backward", 3),
        ("metadataKey=creation:faws:servicelevelid&marker=MANAGED_HOSTING:1", 4),
    ):
        url = f"/v1/customer_accounts?{query}&limit=5"
        api.get(url)  # warm up: the token's last-used time is written at most once in a while
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        expected = count - 1 + authentication_queries()
        assert len(captured) == expected, (query, [q["sql"] for q in captured.captured_queries])


# --- PostgreSQL: the plan -------------------------------------------------------------------------


def _fill(accounts: int) -> None:
    """`accounts` accounts in one statement, a third of each type; every account has support:level (a..e, and
    `rare` on every 500th), the FANATICAL_SUPPORT_FOR_AWS ones also creation:faws:servicelevelid."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounts_customer (rcn, implicit) VALUES ('RCN-000-000-001', false) RETURNING id")
        (customer,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO accounts_account (type, account_id, customer_id) "
            "SELECT (ARRAY['CLOUD', 'FANATICAL_SUPPORT_FOR_AWS', 'MANAGED_HOSTING'])[n %% 3 + 1], "
            "lpad(n::text, 7, '0'), %s FROM generate_series(1, %s) AS n",
            [customer, accounts],
        )
        insert = (
            "INSERT INTO metadata_metadata (account_id, account_type, account_ident, key, value) "
            "SELECT id, type, account_id, %s, {value} FROM accounts_account WHERE {where}"
        )
        level = "CASE WHEN id %% 500 = 0 THEN 'rare' ELSE chr(97 + (id %% 5)::int) END"
        cursor.execute(insert.format(value=level, where="true"), ["support:level"])
        cursor.execute(
            insert.format(value="'AVIATOR'", where="type = 'FANATICAL_SUPPORT_FOR_AWS'"),
            ["creation:faws:servicelevelid"],
        )
        cursor.execute("ANALYZE accounts_account")
        cursor.execute("ANALYZE metadata_metadata")


def _page_plan(client, query: str) -> dict:
    """EXPLAIN ANALYZE (JSON) of the page query the list runs for `query`."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/v1/customer_accounts?" + query).status_code == 200
    sql = next(q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"] and "LIMIT 51" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql)
        return cursor.fetchone()[0][0]["Plan"]


def _nodes(plan: dict):
    """The plan's nodes, without its subplans (the probes beside the marker)."""
    yield plan
    for child in plan.get("Plans", []):
        if child.get("Parent Relationship") not in ("InitPlan", "SubPlan"):
            yield from _nodes(child)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("metadataKey=creation:faws:servicelevelid", "metadata_key_list_idx"),
        ("metadataKey=creation:faws:servicelevelid&marker=FANATICAL_SUPPORT_FOR_AWS:0024000", "metadata_key_list_idx"),
        # past every match: the old plan read every later account to find none
        ("metadataKey=creation:faws:servicelevelid&marker=MANAGED_HOSTING:0000003", "metadata_key_list_idx"),
        ("metadataKey=support:level&marker=MANAGED_HOSTING:0027000", "metadata_key_list_idx"),
        ("metadataKey=support:level&metadataValue=c", "metadata_key_value_list_idx"),
        ("metadataKey=support:level&metadataValue=c&marker=MANAGED_HOSTING:0027000", "metadata_key_value_list_idx"),
        (
            "metadataKey=support:level&metadataValue=c&marker=CLOUD:0027000&direction=backward",
            "metadata_key_value_list_idx",
        ),
        # a rare value of a common key, at either end of the list and in the middle, both ways
        ("metadataKey=support:level&metadataValue=rare", "metadata_key_value_list_idx"),
        (
            "metadataKey=support:level&metadataValue=rare&marker=CLOUD:0020000&direction=backward",
            "metadata_key_value_list_idx",
        ),
        ("metadataKey=support:level&metadataValue=rare&marker=MANAGED_HOSTING:0010000", "metadata_key_value_list_idx"),
        ("metadataKey=support:level&metadataValue=rare&marker=last&direction=backward", "metadata_key_value_list_idx"),
    ],
)
def test_a_page_reads_a_page_of_the_metadata_index(api, query, index):
    _fill(30_000)
    plan = _page_plan(api, query + "&limit=50")
    (scan,) = [node for node in _nodes(plan) if node.get("Relation Name") == "metadata_metadata"]
    # An Index Scan in list order; or, when only a few dozen entries match at all, a Bitmap Heap Scan of the
    # same index and a sort of those few.
    assert index in {node.get("Index Name") for node in _nodes(scan)}, plan
    # About a page of entries read (the page holds 51), whatever lies between the marker and the matches: the
    # plans before the copy of the list key read every account in between, or every entry of the key.
    read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0) + scan.get("Rows Removed by Index Recheck", 0)
    assert read <= 2 * 51, plan


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("operator", "marker"),
    [(">", ("MANAGED_HOSTING", "0000003")), ("<", ("CLOUD", "0029998")), (">=", ("MANAGED_HOSTING", "0000003"))],
)
def test_strict_keysets_are_estimated_by_the_rows_they_keep(operator, marker):
    """PostgreSQL estimates a row comparison by its first column: `(type, id) > ('MANAGED_HOSTING', x)` alone would
    count as no rows (MANAGED_HOSTING is the last type), and a page that seems to hold one row may be read from an
    index that answers fewer of the filters. Written as row_compare writes it, the estimate is the type's rows."""
    from cmsportal.api.pagination import row_compare

    _fill(30_000)
    queryset = Account.objects.filter(row_compare(("type", "account_id"), operator, marker)).order_by()
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        estimate = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    assert estimate > 1_000  # 10,000 accounts of each type
