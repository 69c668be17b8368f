"""Fewer index entries per change: no request id index (nothing reads by it); the object index keyed by the
object's key alone (the key filter had no index without a type) and leaving out accounts' and metadata entries'
changes, which are found by the account index (`models.of_object`). Checks first that every such record names
the account of its key, as `change_record` requires."""

from django.db import migrations, models

ACCOUNT_KEYED = ("account", "metadata")


def check_account_keys(apps, schema_editor):
    Change = apps.get_model("changes", "Change")
    rows = Change.objects.using(schema_editor.connection.alias).filter(object_type__in=ACCOUNT_KEYED)
    fields = ("object_type", "object_key", "account_key")
    for object_type, object_key, account_key in rows.values_list(*fields).iterator(chunk_size=20_000):
        # The account's own key; a metadata entry's, all before its namespace:name (models.account_key_of).
        if account_key != (object_key if object_type == "account" else object_key.rsplit(" ", 1)[0]):
            raise RuntimeError(
                f"Change record of {object_key!r} names account {account_key!r}: an account's and a metadata "
                "entry's changes must name the account of their key. Correct the record and migrate again."
            )


class Migration(migrations.Migration):

    dependencies = [
        ('changes', '0002_webhooks'),
    ]

    operations = [
        migrations.RunPython(check_account_keys, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='change',
            name='change_object_idx',
        ),
        migrations.RemoveIndex(
            model_name='change',
            name='change_request_idx',
        ),
        migrations.AddIndex(
            model_name='change',
            index=models.Index(condition=models.Q(('object_type__in', ACCOUNT_KEYED), _negated=True), fields=['object_key', 'id'], name='change_object_key_idx'),
        ),
    ]
