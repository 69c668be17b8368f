"""PostgreSQL btree indexes for the search's exact and prefix stages on contacts and email addresses.

See accounts/migrations/0003_search_prefix_indexes.py: `UPPER("col"::text) text_pattern_ops` serves
`iexact` and `istartswith` as one range scan. `address_lower` is searched as is (already lower case).
On SQLite these operations do nothing.
"""

from django.db import migrations

from cmsportal.dbops import prefix_index


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_search_prefix_indexes"),
        ("contacts", "0002_search_indexes"),
    ]

    operations = [
        prefix_index("contact_first_name_prefix", "contacts_contact", "first_name"),
        prefix_index("contact_last_name_prefix", "contacts_contact", "last_name"),
        prefix_index("contact_username_prefix", "contacts_contact", "username"),
        prefix_index("contact_number_prefix", "contacts_contact", "contact_number"),
    ]
