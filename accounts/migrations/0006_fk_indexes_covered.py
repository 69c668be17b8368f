"""Foreign keys without an index of their own where a composite index already starts with the column (named
beside each field): one index less to write on every insert and to rebuild on every import. The state only
records `db_index=False`; the database drops the index (Django's own AlterField would also drop and re-validate
the foreign key, a scan of the whole table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_status_change_reason"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="account",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="accounts",
                        to="accounts.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="accounthistory",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="history",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="rcnchange",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rcn_changes",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="statuschange",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="status_changes",
                        to="accounts.account",
                    ),
                ),
            ],
            database_operations=[
                # accounts_account.customer_id: account_customer_key_idx
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "accounts_account_customer_id_c0b33c3a"',
                    'CREATE INDEX IF NOT EXISTS "accounts_account_customer_id_c0b33c3a" ON "accounts_account" ("customer_id")',
                ),
                # accounts_accounthistory.account_id: accthistory_account_date_idx
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "accounts_accounthistory_account_id_2340d2e2"',
                    'CREATE INDEX IF NOT EXISTS "accounts_accounthistory_account_id_2340d2e2" ON "accounts_accounthistory" ("account_id")',
                ),
                # accounts_rcnchange.account_id: rcnchange_account_date_idx
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "accounts_rcnchange_account_id_e3625ae1"',
                    'CREATE INDEX IF NOT EXISTS "accounts_rcnchange_account_id_e3625ae1" ON "accounts_rcnchange" ("account_id")',
                ),
                # accounts_statuschange.account_id: statuschange_account_idx
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "accounts_statuschange_account_id_eedd1a5c"',
                    'CREATE INDEX IF NOT EXISTS "accounts_statuschange_account_id_eedd1a5c" ON "accounts_statuschange" ("account_id")',
                ),
            ],
        ),
    ]
