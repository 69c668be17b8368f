"""Foreign keys without an index of their own where a composite index already starts with the column (named
beside each field): one index less to write on every insert and to rebuild on every import. The state only
records `db_index=False`; the database drops the index (Django's own AlterField would also drop and re-validate
the foreign key, a scan of the whole table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_fk_indexes_covered"),
        ("contacts", "0005_email_statistics"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accountcontact",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contact_links",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="accountcontact",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="account_links",
                        to="contacts.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="accountcontactrole",
                    name="link",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="roles",
                        to="contacts.accountcontact",
                    ),
                ),
            ],
            database_operations=[
                # contacts_accountcontact.account_id: accountcontact_uniq
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "contacts_accountcontact_account_id_dd65548b"',
                    'CREATE INDEX IF NOT EXISTS "contacts_accountcontact_account_id_dd65548b" ON "contacts_accountcontact" ("account_id")',
                ),
                # contacts_accountcontact.contact_id: accountcontact_contact_idx
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "contacts_accountcontact_contact_id_3dba89b7"',
                    'CREATE INDEX IF NOT EXISTS "contacts_accountcontact_contact_id_3dba89b7" ON "contacts_accountcontact" ("contact_id")',
                ),
                # contacts_accountcontactrole.link_id: accountcontactrole_uniq
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "contacts_accountcontactrole_link_id_c44e5023"',
                    'CREATE INDEX IF NOT EXISTS "contacts_accountcontactrole_link_id_c44e5023" ON "contacts_accountcontactrole" ("link_id")',
                ),
            ],
        ),
    ]
