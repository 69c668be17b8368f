"""Export: every record, in canonical order, streaming in constant memory.

Order: customers (by RCN; implicit customers are not written), namespaces (by name), accounts (by
type and id), contacts (by RPN), metadata (by account, key), then the three history trails by
account: statusChange by date (ties by id), customerAccountHistory and accountRCNChange in the
order written (id), which is their order in the API; the RCN trail may legitimately go back in
time (a MERGE dated before the RCN_UPDATE it follows), so sorting it by date would rewrite it.
Lists inside a record (addresses, a contact's accounts and roles, a namespace's groups) keep the
order they were written in, which is the order the import writes them.

Everything is read in keyset batches over unique indexes, so neither Python nor the database holds
more than a batch, and a batch deep into a million rows costs what the first one does.
"""

from collections import defaultdict
from collections.abc import Iterator
from types import SimpleNamespace

from accounts.models import Account, AccountHistory, AccountType, Customer, RCNChange, StatusChange
from contacts.models import AccountContact, AccountContactRole, Address, Contact, EmailAddress, PhoneNumber
from metadata.models import Metadata, Namespace

from . import codec

BATCH = 2_000

# Rows are read with values_list() and handed to the representation functions as plain attribute
# objects: building model instances (and prefetch machinery) would cost several times the export.
ACCOUNT_FIELDS = [f.attname for f in Account._meta.concrete_fields if f.attname not in ("id", "customer_id")]


class _Rows(list):
    """A list that answers `.all()`, standing in for a prefetched related manager."""

    def all(self):
        return self


def _objects(queryset, fields: list[str]) -> Iterator[SimpleNamespace]:
    for values in queryset.values_list(*fields):
        yield SimpleNamespace(**dict(zip(fields, values, strict=True)))


def _keyset(queryset, key: str, fields: list[str], batch: int = BATCH) -> Iterator[list]:
    """Batches of `queryset` as attribute objects, ordered by the unique column `key`."""
    last = None
    while True:
        qs = queryset if last is None else queryset.filter(**{f"{key}__gt": last})
        rows = list(_objects(qs.order_by(key)[:batch], fields))
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        last = getattr(rows[-1], key)


def _account_batches(fields: list[str], batch: int = BATCH) -> Iterator[list]:
    """Accounts in (type, id) order: one keyset walk per type over the (type, account_id) unique index."""
    for account_type in sorted(AccountType.values):
        yield from _keyset(Account.objects.filter(type=account_type), "account_id", fields, batch)


def _account_ranges(batch: int = BATCH) -> Iterator[tuple[str, str | None, str]]:
    """(type, after, upto): consecutive ranges of about `batch` accounts, in account order."""
    for account_type in sorted(AccountType.values):
        last = None
        while True:
            qs = Account.objects.filter(type=account_type)
            if last is not None:
                qs = qs.filter(account_id__gt=last)
            ids = list(qs.order_by("account_id").values_list("account_id", flat=True)[:batch])
            if not ids:
                break
            yield account_type, last, ids[-1]
            if len(ids) < batch:
                break
            last = ids[-1]


def _children(model, order: tuple, encode) -> Iterator[dict]:
    """Rows of `model` account by account, in account order; each range is one indexed join."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "account_id")]
    for account_type, after, upto in _account_ranges():
        queryset = model.objects.filter(account__type=account_type, account__account_id__lte=upto)
        if after is not None:
            queryset = queryset.filter(account__account_id__gt=after)
        queryset = queryset.order_by("account__account_id", *order)
        for row in _objects(queryset, ["account__account_id", *fields]):
            yield encode(SimpleNamespace(type=account_type, account_id=row.account__account_id), row)


def _customers() -> Iterator[dict]:
    for batch in _keyset(Customer.objects.filter(implicit=False), "rcn", ["rcn", "name"]):
        for customer in batch:
            yield codec.customer_record(customer)


def _namespaces() -> Iterator[dict]:
    for batch in _keyset(Namespace.objects.all(), "name", ["id", "name", "access"]):
        groups = {"r": defaultdict(list), "w": defaultdict(list)}
        ids = [n.id for n in batch]
        for kind, through in (("r", Namespace.readers.through), ("w", Namespace.writers.through)):
            rows = (
                through.objects.filter(namespace_id__in=ids).order_by("id").values_list("namespace_id", "group__name")
            )
            for namespace_id, name in rows:
                groups[kind][namespace_id].append(name)
        for namespace in batch:
            yield codec.namespace_record(namespace, groups["r"][namespace.id], groups["w"][namespace.id])


def _accounts() -> Iterator[dict]:
    for batch in _account_batches([*ACCOUNT_FIELDS, "customer__rcn"]):
        for account in batch:
            account.customer = SimpleNamespace(rcn=account.customer__rcn)
            yield codec.account_record(account)


CONTACT_FIELDS = [f.attname for f in Contact._meta.concrete_fields if f.attname != "customer_id"]
CHILDREN = (
    ("addresses", Address, ["contact_id", "street", "city", "state", "zipcode", "country", "primary"]),
    ("email_addresses", EmailAddress, ["contact_id", "address", "primary"]),
    ("phone_numbers", PhoneNumber, ["contact_id", "number", "country", "mask", "sms_verify", "primary"]),
)


def _contacts() -> Iterator[dict]:
    after = None
    for batch in _keyset(Contact.objects.all(), "contact_number", [*CONTACT_FIELDS, "customer__rcn"], BATCH):
        # The batch's children, found by the same RPN range (an indexed join, no long IN lists).
        upto = batch[-1].contact_number
        span = {"contact__contact_number__lte": upto}
        if after is not None:
            span["contact__contact_number__gt"] = after
        after = upto
        related = {}
        for attribute, model, fields in CHILDREN:
            rows = defaultdict(_Rows)
            for row in _objects(model.objects.filter(**span).order_by("id"), fields):
                rows[row.contact_id].append(row)
            related[attribute] = rows
        roles = defaultdict(_Rows)
        role_span = {f"link__{k}": v for k, v in span.items()}
        for link_id, role in (
            AccountContactRole.objects.filter(**role_span).order_by("id").values_list("link_id", "role")
        ):
            roles[link_id].append(SimpleNamespace(role=role))
        links = defaultdict(list)
        for link in _objects(
            AccountContact.objects.filter(**span).order_by("id"),
            ["id", "contact_id", "account__type", "account__account_id"],
        ):
            link.account = SimpleNamespace(type=link.account__type, account_id=link.account__account_id)
            link.roles = roles.get(link.id, _Rows())
            links[link.contact_id].append(link)
        for contact in batch:
            contact.customer = SimpleNamespace(rcn=contact.customer__rcn) if contact.customer__rcn else None
            for attribute, _, _ in CHILDREN:
                setattr(contact, attribute, related[attribute].get(contact.id, _Rows()))
            yield codec.contact_record(contact, links.get(contact.id, ()))


def export_records() -> Iterator[dict]:
    """Every record of the database, in canonical order (see the module docstring)."""
    yield from _customers()
    yield from _namespaces()
    yield from _accounts()
    yield from _contacts()
    yield from _children(Metadata, ("key",), codec.metadata_record)
    yield from _children(StatusChange, ("date", "id"), codec.status_change_record)
    yield from _children(AccountHistory, ("id",), codec.account_history_record)
    yield from _children(RCNChange, ("id",), codec.rcn_change_record)
