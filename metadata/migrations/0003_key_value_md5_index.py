"""Serve the metadata key/value filter with a btree on (key, md5(value)) instead of a hash on value.

A hash index on `value` is slow to build and to update when many entries share a value (as metadata
values do: a handful of distinct values per key), which made it the most expensive index of a bulk
load. md5 keeps the btree entries small whatever the value's length; the filter compares both the
md5 (to use this index) and the value itself (to be exact). On SQLite this does nothing.
"""

from django.db import migrations

from cmsportal.dbops import PostgreSQLOnly, create_index


class Migration(migrations.Migration):
    dependencies = [("metadata", "0002_value_index")]

    operations = [
        PostgreSQLOnly(
            'DROP INDEX IF EXISTS "metadata_value_hash_idx"',
            'CREATE INDEX IF NOT EXISTS "metadata_value_hash_idx" ON "metadata_metadata" USING hash ("value")',
        ),
        create_index("metadata_key_value_md5_idx", "metadata_metadata", '("key", md5("value"))'),
    ]
