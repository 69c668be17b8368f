"""PostgreSQL index serving the metadata key/value filter (`metadataKey` + `metadataValue`).

A plain btree on `value` (a TextField) fails on values longer than about 2.7 kB, so equality on the
value is served by a hash index, which stores only a 32-bit hash and takes values of any length; the
planner combines it with the existing (key, account) index. On SQLite this does nothing.
"""

from django.db import migrations

from cmsportal.dbops import PostgreSQLOnly


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_search_indexes"),
        ("metadata", "0001_initial"),
    ]

    operations = [
        PostgreSQLOnly(
            'CREATE INDEX IF NOT EXISTS "metadata_value_hash_idx" ON "metadata_metadata" USING hash ("value")',
            'DROP INDEX IF EXISTS "metadata_value_hash_idx"',
        ),
    ]
