"""PostgreSQL btree indexes for the search's exact and prefix stages on contacts and email addresses.

See accounts/migrations/0003_search_prefix_indexes.py: `UPPER("col"::text) text_pattern_ops` serves
`iexact` and `istartswith` as one range scan. `address_lower` is searched as is (already lower case).
On SQLite these operations do nothing.
"""

from django.db import migrations


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that runs only when the database is PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def prefix_index(name, table, expression):
    return PostgreSQLOnly(
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" (({expression}) text_pattern_ops)',
        f'DROP INDEX IF EXISTS "{name}"',
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_search_prefix_indexes"),
        ("contacts", "0002_search_indexes"),
    ]

    operations = [
        prefix_index("contact_first_name_prefix", "contacts_contact", 'UPPER("first_name"::text)'),
        prefix_index("contact_last_name_prefix", "contacts_contact", 'UPPER("last_name"::text)'),
        prefix_index("contact_username_prefix", "contacts_contact", 'UPPER("username"::text)'),
        prefix_index("contact_number_prefix", "contacts_contact", 'UPPER("contact_number"::text)'),
    ]
