"""PostgreSQL search indexes of contacts: trigram indexes for name, RPN, username, email and phone fragments.

See accounts/migrations/0002_search_indexes.py for why the expressions are `UPPER("col"::text)`.
`address_lower` and `digits` are already normalised (generated columns), so they are indexed as is,
for `contains`/`startswith` with a lower-cased email or the digits of a phone. On SQLite these
operations do nothing.
"""

from django.db import migrations

from cmsportal.dbops import trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_search_indexes"),
        ("contacts", "0001_initial"),
    ]

    operations = [
        trigram_index("contact_first_name_trgm", "contacts_contact", 'UPPER("first_name"::text)'),
        trigram_index("contact_last_name_trgm", "contacts_contact", 'UPPER("last_name"::text)'),
        trigram_index("contact_number_trgm", "contacts_contact", 'UPPER("contact_number"::text)'),
        trigram_index("contact_username_trgm", "contacts_contact", 'UPPER("username"::text)'),
        trigram_index("email_lower_trgm", "contacts_emailaddress", '"address_lower"::text'),
        trigram_index("phone_digits_trgm", "contacts_phonenumber", '"digits"::text'),
    ]
