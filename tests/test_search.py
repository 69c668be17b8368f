"""The search box: identifiers go straight to their record, fragments find grouped, highlighted results,
everything is scoped to what the user may see, and a search costs a bounded number of queries."""

import re

import pytest
from django.urls import reverse

from cmsportal import search as finder
from cmsportal.identity.models import TenantGrant
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    ContactFactory,
    CustomerFactory,
    EmailAddressFactory,
    PhoneNumberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SEARCH = "/search/"
SUGGEST = "/search/suggest"
MAX_QUERIES = 17


@pytest.fixture
def world():
    """Two tenants' worth of records: `mine` (tenant t-mine) and `theirs` (tenant t-theirs)."""
    mine = CustomerFactory(rcn="RCN-111-222-333", name="Blue Harbor Logistics")
    theirs = CustomerFactory(rcn="RCN-999-888-777", name="Blue Ridge Farms")
    account = AccountFactory(
        customer=mine,
        account_id="5342823",
        name="Harbor main",
        nickname="harborprod",
        tenant_id="t-mine",
        domain="harbor.example",
    )
    other = AccountFactory(
        customer=theirs,
        account_id="777001",
        name="Ridge main",
        nickname="ridgeprod",
        tenant_id="t-theirs",
        domain="ridge.example",
    )
    link = AccountContactFactory(
        account=account,
        contact=ContactFactory(
            contact_number="RPN-123-456-789",
            customer=mine,
            first_name="Marguerite",
            last_name="Okonkwo",
            username="mokonkwo",
        ),
    )
    other_link = AccountContactFactory(
        account=other,
        contact=ContactFactory(
            contact_number="RPN-987-654-321",
            customer=theirs,
            first_name="Marguerite",
            last_name="Oakley",
            username="moakley",
        ),
    )
    EmailAddressFactory(contact=link.contact, address="Marguerite.Okonkwo@Harbor.example")
    EmailAddressFactory(contact=other_link.contact, address="m.oakley@ridge.example")
    PhoneNumberFactory(contact=link.contact, number="+1 (210) 555-0199")
    PhoneNumberFactory(contact=other_link.contact, number="210.555.0177")
    return {
        "mine": mine,
        "theirs": theirs,
        "account": account,
        "other": other,
        "contact": link.contact,
        "other_contact": other_link.contact,
    }


@pytest.fixture
def tenant_client(client, world):
    user = UserFactory(username="tenant-user")
    TenantGrant.objects.create(user=user, tenant_id="t-mine")
    client.force_login(user)
    return client


def hits(response, kind):
    groups = response.context["results"].groups
    return [hit.url for hit in groups[kind]]


def test_search_requires_sign_in(client):
    response = client.get(SEARCH, {"q": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get(SUGGEST, {"q": "x"}).status_code == 302


@pytest.mark.parametrize(
    "query, target",
    [
        ("RCN-111-222-333", "mine"),
        ("rcn-111-222-333", "mine"),
        ("CLOUD/5342823", "account"),
        ("cloud/5342823", "account"),
        ("5342823", "account"),
        ("t-mine", "account"),
        ("RPN-123-456-789", "contact"),
        ("marguerite.okonkwo@harbor.example", "contact"),
    ],
)
def test_identifier_goes_straight_to_its_record(admin_client, world, query, target):
    response = admin_client.get(SEARCH, {"q": query})
    assert response.status_code == 302
    assert response["Location"] == world[target].get_absolute_url()


def test_account_number_distinct_from_id_redirects(admin_client, world):
    account = AccountFactory(account_id="RAN2823", number=4242, tenant_id="t-x")
    response = admin_client.get(SEARCH, {"q": "4242"})
    assert response["Location"] == account.get_absolute_url()


def test_account_id_matches_case_insensitively(admin_client, world):
    account = AccountFactory(type="MANAGED_HOSTING", account_id="RAN2823", tenant_id="hybrid:RAN2823")
    assert admin_client.get(SEARCH, {"q": "ran2823"})["Location"] == account.get_absolute_url()
    assert admin_client.get(SEARCH, {"q": "managed_hosting/ran2823"})["Location"] == account.get_absolute_url()


def test_ambiguous_account_id_lists_both(admin_client, world):
    AccountFactory(type="MANAGED_HOSTING", account_id="5342823", tenant_id="hybrid:5342823", name="Hybrid one")
    response = admin_client.get(SEARCH, {"q": "5342823"})
    assert response.status_code == 200
    assert len(hits(response, "accounts")) == 2


@pytest.mark.parametrize(
    "query, kind, target",
    [
        ("Harbor Logis", "customers", "mine"),
        ("111-222", "customers", "mine"),
        ("harbor.example", "accounts", "account"),
        ("harborprod", "accounts", "account"),
        ("Harbor mai", "accounts", "account"),
        ("CLOUD/53428", "accounts", "account"),
        ("Okonkwo", "contacts", "contact"),
        ("marguer", "contacts", "contact"),
        ("Marguerite Okon", "contacts", "contact"),
        ("mokonk", "contacts", "contact"),
        ("okonkwo@harb", "contacts", "contact"),
        ("123-456", "contacts", "contact"),
        ("210-555-0199", "contacts", "contact"),
        ("(210) 5550199", "contacts", "contact"),
        ("2105550199", "contacts", "contact"),
    ],
)
def test_fragments_find_each_kind(admin_client, world, query, kind, target):
    response = admin_client.get(SEARCH, {"q": query})
    assert response.status_code == 200
    assert world[target].get_absolute_url() in hits(response, kind)


def test_results_are_grouped_and_best_first(admin_client, world):
    CustomerFactory(rcn="RCN-000-000-001", name="The Blue Company")
    CustomerFactory(rcn="RCN-000-000-002", name="Blue")
    response = admin_client.get(SEARCH, {"q": "blue"})
    names = [str(hit.title) for hit in response.context["results"].groups["customers"]]
    # exact first, then prefixes, then contains
    assert names[0] == "<mark>Blue</mark>"
    assert names[-1] == "The <mark>Blue</mark> Company"
    assert set(names[1:3]) == {"<mark>Blue</mark> Harbor Logistics", "<mark>Blue</mark> Ridge Farms"}
    body = response.content.decode()
    # Only the kinds that matched get a box; the others are named in one line.
    shown = {section["kind"] for section in response.context["results"].sections}
    assert shown == {k for k, found in response.context["results"].groups.items() if found}
    assert "customers" in shown
    for kind in ("customers", "accounts", "contacts"):
        assert (f'data-testid="group-{kind}"' in body) == (kind in shown)
    assert f"{reverse('accounts:customer_list')}?q=blue" in body


def test_each_group_is_bounded(admin_client, db):
    for n in range(finder.RESULTS_PER_KIND + 5):
        CustomerFactory(rcn=f"RCN-555-000-{n:03d}", name=f"Zephyr {n}")
    response = admin_client.get(SEARCH, {"q": "zephyr"})
    assert len(hits(response, "customers")) == finder.RESULTS_PER_KIND
    assert response.context["results"].more["customers"] is True


def test_phone_digits_match_whatever_the_formatting(admin_client, world):
    response = admin_client.get(SEARCH, {"q": "555 01 99"})
    assert hits(response, "contacts") == [world["contact"].get_absolute_url()]
    assert "<mark>555-0199</mark>" in response.content.decode()


def test_phone_needs_three_digits(admin_client, world):
    response = admin_client.get(SEARCH, {"q": "21"})
    assert world["contact"].get_absolute_url() not in hits(response, "contacts")


def test_highlighting_escapes_markup(admin_client, db):
    CustomerFactory(rcn="RCN-321-321-321", name="<script>alert(1)</script> Evil & Co")
    response = admin_client.get(SEARCH, {"q": "<script>"})
    body = response.content.decode()
    assert "<script>alert(1)" not in body
    assert "<mark>&lt;script&gt;</mark>alert(1)&lt;/script&gt; Evil &amp; Co" in body


def test_highlight_function():
    assert str(finder.highlight("Tom & <b>Jerry</b>", "jerry")) == "Tom &amp; &lt;b&gt;<mark>Jerry</mark>&lt;/b&gt;"
    assert str(finder.highlight("Ann Lee", "ann lee")) == "<mark>Ann</mark> <mark>Lee</mark>"
    assert str(finder.highlight_digits("+1 (210) 555-0199", "2105550")) == "+1 (<mark>210) 555-0</mark>199"


def test_tenant_user_sees_only_their_records(tenant_client, world):
    response = tenant_client.get(SEARCH, {"q": "blue"})
    assert hits(response, "customers") == [world["mine"].get_absolute_url()]
    response = tenant_client.get(SEARCH, {"q": "marguerite"})
    assert hits(response, "contacts") == [world["contact"].get_absolute_url()]
    response = tenant_client.get(SEARCH, {"q": "prod"})
    assert hits(response, "accounts") == [world["account"].get_absolute_url()]
    response = tenant_client.get(SEARCH, {"q": "example"})
    assert world["other_contact"].get_absolute_url() not in hits(response, "contacts")
    assert world["other"].get_absolute_url() not in hits(response, "accounts")
    response = tenant_client.get(SEARCH, {"q": "210555"})
    assert hits(response, "contacts") == [world["contact"].get_absolute_url()]


@pytest.mark.parametrize("query", ["RCN-999-888-777", "CLOUD/777001", "777001", "t-theirs", "RPN-987-654-321"])
def test_tenant_user_is_not_sent_to_other_tenants_records(tenant_client, world, query):
    response = tenant_client.get(SEARCH, {"q": query})
    assert response.status_code == 200
    assert response.context["results"].empty


def test_tenant_user_email_exact_of_other_tenant_finds_nothing(tenant_client, world):
    response = tenant_client.get(SEARCH, {"q": "m.oakley@ridge.example"})
    assert response.status_code == 200
    assert response.context["results"].empty


def test_suggestions_fragment(admin_client, world):
    response = admin_client.get(SUGGEST, {"q": "harbor"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'role="option"' in body and 'role="group"' in body
    assert world["mine"].get_absolute_url() in body
    assert world["account"].get_absolute_url() in body
    assert "<mark>Harbor</mark>" in body


def test_suggestions_are_short_and_never_redirect(admin_client, db):
    for n in range(10):
        CustomerFactory(rcn=f"RCN-444-000-{n:03d}", name=f"Quasar {n}")
    response = admin_client.get(SUGGEST, {"q": "RCN-444-000-001"})
    assert response.status_code == 200
    response = admin_client.get(SUGGEST, {"q": "quasar"})
    assert response.content.decode().count('data-testid="suggestion"') == finder.SUGGESTIONS_PER_KIND


def test_suggestions_are_scoped(tenant_client, world):
    body = tenant_client.get(SUGGEST, {"q": "blue"}).content.decode()
    assert world["mine"].get_absolute_url() in body
    assert world["theirs"].get_absolute_url() not in body
    assert world["theirs"].rcn not in body


def test_empty_query(admin_client, db):
    response = admin_client.get(SEARCH, {"q": "   "})
    assert response.status_code == 200
    assert admin_client.get(SUGGEST).status_code == 200


@pytest.mark.parametrize("rows", [3, 30])
def test_query_count_is_bounded(admin_client, django_assert_max_num_queries, rows):
    for n in range(rows):
        customer = CustomerFactory(rcn=f"RCN-777-000-{n:03d}", name=f"Nimbus {n}")
        account = AccountFactory(customer=customer, name=f"Nimbus acct {n}", nickname=f"nimbus{n}")
        link = AccountContactFactory(account=account, contact__first_name="Nimbus", contact__customer=customer)
        EmailAddressFactory(contact=link.contact, address=f"nimbus{n}@example.com")
        PhoneNumberFactory(contact=link.contact, number=f"210-555-{n:04d}")
    # session, user, permissions (4) + identifiers (<= 2) + per kind, one query per stage that runs (<= 3)
    # and one read of the chosen rows; contacts also look at emails or phones (<= 2)
    for query in ("nimbus", "210-555", "cloud/nim", "nimbus@example", "zzz"):
        with django_assert_max_num_queries(MAX_QUERIES):
            assert admin_client.get(SEARCH, {"q": query}).status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        assert admin_client.get(SUGGEST, {"q": "nim"}).status_code == 200


def test_query_count_is_bounded_for_tenant_users(client, django_assert_max_num_queries):
    user = UserFactory(username="bounded")
    TenantGrant.objects.create(user=user, tenant_id="t1")
    for n in range(20):
        customer = CustomerFactory(name=f"Orbit {n}")
        AccountContactFactory(account=AccountFactory(customer=customer, tenant_id="t1"), contact__first_name="Orbit")
    client.force_login(user)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(SEARCH, {"q": "orbit"})
    assert len(hits(response, "customers")) == finder.RESULTS_PER_KIND


def test_short_queries_match_exactly_or_by_prefix_only(admin_client, world):
    """Trigram indexes cannot serve fragments under three characters: those match by prefix (two) or exactly."""
    arbor = CustomerFactory(rcn="RCN-222-333-444", name="Arbor Partners")
    one = CustomerFactory(rcn="RCN-222-333-445", name="B")
    response = admin_client.get(SEARCH, {"q": "ar"})
    assert hits(response, "customers") == [arbor.get_absolute_url()]  # not "Blue Harbor Logistics"
    response = admin_client.get(SEARCH, {"q": "b"})
    assert hits(response, "customers") == [one.get_absolute_url()]  # not "Blue ..."
    response = admin_client.get(SEARCH, {"q": "arb"})
    assert set(hits(response, "customers")) == {arbor.get_absolute_url(), world["mine"].get_absolute_url()}
    assert hits(response, "customers")[0] == arbor.get_absolute_url()  # the prefix before the fragment


@pytest.mark.parametrize(
    "query, target",
    [
        ("RCN-111-222-333", "mine"),
        ("CLOUD/5342823", "account"),
        ("RPN-123-456-789", "contact"),
        ("marguerite.okonkwo@harbor.example", "contact"),
    ],
)
def test_whole_identifier_is_one_query(admin_user, world, query, target):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert finder.exact_target(admin_user, query) == world[target].get_absolute_url()
    assert len(captured.captured_queries) == 1


@pytest.mark.parametrize(
    "query, kind, target",
    [
        ("RCN-111-222-333", "customers", "mine"),
        ("CLOUD/5342823", "accounts", "account"),
        ("RPN-123-456-789", "contacts", "contact"),
        ("marguerite.okonkwo@harbor.example", "contacts", "contact"),
    ],
)
def test_suggestions_for_a_whole_identifier_search_its_kind_only(admin_user, world, query, kind, target):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        results = finder.search(
            admin_user, query, limit=finder.SUGGESTIONS_PER_KIND, follow_identifiers=False, context=False
        )
    assert [hit.url for hit in results.groups[kind]] == [world[target].get_absolute_url()]
    assert not any(hits for k, hits in results.groups.items() if k != kind)
    # the exact stage, the read of its row (and for TYPE/ID the ids starting with it; for an address, the
    # usernames written like it)
    assert len(captured.captured_queries) <= 4


def test_dotted_fragment_finds_addresses_and_usernames_not_names(admin_client, world):
    response = admin_client.get(SEARCH, {"q": "e.okon"})
    assert hits(response, "contacts") == [world["contact"].get_absolute_url()]
    assert "Marguerit<mark>e.Okon</mark>kwo@Harbor.example" in response.content.decode()


@pytest.mark.postgres
@pytest.mark.parametrize("query", ["acme", "RCN-123", "CLOUD/5342", "smith@exa", "210-555-01", "Jane Smi", "x7"])
def test_every_search_query_can_be_served_by_indexes(admin_user, world, query):
    """With sequential scans disabled, no search query falls back to reading a whole searched table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        finder.search(admin_user, query, follow_identifiers=False)
        finder.exact_target(admin_user, query)
    searched = (
        "accounts_customer",
        "accounts_account",
        "contacts_contact",
        "contacts_emailaddress",
        "contacts_phonenumber",
    )
    assert captured.captured_queries
    with connection.cursor() as cursor:
        # Only bitmap scans stay allowed, and a bitmap scan needs an index condition: a query that no
        # index can narrow down must use a disabled plan, which PostgreSQL charges 1e10 cost units.
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        explained = 0
        for entry in captured.captured_queries:
            if not any(f'"{table}"' in entry["sql"] for table in searched):
                continue
            if re.search(r'WHERE "\w+"\."id" IN \([\d, ]+\)$', entry["sql"]):
                # Fetching the chosen rows by primary key is bounded by construction; with index scans
                # switched off the planner may still price a pk join as "disabled", which is no scan.
                continue
            cursor.execute("EXPLAIN " + entry["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            total_cost = float(re.search(r"cost=[\d.]+\.\.([\d.]+)", plan).group(1))
            assert total_cost < 1e9, f"{entry['sql']}\n{plan}"
            explained += 1
    assert explained, "no search query was checked"


def test_contact_hits_say_whose_they_are_and_where(admin_client, db):
    from tests.factories import AccountContactFactory, AccountFactory, ContactFactory

    acme = CustomerFactory(rcn="RCN-111-000-001", name="Acme Widgets")
    globex = CustomerFactory(rcn="RCN-222-000-002", name="Globex")
    for customer, prefix in ((acme, "1"), (globex, "2")):
        contact = ContactFactory(customer=customer, first_name="Sam", last_name="Lowry")
        for n in range(5):
            AccountContactFactory(account=AccountFactory(customer=customer, account_id=f"{prefix}{n}"), contact=contact)
    response = admin_client.get(SEARCH, {"q": "lowry"})
    contexts = sorted(hit.context for hit in response.context["results"].groups["contacts"])
    assert contexts == [
        ["of RCN-111-000-001 Acme Widgets", "on CLOUD/10, CLOUD/11, CLOUD/12 and more"],
        ["of RCN-222-000-002 Globex", "on CLOUD/20, CLOUD/21, CLOUD/22 and more"],
    ]
    assert "No customers or accounts match" in response.content.decode()


def test_contact_hits_name_only_accounts_the_user_sees(db):
    from django.test import Client

    from cmsportal.identity.models import TenantGrant
    from tests.factories import AccountContactFactory, AccountFactory, ContactFactory, UserFactory

    customer = CustomerFactory(rcn="RCN-333-000-003", name="Initech")
    contact = ContactFactory(customer=customer, first_name="Milton", last_name="Waddams")
    for account_id, tenant in (("31", "seen"), ("32", "hidden")):
        account = AccountFactory(customer=customer, account_id=account_id, tenant_id=tenant)
        AccountContactFactory(account=account, contact=contact)
    user = UserFactory(username="tenant-user")
    TenantGrant.objects.create(user=user, tenant_id="seen")
    client = Client()
    client.force_login(user)
    response = client.get(SEARCH, {"q": "waddams"})
    [hit] = response.context["results"].groups["contacts"]
    assert hit.context == ["of RCN-333-000-003 Initech", "on CLOUD/31"]
    assert "CLOUD/32" not in response.content.decode()


@pytest.mark.parametrize("limit", [1, 3, 10])
def test_exact_and_prefix_stages_read_together_answer_as_read_one_by_one(admin_user, db, limit):
    """One round trip for the two cheap stages on PostgreSQL (two on SQLite), the same rows either way,
    including when the exact stage alone fills the room (the prefix rows read with it are dropped)."""
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Customer

    for n in range(4):
        CustomerFactory(rcn=f"RCN-555-000-00{n}", name="Tessellate")
        CustomerFactory(rcn=f"RCN-555-000-01{n}", name=f"Tessellate {n}")
    stages = [Q(name__iexact="tessellate"), Q(name__istartswith="tessellate"), Q(name__icontains="essellat")]
    key = lambda row: (row[1].lower(), row[0])  # noqa: E731
    with CaptureQueriesContext(connection) as captured:
        together = finder._staged(Customer.objects.all(), stages, limit, ("rcn",), key, together=2)
    one_by_one = finder._staged(Customer.objects.all(), stages, limit, ("rcn",), key)
    assert together == one_by_one
    assert [row[1] for row in together[0]][: min(limit, 4)] == [f"RCN-555-000-00{n}" for n in range(min(limit, 4))]
    compound = connection.features.supports_slicing_ordering_in_compound
    # exact and prefix, and the contains stage only when their 8 rows leave room
    assert len(captured.captured_queries) == (1 if compound else 2) + (1 if limit + 1 > 8 else 0)
