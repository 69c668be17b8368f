"""A finer statistics sample of `address_lower` on PostgreSQL, so that an email fragment is planned by how
common it really is (bench/README.md, "Indexes and the plans behind them").

`address_lower LIKE '%frag%'` is estimated from the column's histogram: the share of its entries that
match. With the default 100 entries, any fragment matching one entry is estimated at 1 % and read from
the trigram index, building a bitmap of every match (30,000-55,000 for `.davi` or `nande` at 300,000
accounts) for the 200 candidates it needs; with 1,000 entries, a common fragment is seen as common and read
by a scan that stops at its 200th match. On SQLite these operations do nothing.
"""

from django.db import migrations

from cmsportal.dbops import PostgreSQLOnly


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_phone_normalized"),
    ]

    operations = [
        PostgreSQLOnly(
            [
                'ALTER TABLE "contacts_emailaddress" ALTER COLUMN "address_lower" SET STATISTICS 1000',
                'ANALYZE "contacts_emailaddress" ("address_lower")',
            ],
            [
                'ALTER TABLE "contacts_emailaddress" ALTER COLUMN "address_lower" SET STATISTICS -1',
                'ANALYZE "contacts_emailaddress" ("address_lower")',
            ],
        ),
    ]
