"""Every change a remembered API token depends on notifies the `cms_auth` channel when it commits.

Workers remember the tokens they found valid (cmsportal/identity/tokencache.py) and forget them all when
this channel speaks: a token revoked, expired early, moved or deleted; a user changed (but for recording a
sign-in) or deleted; a permission or group granted or withdrawn, directly or through a group; a permission
or content type renamed or deleted. Statement-level triggers: one notification per statement, and
PostgreSQL folds the identical notifications of one transaction into one. PostgreSQL only (SQLite
remembers nothing).
"""

from django.conf import settings
from django.db import migrations

FUNCTION = "cms_auth_changed"
CHANNEL = "cms_auth"


def _targets(apps):
    """(table, events) for every table a token's validity or its user's global view permission reads."""
    user = apps.get_model(settings.AUTH_USER_MODEL)
    group = apps.get_model("auth", "Group")
    columns = ", ".join(
        f'"{field.column}"' for field in user._meta.concrete_fields if field.column not in ("last_login",)
    )
    through = [
        user._meta.get_field("groups").remote_field.through._meta.db_table,
        user._meta.get_field("user_permissions").remote_field.through._meta.db_table,
        group._meta.get_field("permissions").remote_field.through._meta.db_table,
    ]
    return [
        ("identity_token", 'UPDATE OF "revoked_at", "expires", "user_id", "key_hash" OR DELETE OR TRUNCATE'),
        (user._meta.db_table, f"UPDATE OF {columns} OR DELETE OR TRUNCATE"),
        *((table, "INSERT OR UPDATE OR DELETE OR TRUNCATE") for table in through),
        (apps.get_model("auth", "Permission")._meta.db_table, "UPDATE OR DELETE OR TRUNCATE"),
        (apps.get_model("contenttypes", "ContentType")._meta.db_table, "UPDATE OR DELETE OR TRUNCATE"),
    ]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    for table, events in _targets(apps):
        schema_editor.execute(f'DROP TRIGGER IF EXISTS {FUNCTION} ON "{table}"')
        schema_editor.execute(
            f'CREATE TRIGGER {FUNCTION} AFTER {events} ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _events in _targets(apps):
        schema_editor.execute(f'DROP TRIGGER IF EXISTS {FUNCTION} ON "{table}"')
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0003_signin_failure_counts"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create, drop)]
