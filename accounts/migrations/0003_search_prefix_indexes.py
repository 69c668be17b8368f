"""PostgreSQL btree indexes for the search's exact and prefix stages on customers and accounts.

`iexact` and `istartswith` compile to `UPPER("col"::text) = UPPER(%s)` and `... LIKE UPPER('x%')`. A trigram
index answers both only approximately: it finds every row with a *word* starting with the prefix and
rechecks each, so the work grows with the table however few rows truly match. A btree on the same
expression with `text_pattern_ops` (usable by LIKE whatever the database collation) turns both into one
range scan that stops at the search's LIMIT. On SQLite these operations do nothing.
"""

from django.db import migrations

from cmsportal.dbops import prefix_index


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_search_indexes"),
    ]

    operations = [
        prefix_index("customer_name_prefix", "accounts_customer", "name"),
        prefix_index("customer_rcn_prefix", "accounts_customer", "rcn"),
        prefix_index("account_name_prefix", "accounts_account", "name"),
        prefix_index("account_nickname_prefix", "accounts_account", "nickname"),
        prefix_index("account_domain_prefix", "accounts_account", "domain"),
    ]
