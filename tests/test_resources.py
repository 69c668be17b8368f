"""Declared resources (cmsportal/resources.py and each app's representations.py): the compiled
representation functions equal the declared (interpreted) path on random objects, every declared
attribute exists on the model and every model field is declared or knowingly left out, and the
checks agree with the model's."""

import importlib
import re
from datetime import UTC
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts import representations as accounts
from cmsportal import resources as r
from cmsportal.exchange import fields as codec
from contacts import phones
from contacts import representations as contacts
from contacts.models import Contact
from metadata import representations as metadata
from metadata.models import KEY_RE
from tests import factories


def declared_resources() -> list[r.Resource]:
    """Every resource of every app that declares some (`<app>/representations.py`, `RESOURCES`)."""
    found = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.representations")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.representations":
                raise
            continue
        found += module.RESOURCES
    return found


RESOURCES = declared_resources()


class Related(list):
    """A list with `.all()`, standing for a prefetched relation."""

    def all(self):
        return self


def _scalar(f: r.Field):
    if f.type == r.BOOL:
        return st.booleans()
    if f.type == r.INT:
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if f.type == r.DATE:
        return st.datetimes(timezones=st.just(UTC))
    if f.choices:
        return st.sampled_from(f.choices)
    return st.text(max_size=8)


def _with_path(attrs: dict, path: str, value) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        attrs[head] = value
    else:
        # An intermediate object (a relation): None now and then, when what it leads to is optional.
        attrs[head] = value if value is None else SimpleNamespace(**{rest: value})


@st.composite
def objects(draw, resource: r.Resource, prefix: str = ""):
    """An object with every attribute `resource` reads, absent (None) or not at random; and its arguments."""
    attrs, kwargs = {}, {}
    for f in resource.fields:
        if f.type == r.OBJECT:
            inner, _ = draw(objects(f.resource, prefix + f.prefix))
            attrs.update(vars(inner))
        elif f.arg:
            values = st.lists(st.sampled_from(f.choices) if f.choices else st.text(max_size=5), max_size=3)
            kwargs[f.arg] = draw(values if f.required else st.none() | values)
        elif f.type == r.LIST:
            items = draw(st.lists(objects(f.resource), max_size=3))
            attrs[f.attr] = Related(item for item, _ in items)
        else:
            value = draw(_scalar(f) if f.required else st.none() | _scalar(f))
            _with_path(attrs, prefix + f.attr, value)
    return SimpleNamespace(**attrs), kwargs


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda res: res.name)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_compiled_function_equals_the_declaration(resource, data):
    obj, kwargs = data.draw(objects(resource))
    compiled = resource.to_dict(obj, **kwargs)
    assert compiled == resource.represent(obj, **kwargs)
    assert list(compiled) == list(resource.represent(obj, **kwargs))  # the same key order
    assert None not in compiled.values()


# -- the declarations against the models -------------------------------------------------------------

MODELED = [res for res in RESOURCES if res.model is not None]


def _steps(model, path: str) -> list:
    """The model fields along a dotted attribute path (AssertionError naming the step that is none)."""
    fields = []
    for step in path.split("."):
        assert model is not None, f"{path}: {step} is read from something that is not a model"
        field = model._meta.get_field(step)  # FieldDoesNotExist: the declaration names no field
        fields.append(field)
        model = field.related_model
    return fields


def _model_fields(model) -> set[str]:
    """The model's own fields: columns and many-to-many relations (not reverse relations)."""
    return {f.name for f in (*model._meta.concrete_fields, *model._meta.many_to_many)}


@pytest.mark.parametrize("resource", MODELED, ids=lambda res: res.name)
def test_every_declared_attribute_is_a_model_field_or_declared_computed(resource):
    for _field, path in resource.leaves():
        if path.split(".")[0] in resource.computed:
            continue
        _steps(resource.model, path)


@pytest.mark.parametrize("resource", MODELED, ids=lambda res: res.name)
def test_every_model_field_is_declared_or_knowingly_left_out(resource):
    """A field added to the model fails here until it is declared, or listed (with the reason) in `excluded`."""
    declared = {path.split(".")[0] for path in resource.attributes()}
    assert _model_fields(resource.model) - declared == set(resource.excluded)
    assert not declared & set(resource.excluded)


@pytest.mark.parametrize("resource", MODELED, ids=lambda res: res.name)
def test_checks_agree_with_the_model(resource):
    """Lengths and choices are the columns'; a field is always present exactly when no step of its
    path can be NULL (booleans included)."""
    for field, path in resource.leaves():
        steps = _steps(resource.model, path)
        last = steps[-1]
        if field.type == r.LIST:
            continue
        nullable = any(step.null for step in steps)
        assert field.required == (not nullable), path
        if getattr(last, "max_length", None):
            assert field.max_length == last.max_length, path
        if last.choices:
            assert field.type == r.CHOICE and set(field.choices) == {value for value, _ in last.choices}, path
        if field.type == r.CHOICE and not last.choices:
            pytest.fail(f"{path}: declared with choices the column does not have")


def test_every_model_a_resource_reads_through_a_list_is_declared():
    """Nested lists (a contact's addresses ...) are resources of their own, held to their models above."""
    for resource in RESOURCES:
        for field in resource.fields:
            if field.type == r.LIST and field.resource is not None:
                assert field.resource in MODELED, f"{resource.name}.{field.key}"


# -- the declarations against the exchange's import checks ---------------------------------------------
#
# The exchange's field tables (cmsportal/exchange/fields.py) are built from the declarations, the RCN, RPN,
# account id and metadata key checks named where a key uses them: this holds each check to its field's facts.


def _exchange_tables():
    return [
        (accounts.CUSTOMER, codec.CUSTOMER_FIELDS),
        (accounts.ACCOUNT, codec.ACCOUNT_FIELDS),
        (accounts.STATUS_CHANGE, codec.STATUS_FIELDS[2:]),
        (accounts.ACCOUNT_HISTORY, codec.HISTORY_FIELDS[2:]),
        (accounts.ACTOR, codec.ACTOR_FIELDS),
        (accounts.RCN_CHANGE, codec.RCN_FIELDS[2:]),
        (contacts.CONTACT, codec.CONTACT_FIELDS + codec.CONTACT_TAIL_FIELDS),
        (contacts.NOTIFICATION_PREFERENCES, codec.NOTIFICATION_FIELDS),
        (contacts.ADDRESS, codec.ADDRESS_FIELDS),
        (contacts.EMAIL_ADDRESS, codec.EMAIL_FIELDS),
        (contacts.PHONE_NUMBER, codec.PHONE_FIELDS),
        (metadata.METADATA_DETAIL, codec.METADATA_FIELDS[2:]),
        (metadata.NAMESPACE, codec.NAMESPACE_FIELDS),
    ]


@pytest.mark.parametrize("resource, table", _exchange_tables(), ids=lambda x: getattr(x, "name", ""))
def test_declared_checks_are_the_exchanges(resource, table):
    for key, check, required in table:
        field = resource.field(key)
        assert field.required == required, key
        kind, *facts = getattr(check, "spec", ("?",))
        if kind == "text":
            max_length, _empty = facts
            assert field.type == r.STR and field.max_length == max_length, key
        elif kind == "pattern":
            assert field.type == r.STR and field.pattern == facts[0].pattern, key
        elif kind == "choice":
            assert field.type == r.CHOICE and set(field.choices) == facts[0], key
        elif kind == "account_id":
            assert field.max_length == facts[0] and field.min_length == 1, key
            assert re.match(field.pattern, "a/b") is None and re.match(field.pattern, "a\x7f") is None, key
        elif kind == "metadata_key":
            assert field.pattern == KEY_RE.pattern, key
        else:
            assert {"bigint": r.INT, "boolean": r.BOOL, "date": r.DATE}[kind] == field.type, key
    # Every field the representation writes is checked on import (the linking fields aside).
    if resource.name != "contact":
        assert {f.key for f in resource.fields if f.type not in (r.OBJECT, r.LIST)} == {k for k, _, _ in table}


# -- snapshots and CSV columns ----------------------------------------------------------------------


def _factories():
    f = factories
    return {
        f.CustomerFactory._meta.model: f.CustomerFactory,
        f.AccountFactory._meta.model: f.AccountFactory,
        f.StatusChangeFactory._meta.model: f.StatusChangeFactory,
        f.AccountHistoryFactory._meta.model: f.AccountHistoryFactory,
        f.RCNChangeFactory._meta.model: f.RCNChangeFactory,
        f.ContactFactory._meta.model: f.ContactFactory,
        f.AddressFactory._meta.model: f.AddressFactory,
        f.EmailAddressFactory._meta.model: f.EmailAddressFactory,
        f.PhoneNumberFactory._meta.model: f.PhoneNumberFactory,
        f.MetadataFactory._meta.model: f.MetadataFactory,
        f.NamespaceFactory._meta.model: f.NamespaceFactory,
    }


def test_every_declared_model_has_a_factory_here():
    assert set(_factories()) == {res.model for res in MODELED}


@pytest.mark.django_db
@pytest.mark.parametrize("resource", MODELED, ids=lambda res: res.name)
def test_snapshot_is_the_declared_representation_of_the_saved_row(resource):
    made = _factories()[resource.model]()
    obj = resource.model.objects.get(pk=made.pk)  # as read back: what the change log would copy
    kwargs = {}
    for field in resource.args:
        if field.attr:  # a relation the snapshot loads: two rows, added out of order
            groups = [Group.objects.create(name=f"{field.key}-{n}") for n in (2, 1)]
            getattr(obj, field.attr).add(*groups)
            kwargs[field.arg] = sorted(g.name for g in groups)
    snap = r.snapshot(obj)
    assert r.declaration_of(resource.model) is resource
    assert snap == resource.represent(obj, **kwargs)
    assert snap == resource.to_dict(obj, **kwargs)
    assert all(value is not None for value in snap.values())


def test_staff_csv_columns():
    """The columns of the staff lists' CSV files, in order (a change here changes the files people download)."""
    assert accounts.CUSTOMER.csv_header == ["rcn", "name"]
    assert accounts.ACCOUNT.csv_header == [
        *("type", "id", "number", "rcn", "name", "nickname", "status", "collectionsStatus", "accessPolicy"),
        *("tenantId", "domain", "serviceLevel"),
    ]
    assert contacts.CONTACT.csv_header == [
        *("contactNumber", "rcn", "firstName", "lastName", "username", "emailAddresses", "phoneNumbers")
    ]


@pytest.mark.django_db
def test_csv_rows_read_the_declared_attributes():
    contact = factories.ContactFactory(customer=None, username=None)
    for n in (1, 2):
        factories.EmailAddressFactory(contact=contact, address=f"p{n}@example.com")
        factories.PhoneNumberFactory(contact=contact, number=f"555-000{n}")
    contact = Contact.objects.prefetch_related("email_addresses", "phone_numbers").get(pk=contact.pk)
    assert contacts.CONTACT.csv_row(contact) == [
        contact.contact_number,
        None,
        contact.first_name,
        contact.last_name,
        None,
        "p1@example.com p2@example.com",
        "555-0001 555-0002",
    ]
    account = factories.AccountFactory(number=7, nickname=None)
    row = accounts.ACCOUNT.csv_row(account)
    assert row[:4] == [account.type, account.account_id, 7, account.customer.rcn] and row[5] is None
    assert len(row) == len(accounts.ACCOUNT.csv_header)


# -- XML: every declared key has a place in the API's XML shapes -----------------------------------


def _xml_shapes():
    from accounts.api import serializers as account_shapes
    from contacts.api import serializers as contact_shapes
    from metadata.api import serializers as metadata_shapes

    return [
        (accounts.ACCOUNT, account_shapes.ACCOUNT),
        (accounts.STATUS_CHANGE, account_shapes.STATUS_CHANGES.item),
        (accounts.ACCOUNT_HISTORY, account_shapes.ACCOUNT_HISTORY.item),
        (accounts.RCN_CHANGE, account_shapes.RCN_CHANGES.item),
        (contacts.CONTACT, contact_shapes.CONTACT),
        (metadata.METADATA_DETAIL, metadata_shapes.METADATA_DETAIL),
    ]


@pytest.mark.parametrize("resource, shape", _xml_shapes(), ids=lambda x: getattr(x, "name", ""))
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_every_declared_key_renders_in_xml(resource, shape, data):
    """A nested key the XML shape does not place would make the renderer refuse (a 500): declaring a
    nested field means giving it its place in the app's api/serializers.py shape."""
    from cmsportal.api.renderers import xml_document

    obj, kwargs = data.draw(objects(resource))
    document = xml_document(resource.to_dict(obj, **kwargs), shape).decode()
    for key in resource.to_dict(obj, **kwargs):
        assert f"{key}=" in document or f"<{key}" in document or f":{key}" in document, key


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda x: x.name)
def test_derived_fields_are_model_fields_computed_from_declared_keys(resource):
    """A declared normaliser fills a model field from keys the resource declares."""
    for attr, (function, keys) in resource.derived.items():
        assert callable(function), attr
        assert attr in _model_fields(resource.model), attr
        assert all(resource.field(key).type == r.STR for key in keys), attr


def test_the_phone_search_key_is_declared():
    function, keys = contacts.PHONE_NUMBER.derived["normalized"]
    assert function is phones.search_key and keys == ("number", "country")
    assert codec.PHONE_SEARCH_KEY is phones.search_key
