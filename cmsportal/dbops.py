"""Migration operations for PostgreSQL-only indexes (trigram, expression, text_pattern_ops).

The embedded SQLite database gets none of them: its searches scan, which is fine at its size.
"""

from django.db import migrations

__all__ = ["PostgreSQLOnly", "create_index", "trigram_index", "btree_index", "prefix_index"]


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that runs only when the database is PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_index(name: str, table: str, definition: str) -> PostgreSQLOnly:
    """`CREATE INDEX name ON table definition` (reversible), e.g. definition `USING gin (...)`."""
    return PostgreSQLOnly(
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" {definition}',
        f'DROP INDEX IF EXISTS "{name}"',
    )


def trigram_index(name: str, table: str, expression: str) -> PostgreSQLOnly:
    return create_index(name, table, f"USING gin (({expression}) gin_trgm_ops)")


def btree_index(name: str, table: str, expression: str) -> PostgreSQLOnly:
    return create_index(name, table, f"(({expression}))")


def prefix_index(name: str, table: str, column: str) -> PostgreSQLOnly:
    return create_index(name, table, f'((UPPER("{column}"::text)) text_pattern_ops)')
