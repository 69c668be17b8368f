"""Give every metadata entry its account's list key (type, account_id), and index metadata in list order.

The account list filtered by `metadataKey` (and `metadataValue`) is then read from the marker as one range
of `(key, account_type, account_ident)` (or, on PostgreSQL, `(key, md5(value), account_type, account_ident)`),
whatever the filter's selectivity and the page's depth.

The columns are added nullable, filled from the accounts in one statement, then made NOT NULL. The new
indexes replace `(key, account)` and, on PostgreSQL, `(key, md5(value))`: each is the leading part of a new
one, so every lookup they served is served by its successor.

The filter compares `md5(value)` and `value`, and a value mostly belongs to one key: without statistics on how
key, value and md5(value) depend on each other, PostgreSQL multiplies their selectivities, expects a handful of
matches where there are thousands, and sorts all of them instead of reading the first page from the index.
Extended statistics (functional dependencies) tell it; ANALYZE (run after large imports) keeps them current.

The UPDATE rewrites every metadata row and the index builds block writes to the table while they run:
on a large database, migrate in a quiet period and VACUUM ANALYZE the table afterwards.
"""

from django.db import migrations, models

from cmsportal.dbops import PostgreSQLOnly, create_index


def copy_list_keys(apps, schema_editor):
    Metadata = apps.get_model("metadata", "Metadata")
    Account = apps.get_model("accounts", "Account")
    connection = schema_editor.connection
    q = connection.ops.quote_name
    metadata, account = q(Metadata._meta.db_table), q(Account._meta.db_table)
    if connection.vendor == "postgresql":
        # One join, each row written once.
        sql = (
            f"UPDATE {metadata} AS m SET account_type = a.type, account_ident = a.account_id "
            f"FROM {account} AS a WHERE a.id = m.account_id"
        )
    else:
        sql = (
            f"UPDATE {metadata} SET "
            f"account_type = (SELECT a.type FROM {account} a WHERE a.id = {metadata}.account_id), "
            f"account_ident = (SELECT a.account_id FROM {account} a WHERE a.id = {metadata}.account_id)"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("metadata", "0003_key_value_md5_index")]

    operations = [
        migrations.AddField(
            model_name="metadata",
            name="account_type",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="metadata",
            name="account_ident",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(copy_list_keys, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="metadata",
            name="account_type",
            field=models.CharField(editable=False, max_length=32),
        ),
        migrations.AlterField(
            model_name="metadata",
            name="account_ident",
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.RemoveIndex(model_name="metadata", name="metadata_key_idx"),
        migrations.AddIndex(
            model_name="metadata",
            index=models.Index(fields=["key", "account_type", "account_ident"], name="metadata_key_list_idx"),
        ),
        PostgreSQLOnly(
            'DROP INDEX IF EXISTS "metadata_key_value_md5_idx"',
            'CREATE INDEX IF NOT EXISTS "metadata_key_value_md5_idx" ON "metadata_metadata" ("key", md5("value"))',
        ),
        create_index(
            "metadata_key_value_list_idx",
            "metadata_metadata",
            '("key", md5("value"), "account_type", "account_ident")',
        ),
        PostgreSQLOnly(
            'CREATE STATISTICS IF NOT EXISTS "metadata_key_value_stats" (dependencies) '
            'ON "key", "value", (md5("value")) FROM "metadata_metadata"',
            'DROP STATISTICS IF EXISTS "metadata_key_value_stats"',
        ),
        PostgreSQLOnly('ANALYZE "metadata_metadata"', migrations.RunSQL.noop),
    ]
