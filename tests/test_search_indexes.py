"""The PostgreSQL search indexes (accounts/contacts migrations 0002 and 0003, metadata 0004): present, and
used by the ORM's lookups and by the search's query shapes.

Most plans are taken with sequential scans disabled, which proves the index *can* serve the lookup
exactly as Django compiles it (`UPPER("col"::text) LIKE UPPER(%s)`). The search's candidate queries are
also planned on a table with enough rows and fresh statistics, with every plan allowed, to show that
PostgreSQL *prefers* the index for them (bench/README.md has the figures at scale).
"""

import hashlib

import pytest
from django.db import connection
from django.db.models.functions import MD5

from accounts.models import Account, Customer
from contacts.models import Contact, EmailAddress, PhoneNumber
from metadata.models import Metadata

from .factories import AccountFactory, EmailAddressFactory, MetadataFactory, PhoneNumberFactory

POSTGRES_ONLY_INDEXES = {
    "accounts_customer": {"customer_name_trgm", "customer_rcn_trgm", "customer_name_prefix", "customer_rcn_prefix"},
    "accounts_account": {
        "account_name_trgm",
        "account_nickname_trgm",
        "account_domain_trgm",
        "account_id_upper_idx",
        "account_domain_key_idx",
        "account_name_prefix",
        "account_nickname_prefix",
        "account_domain_prefix",
    },
    "contacts_contact": {
        "contact_first_name_trgm",
        "contact_last_name_trgm",
        "contact_number_trgm",
        "contact_username_trgm",
        "contact_first_name_prefix",
        "contact_last_name_prefix",
        "contact_username_prefix",
        "contact_number_prefix",
    },
    "contacts_emailaddress": {"email_lower_trgm"},
    "contacts_phonenumber": {"phone_digits_trgm"},
    "metadata_metadata": {"metadata_key_value_list_idx"},
}


def _index_names(table: str) -> set[str]:
    if connection.vendor == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE tablename = %s"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
    with connection.cursor() as cursor:
        cursor.execute(query, [table])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_search_indexes_exist_only_on_postgresql():
    for table, names in POSTGRES_ONLY_INDEXES.items():
        present = _index_names(table) & names
        if connection.vendor == "postgresql":
            assert present == names, table
        else:
            assert present == set(), table


@pytest.mark.postgres
@pytest.mark.django_db
def test_pg_trgm_extension_is_installed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == ("pg_trgm",)


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        # Only for this test's transaction: force the planner to show whether an index can answer.
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.order_by().explain()


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (lambda: Customer.objects.filter(name__icontains="acme"), "customer_name_trgm"),
        # Prefixes and case-insensitive equality: one range of a btree (text_pattern_ops), not trigram rechecks.
        (lambda: Customer.objects.filter(name__istartswith="acm"), "customer_name_prefix"),
        (lambda: Customer.objects.filter(name__iexact="acme"), "customer_name_prefix"),
        (lambda: Customer.objects.filter(rcn__istartswith="rcn-12"), "customer_rcn_prefix"),
        (lambda: Account.objects.filter(name__istartswith="ho"), "account_name_prefix"),
        (lambda: Account.objects.filter(nickname__iexact="prod"), "account_nickname_prefix"),
        (lambda: Account.objects.filter(domain__istartswith="exam"), "account_domain_prefix"),
        (lambda: Contact.objects.filter(first_name__istartswith="jo"), "contact_first_name_prefix"),
        (lambda: Contact.objects.filter(last_name__iexact="smith"), "contact_last_name_prefix"),
        (lambda: Contact.objects.filter(username__istartswith="jsm"), "contact_username_prefix"),
        (lambda: Contact.objects.filter(contact_number__istartswith="rpn-45"), "contact_number_prefix"),
        (lambda: Customer.objects.filter(rcn__icontains="123-45"), "customer_rcn_trgm"),
        (lambda: Account.objects.filter(name__icontains="hosting"), "account_name_trgm"),
        (lambda: Account.objects.filter(nickname__icontains="prod"), "account_nickname_trgm"),
        (lambda: Account.objects.filter(domain__icontains="example"), "account_domain_trgm"),
        (lambda: Account.objects.filter(account_id__iexact="ran2823"), "account_id_upper_idx"),
        (lambda: Contact.objects.filter(first_name__icontains="john"), "contact_first_name_trgm"),
        (lambda: Contact.objects.filter(last_name__icontains="smit"), "contact_last_name_trgm"),
        (lambda: Contact.objects.filter(username__icontains="jsmi"), "contact_username_trgm"),
        (lambda: Contact.objects.filter(contact_number__icontains="456-78"), "contact_number_trgm"),
        (lambda: EmailAddress.objects.filter(address_lower__contains="smith@"), "email_lower_trgm"),
        (lambda: PhoneNumber.objects.filter(digits__contains="55501"), "phone_digits_trgm"),
        (
            lambda: Metadata.objects.annotate(value_md5=MD5("value")).filter(
                key="billing:plan",
                value_md5=hashlib.md5(b"gold" * 2000, usedforsecurity=False).hexdigest(),
                value="gold" * 2000,
            ),
            "metadata_key_value_list_idx",
        ),
    ],
)
def test_lookup_is_served_by_its_index(queryset, index):
    assert index in _plan(queryset())


@pytest.mark.postgres
@pytest.mark.django_db
def test_domain_filter_in_marker_order_uses_the_composite_index():
    from cmsportal.api.pagination import RowCompare

    qs = Account.objects.filter(domain="example.com").filter(RowCompare(("type", "account_id"), ">=", ("CLOUD", "5")))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    assert "account_domain_key_idx" in qs.order_by("type", "account_id")[:50].explain()


@pytest.mark.django_db
def test_lookups_find_the_same_rows_with_the_indexes():
    """The indexed expressions are the lookups' own: results are right on both databases."""
    account = AccountFactory(name="Blue Harbour Hosting", nickname="prod-east", domain="harbour.example")
    AccountFactory(name="Other", nickname="dev", domain="other.example")
    email = EmailAddressFactory(address="Jane.Smith@Example.COM")
    phone = PhoneNumberFactory(number="+1 (210) 555-0199")
    long_value = "x" * 5000
    entry = MetadataFactory(account=account, key="billing:plan", value=long_value)

    assert list(Account.objects.filter(name__icontains="HARBOUR")) == [account]
    assert list(Account.objects.filter(nickname__icontains="PROD")) == [account]
    assert list(Account.objects.filter(domain__icontains="HARBOUR.")) == [account]
    assert list(EmailAddress.objects.filter(address_lower__contains="smith@example")) == [email]
    assert list(PhoneNumber.objects.filter(digits__contains="5550199")) == [phone]
    # Values longer than a btree entry can hold are stored and found (md5 index on PostgreSQL).
    assert list(Metadata.objects.filter(key="billing:plan", value=long_value)) == [entry]


def _fill_contacts(rows: int) -> None:
    """`rows` contacts in one statement, then fresh statistics, as after a bulk import and ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (contact_number, first_name, last_name, username, do_not_fax, "
            "do_not_call, do_not_email, do_not_mail, do_not_survey) "
            "SELECT 'RPN-' || lpad((n / 1000000)::text, 3, '0') || '-' || lpad(mod(n / 1000, 1000)::text, 3, '0') "
            "|| '-' || lpad(mod(n, 1000)::text, 3, '0'), "
            "(ARRAY['James', 'Maria', 'Wei', 'Aisha', 'Tomasz'])[mod(n, 5) + 1], "
            "(ARRAY['Smith', 'Garcia', 'Chen', 'Okafor', 'Nguyen', 'Lopez'])[mod(n, 6) + 1], 'user' || n, "
            "false, false, false, false, false FROM generate_series(1, %s) AS n",
            [rows],
        )
        cursor.execute("ANALYZE contacts_contact")


def _explain(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


# Rare fragments (a bare LIMIT 11 bets on a sequential scan finding them early), prefixes and exact names
# (a range of the btree prefix indexes), with the index each must be read from.
RARE_CONDITIONS = [
    ({"last_name__icontains": "okonkwo"}, "contact_last_name_trgm"),
    ({"first_name__icontains": "xyz"}, "contact_first_name_trgm"),
    ({"username__icontains": "user12345"}, "contact_username_trgm"),
    ({"last_name__istartswith": "okon"}, "contact_last_name_prefix"),
    ({"last_name__iexact": "okonkwo"}, "contact_last_name_prefix"),
    ({"contact_number__istartswith": "RPN-000-012"}, "contact_number_prefix"),
]


@pytest.mark.postgres
@pytest.mark.django_db
def test_search_candidates_are_read_from_an_index():
    """The stage query of cmsportal.search, planned freely on 100,000 analysed rows, reads the right index."""
    from django.db.models import Q

    from cmsportal.search import CANDIDATES

    _fill_contacts(100_000)
    for condition, index in RARE_CONDITIONS:
        queryset = Contact.objects.filter(Q(**condition)).order_by().values_list("pk", "contact_number")
        plan = _explain(*queryset[:CANDIDATES].query.sql_with_params())
        assert "Seq Scan" not in plan and index in plan, (condition, plan)


@pytest.mark.postgres
@pytest.mark.django_db
def test_common_fragment_stops_at_the_candidate_limit():
    """A fragment most rows match is answered from the first matching rows, whatever plan reads them."""
    from django.db.models import Q

    from cmsportal.search import CANDIDATES

    _fill_contacts(30_000)
    queryset = Contact.objects.filter(Q(last_name__icontains="mit")).order_by().values_list("pk")[:CANDIDATES]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]["Plan"]
    assert plan["Node Type"] == "Limit"
    assert plan["Actual Rows"] == CANDIDATES
    # 1 row in 6 is a Smith: about 6 x CANDIDATES rows are looked at, not the 30,000
    scanned = plan["Plans"][0]
    assert (
        scanned["Actual Rows"]
        + scanned.get("Rows Removed by Filter", 0)
        + scanned.get("Rows Removed by Index Recheck", 0)
        < 5_000
    ), plan


@pytest.mark.django_db
def test_email_addresses_keep_a_finer_statistics_sample_on_postgresql():
    """contacts/0005: an email fragment's share of the addresses is estimated from 1,000 histogram entries."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (SQLite keeps no such setting)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'contacts_emailaddress'::regclass "
            "AND attname = 'address_lower'"
        )
        assert cursor.fetchone()[0] == 1000
