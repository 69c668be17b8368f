"""The PostgreSQL search indexes (accounts/contacts/metadata migrations 0002): present, and used by the ORM's lookups.

Each plan is taken with sequential scans disabled, which proves the index *can* serve the lookup
exactly as Django compiles it (`UPPER("col"::text) LIKE UPPER(%s)`); whether the planner prefers it on
a given table is the benchmark's business (bench/README.md).
"""

import pytest
from django.db import connection

from accounts.models import Account, Customer
from contacts.models import Contact, EmailAddress, PhoneNumber
from metadata.models import Metadata

from .factories import AccountFactory, EmailAddressFactory, MetadataFactory, PhoneNumberFactory

POSTGRES_ONLY_INDEXES = {
    "accounts_customer": {"customer_name_trgm", "customer_rcn_trgm"},
    "accounts_account": {
        "account_name_trgm",
        "account_nickname_trgm",
        "account_domain_trgm",
        "account_id_upper_idx",
        "account_domain_key_idx",
    },
    "contacts_contact": {
        "contact_first_name_trgm",
        "contact_last_name_trgm",
        "contact_number_trgm",
        "contact_username_trgm",
    },
    "contacts_emailaddress": {"email_lower_trgm"},
    "contacts_phonenumber": {"phone_digits_trgm"},
    "metadata_metadata": {"metadata_value_hash_idx"},
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
        (lambda: Customer.objects.filter(name__istartswith="acm"), "customer_name_trgm"),
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
        (lambda: Metadata.objects.filter(key="billing:plan", value="gold" * 2000), "metadata_value_hash_idx"),
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
    # Values longer than a btree entry can hold are stored and found (hash index on PostgreSQL).
    assert list(Metadata.objects.filter(key="billing:plan", value=long_value)) == [entry]
