"""The normalised search key of phone numbers (contacts.phones.search_key), filled for the stored rows."""

from django.db import migrations, models

BATCH = 5000


def backfill(apps, schema_editor):
    from contacts.phones import search_key

    PhoneNumber = apps.get_model("contacts", "PhoneNumber")
    db = schema_editor.connection.alias
    last = 0
    while True:
        rows = list(
            PhoneNumber.objects.using(db).filter(pk__gt=last).order_by("pk").only("pk", "number", "country")[:BATCH]
        )
        if not rows:
            return
        for row in rows:
            row.normalized = search_key(row.number, row.country)
        PhoneNumber.objects.using(db).bulk_update(rows, ["normalized"], batch_size=1000)
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0003_search_prefix_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="phonenumber",
            name="normalized",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="Search key (contacts.phones.search_key): E.164 when the number parses, else its digits. "
                "Derived from number and country on every save, bulk_create and import.",
                max_length=64,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(fields=["normalized"], name="phone_normalized_idx", opclasses=["varchar_pattern_ops"]),
        ),
    ]
