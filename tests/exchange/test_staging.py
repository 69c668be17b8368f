"""The staging columns are the declared fields' model columns, which the importer writes by name."""

import pytest

from accounts import representations as accounts
from cmsportal.exchange import encoders, staging
from contacts import representations as contacts
from metadata import representations as metadata

# Staging table -> the declaration whose model the importer writes it to, and the staged columns
# that are not the model's own (the record's line and place, and the keys naming related rows,
# which the importer turns into ids).
TARGETS = {
    "customer": (accounts.CUSTOMER, {"line"}),
    "namespace": (metadata.NAMESPACE, {"line"}),
    "account": (accounts.ACCOUNT, {"line", "rcn"}),
    "contact": (contacts.CONTACT, {"line", "rcn"}),
    "address": (contacts.ADDRESS, {"line", "pos", "contact_number"}),
    "email": (contacts.EMAIL_ADDRESS, {"line", "pos", "contact_number"}),
    "phone": (contacts.PHONE_NUMBER, {"line", "pos", "contact_number"}),
    "metadata": (metadata.METADATA_DETAIL, {"line", "type", "account_id"}),
    "status": (accounts.STATUS_CHANGE, {"line", "type", "account_id"}),
    "history": (accounts.ACCOUNT_HISTORY, {"line", "type", "account_id"}),
    "rcn": (accounts.RCN_CHANGE, {"line", "type", "account_id"}),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_staged_columns_are_the_models_columns(name):
    resource, own = TARGETS[name]
    columns = {f.column for f in resource.model._meta.concrete_fields}
    target = {staged: column for column, staged in staging.STAGED_AS.items()}
    staged = [target.get(column, column) for column, _ in staging.STAGING[name] if column not in own]
    assert staged and set(staged) <= columns, set(staged) - columns


@pytest.mark.parametrize("name", ["customer", "account", "contact", "metadata", "status", "history", "rcn"])
def test_staged_record_values_are_the_exported_row(name):
    """A record's staged values, in order, are its export row's (one field order for both ways)."""
    resource, _ = TARGETS[name]
    skip = {"line", "type", "account_id"} if name in ("metadata", "status", "history", "rcn") else {"line"}
    staged = [column for column, _ in staging.STAGING[name] if column not in skip]
    exported = [resource.column(path) for _, path in encoders.row_leaves(resource)]
    if name == "account":  # staged type first (the order of the field table), exported id first
        exported[0], exported[1] = exported[1], exported[0]
    assert staged == exported


def test_declared_tables():
    assert accounts.ACCOUNT.table == "accounts_account"
    assert accounts.ACCOUNT.column("tenant_id") == "tenant_id"
    assert accounts.ACCOUNT.column("customer.rcn") == "rcn"
    assert contacts.CONTACT.related_table("account_links") == "contacts_accountcontact"
    assert contacts.CONTACT.related_table("account_links.roles") == "contacts_accountcontactrole"
    assert metadata.NAMESPACE.related_table("readers") == "auth_group"
    assert metadata.NAMESPACE.related_table("readers", through=True) == "metadata_namespace_readers"
