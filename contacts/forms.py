"""The staff pages' contact form: every field of a contact, its emails, phones and addresses, and its roles.

The form knows the contact as it was when the page was opened, so that it can refuse a submission that
changes nothing and describe, field by field, what a submission would change before it is confirmed.
The services (contacts/services.py) do the writing and the checking.
"""

from dataclasses import dataclass

from django import forms

from .choices import Role

__all__ = [
    "EXTRA_ROWS",
    "NAME_FIELDS",
    "PREFERENCE_FIELDS",
    "Group",
    "EMAILS",
    "PHONES",
    "ADDRESSES",
    "GROUPS",
    "ContactEditForm",
]

# Blank rows offered after the existing ones, so that an email, a phone or an address can be added without script.
EXTRA_ROWS = 1

NAME_FIELDS = (
    ("first_name", "First name", 150),
    ("last_name", "Last name", 150),
    ("title", "Title", 64),
    ("suffix", "Suffix", 32),
    ("username", "Username", 150),
)
PREFERENCE_FIELDS = (
    ("do_not_call", "Do not call"),
    ("do_not_email", "Do not email"),
    ("do_not_mail", "Do not mail"),
    ("do_not_fax", "Do not fax"),
    ("do_not_survey", "Do not survey"),
)


@dataclass(frozen=True)
class Group:
    """A repeating part of a contact (emails, phones, addresses): its columns and the column a row needs."""

    prefix: str
    legend: str
    columns: tuple  # (name, label, max_length or None for a checkbox)
    required: str  # a row with anything in it needs this column

    def values(self, obj) -> dict:
        return {name: getattr(obj, name) or ("" if length else False) for name, _, length in self.columns}


EMAILS = Group(
    "email",
    "Email addresses",
    (("address", "Address", 254), ("primary", "Primary", None)),
    "address",
)
PHONES = Group(
    "phone",
    "Phone numbers",
    (
        ("number", "Number", 64),
        ("country", "Country", 64),
        ("mask", "Mask", 64),
        ("sms_verify", "SMS verified", None),
        ("primary", "Primary", None),
    ),
    "number",
)
ADDRESSES = Group(
    "address",
    "Addresses",
    (
        ("street", "Street", 255),
        ("city", "City", 128),
        ("state", "State", 128),
        ("zipcode", "Zip code", 32),
        ("country", "Country", 64),
        ("primary", "Primary", None),
    ),
    "street",
)
GROUPS = (EMAILS, PHONES, ADDRESSES)


def _text(value) -> str:
    return "—" if value in ("", None) else str(value)


def _in_role_order(roles) -> list[str]:
    return sorted(set(roles), key=Role.values.index)


def _row_label(group: Group, row: dict) -> str:
    parts = [str(row[name]) for name, _, length in group.columns if length and row[name]]
    flags = [label.lower() for name, label, length in group.columns if not length and row[name]]
    return ", ".join(parts) + (f" ({', '.join(flags)})" if flags else "")


class ContactEditForm(forms.Form):
    """Every editable part of one contact. `current()` is what the contact holds; `cleaned_data` what it will."""

    def __init__(self, data=None, *, contact, accounts, roles, emails, phones, addresses):
        self.contact = contact
        self.accounts = list(accounts)
        self.original = {
            **{name: getattr(contact, name) or "" for name, _, _ in NAME_FIELDS},
            **{name: bool(getattr(contact, name)) for name, _ in PREFERENCE_FIELDS},
            EMAILS.prefix: [EMAILS.values(e) for e in emails],
            PHONES.prefix: [PHONES.values(p) for p in phones],
            ADDRESSES.prefix: [ADDRESSES.values(a) for a in addresses],
            "roles": {account.pk: _in_role_order(roles.get(account.pk, ())) for account in self.accounts},
        }
        super().__init__(data, initial=self._initial())
        self.label_suffix = ""
        for name, label, length in NAME_FIELDS:
            self.fields[name] = forms.CharField(label=label, max_length=length, required=False)
        for name, label in PREFERENCE_FIELDS:
            self.fields[name] = forms.BooleanField(label=label, required=False)
        for group in GROUPS:
            rows = len(self.original[group.prefix]) + EXTRA_ROWS
            if data is not None:
                # Keep every row the person filled in, however many there were.
                rows = max(rows, self._rows_in(data, group))
            for index in range(rows):
                for name, label, length in group.columns:
                    field_label = f"{label} ({group.legend.lower()} {index + 1})"
                    self.fields[f"{group.prefix}-{index}-{name}"] = (
                        forms.CharField(label=field_label, max_length=length, required=False)
                        if length
                        else forms.BooleanField(label=field_label, required=False)
                    )
        for account in self.accounts:
            self.fields[f"roles-{account.pk}"] = forms.MultipleChoiceField(
                label=f"Roles on {account.key}",
                choices=Role.choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )

    @staticmethod
    def _rows_in(data, group: Group) -> int:
        """How many rows of `group` the submitted data has (at most 50, whatever a client sends)."""
        indexes = [-1]
        for key in data:
            parts = key.split("-")
            if len(parts) == 3 and parts[0] == group.prefix and parts[1].isascii() and parts[1].isdigit():
                indexes.append(int(parts[1][:3]))
        return min(max(indexes) + 1, 50)

    def _initial(self) -> dict:
        initial = {name: self.original[name] for name, _, _ in NAME_FIELDS}
        initial.update({name: self.original[name] for name, _ in PREFERENCE_FIELDS})
        for group in GROUPS:
            for index, row in enumerate(self.original[group.prefix]):
                initial.update({f"{group.prefix}-{index}-{name}": value for name, value in row.items()})
        initial.update({f"roles-{pk}": roles for pk, roles in self.original["roles"].items()})
        return initial

    # --- what the template shows ---------------------------------------------------------------

    def name_fields(self):
        return [self[name] for name, _, _ in NAME_FIELDS]

    def preference_fields(self):
        return [self[name] for name, _ in PREFERENCE_FIELDS]

    def groups(self):
        """[(group, [[bound field per column] per row])] for the repeating fieldsets."""
        shown = []
        for group in GROUPS:
            rows = sorted({int(name.split("-")[1]) for name in self.fields if name.startswith(f"{group.prefix}-")})
            shown.append(
                (group, [[self[f"{group.prefix}-{index}-{name}"] for name, _, _ in group.columns] for index in rows])
            )
        return shown

    def role_fields(self):
        return [(account, self[f"roles-{account.pk}"]) for account in self.accounts]

    # --- cleaning --------------------------------------------------------------------------------

    def _group_rows(self, group: Group) -> list[dict]:
        rows = []
        indexes = sorted({int(name.split("-")[1]) for name in self.fields if name.startswith(f"{group.prefix}-")})
        for index in indexes:
            row = {name: self.cleaned_data.get(f"{group.prefix}-{index}-{name}") for name, _, _ in group.columns}
            row = {name: (value.strip() if isinstance(value, str) else bool(value)) for name, value in row.items()}
            if not any(row.values()):
                continue
            if not row[group.required]:
                label = dict((name, label) for name, label, _ in group.columns)[group.required]
                self.add_error(f"{group.prefix}-{index}-{group.required}", f"{label} is required in a filled-in row.")
                continue
            rows.append(row)
        if sum(1 for row in rows if row.get("primary")) > 1:
            self.add_error(None, f"{group.legend}: only one can be primary.")
        return rows

    def clean(self):
        data = super().clean()
        for name, _, _ in NAME_FIELDS:
            data[name] = (data.get(name) or "").strip()
        for group in GROUPS:
            data[group.prefix] = self._group_rows(group)
        data["roles"] = {account.pk: _in_role_order(data.get(f"roles-{account.pk}") or []) for account in self.accounts}
        if not self.errors and not self.changes(data):
            raise forms.ValidationError("Nothing would change: edit a field first.")
        return data

    # --- what would change -----------------------------------------------------------------------

    def changed_parts(self, data) -> dict:
        """{part: new value} for every part of the contact the submission changes."""
        parts = {}
        for name, _, _ in NAME_FIELDS:
            if data[name] != self.original[name]:
                parts[name] = data[name]
        for name, _ in PREFERENCE_FIELDS:
            if bool(data.get(name)) != self.original[name]:
                parts[name] = bool(data.get(name))
        for group in GROUPS:
            if data[group.prefix] != self.original[group.prefix]:
                parts[group.prefix] = data[group.prefix]
        roles = {pk: new for pk, new in data["roles"].items() if new != self.original["roles"][pk]}
        if roles:
            parts["roles"] = roles
        return parts

    def changes(self, data) -> list[str]:
        """The confirmation's lines: each changed part, before → after."""
        parts = self.changed_parts(data)
        lines = []
        for name, label, _ in NAME_FIELDS:
            if name in parts:
                lines.append(f"{label}: {_text(self.original[name])} → {_text(parts[name])}")
        for name, label in PREFERENCE_FIELDS:
            if name in parts:
                lines.append(f"{label}: {'yes' if self.original[name] else 'no'} → {'yes' if parts[name] else 'no'}")
        for group in GROUPS:
            if group.prefix in parts:
                before = [_row_label(group, row) for row in self.original[group.prefix]]
                after = [_row_label(group, row) for row in parts[group.prefix]]
                for row in after:
                    if row not in before:
                        lines.append(f"{group.legend}: add {row}")
                for row in before:
                    if row not in after:
                        lines.append(f"{group.legend}: remove {row}")
                if sorted(before) == sorted(after):
                    lines.append(f"{group.legend}: new order {'; '.join(after)}")
        accounts = {account.pk: account for account in self.accounts}
        for pk, new in parts.get("roles", {}).items():
            old = self.original["roles"][pk]
            key = accounts[pk].key
            if not new:
                lines.append(f"Roles on {key}: {', '.join(old)} → none (taken off the account)")
            else:
                lines.append(f"Roles on {key}: {', '.join(old) or 'none'} → {', '.join(new)}")
        return lines
