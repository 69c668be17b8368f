"""PostgreSQL search indexes: pg_trgm, and trigram/expression indexes for the fragment searches.

Django compiles `icontains`/`istartswith` on PostgreSQL to `UPPER("col"::text) LIKE UPPER(%s)` and
`iexact` to `UPPER("col"::text) = UPPER(%s)`; the indexes below are built on exactly those
expressions so the planner can use them. They exist only on PostgreSQL: on SQLite these operations
do nothing, and the model state is untouched (so `makemigrations --check` stays clean).
"""

from django.db import migrations

from cmsportal.dbops import PostgreSQLOnly, trigram_index, btree_index


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        # TrigramExtension's own SQL, guarded: CREATE EXTENSION is not PostgreSQL-portable.
        PostgreSQLOnly("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        # Customer: name and RCN fragments (the RCN exact match uses the unique index).
        trigram_index("customer_name_trgm", "accounts_customer", 'UPPER("name"::text)'),
        trigram_index("customer_rcn_trgm", "accounts_customer", 'UPPER("rcn"::text)'),
        # Account: name, nickname and domain fragments; the account id case-insensitively (q's iexact arm).
        trigram_index("account_name_trgm", "accounts_account", 'UPPER("name"::text)'),
        trigram_index("account_nickname_trgm", "accounts_account", 'UPPER("nickname"::text)'),
        trigram_index("account_domain_trgm", "accounts_account", 'UPPER("domain"::text)'),
        btree_index("account_id_upper_idx", "accounts_account", 'UPPER("account_id"::text)'),
        # The `domain` filter in marker order: a range scan from the marker instead of sorting every match.
        PostgreSQLOnly(
            'CREATE INDEX IF NOT EXISTS "account_domain_key_idx" '
            'ON "accounts_account" ("domain", "type", "account_id")',
            'DROP INDEX IF EXISTS "account_domain_key_idx"',
        ),
    ]
