"""Foreign keys without an index of their own where a composite index already starts with the column (named
beside each field): one index less to write on every insert and to rebuild on every import. The state only
records `db_index=False`; the database drops the index (Django's own AlterField would also drop and re-validate
the foreign key, a scan of the whole table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_fk_indexes_covered"),
        ("metadata", "0005_value_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="metadata",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="metadata",
                        to="accounts.account",
                    ),
                ),
            ],
            database_operations=[
                # metadata_metadata.account_id: metadata_account_key_uniq
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "metadata_metadata_account_id_161576f4"',
                    'CREATE INDEX IF NOT EXISTS "metadata_metadata_account_id_161576f4" ON "metadata_metadata" ("account_id")',
                ),
            ],
        ),
    ]
