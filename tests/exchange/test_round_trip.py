"""The round-trip property of docs/EXCHANGE.md, on generated files.

For any valid file F: export after importing F into an empty database gives F's records (as JSON
values, order aside), and that export imported into another empty database exports byte-identically.
"""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from accounts.choices import (
    AccessPolicy,
    AccountChangeType,
    AccountStatus,
    AccountType,
    CollectionsStatus,
    FraudStatus,
    RCNChangeType,
    UserType,
)
from accounts.representations import ACCOUNT
from cmsportal import resources as r
from cmsportal.dates import format_date
from cmsportal.exchange.fields import scalars
from cmsportal.exchange.staging import KINDS
from contacts.choices import Role
from metadata.choices import Access
from metadata.models import KEY_RE

from .helpers import as_multiset, export_lines, import_quietly, in_rollback

# Any Unicode text PostgreSQL and UTF-8 can hold: no NUL, no lone surrogates.
TEXT_CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(TEXT_CHARACTERS, max_size=10)
NAME = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=10)
DIGITS3 = st.integers(0, 999).map(lambda n: f"{n:03d}")
RCN = st.tuples(DIGITS3, DIGITS3, DIGITS3).map(lambda p: "RCN-" + "-".join(p))
RPN = st.tuples(DIGITS3, DIGITS3, DIGITS3).map(lambda p: "RPN-" + "-".join(p))
DATE = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: format_date(d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))
)
BIGINT = st.integers(-(2**63), 2**63 - 1)
NAMESPACE = st.from_regex(r"[a-z0-9_.\-]{1,8}", fullmatch=True)
KEY_NAME = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="\x00"),
    min_size=1,
    max_size=8,
)
ACCOUNT_KEY = st.tuples(st.sampled_from(AccountType.values), st.text("0123456789ABCxyz-", min_size=1, max_size=6))


def choice(values):
    return st.sampled_from(list(values))


def optional(strategy):
    return st.one_of(st.none(), strategy)


def declared_value(field: r.Field):
    """Any valid value of a plain declared field without a pattern (a field the generator does not
    name yet: one just added to a declaration)."""
    if field.type == r.CHOICE:
        values = choice(field.choices)
    elif field.type == r.INT:
        values = BIGINT
    elif field.type == r.BOOL:
        return st.booleans()
    elif field.type == r.DATE:
        values = DATE
    else:
        values = st.text(TEXT_CHARACTERS, min_size=field.min_length or 0, max_size=min(10, field.max_length or 10))
    return values if field.required else optional(values)


def compact(body: dict) -> dict:
    """Absent values are left out, never null."""
    return {key: value for key, value in body.items() if value is not None}


@st.composite
def exchange_files(draw) -> list[dict]:
    records = []
    customers = draw(st.lists(RCN, unique=True, max_size=3))
    rcns = customers + draw(st.lists(RCN, min_size=1, max_size=2))  # the extra ones become implicit
    for rcn in customers:
        records.append({"customer": compact({"rcn": rcn, "name": draw(optional(TEXT))})})

    accounts = draw(st.lists(ACCOUNT_KEY, unique=True, max_size=4))
    owner = {}
    for type_, id_ in accounts:
        owner[(type_, id_)] = draw(choice(rcns))
        body = {
            "id": id_,
            "type": type_,
            "number": draw(optional(BIGINT)),
            "rcn": owner[(type_, id_)],
            "name": draw(optional(TEXT)),
            "nickname": draw(optional(TEXT)),
            "status": draw(optional(choice(AccountStatus.values))),
            "tenantId": draw(optional(TEXT)),
            "domain": draw(optional(TEXT)),
            "serviceLevel": draw(optional(TEXT)),
            "collectionsStatus": draw(optional(choice(CollectionsStatus.values))),
            "accessPolicy": draw(optional(choice(AccessPolicy.values))),
            "parentAccountNumber": draw(optional(BIGINT)),
            "createdBy": draw(optional(TEXT)),
            "createdDate": draw(optional(DATE)),
            "lastUpdatedBy": draw(optional(TEXT)),
            "lastUpdatedDate": draw(optional(DATE)),
        }
        for field in scalars(ACCOUNT):  # fields declared since, in their declared place
            if field.key not in body:
                body[field.key] = draw(declared_value(field))
        body = {field.key: body[field.key] for field in scalars(ACCOUNT)}
        records.append({"customerAccount": compact(body)})

    for rpn in draw(st.lists(RPN, unique=True, max_size=3)):
        # Often a customer with accounts, so that the contact can hold roles on them.
        rcn = owner[draw(choice(accounts))] if accounts and draw(st.booleans()) else draw(optional(choice(rcns)))
        body = compact(
            {
                "contactNumber": rpn,
                "rcn": rcn,
                "firstName": draw(optional(TEXT)),
                "lastName": draw(optional(TEXT)),
                "title": draw(optional(TEXT)),
                "suffix": draw(optional(TEXT)),
                "username": draw(optional(TEXT)),
            }
        )
        addresses = draw(
            st.lists(
                st.builds(
                    lambda street, city, state, zipcode, country, primary: (
                        compact(
                            {"street": street, "city": city, "state": state, "zipcode": zipcode, "country": country}
                        )
                        | {"primary": primary}
                    ),
                    optional(TEXT),
                    optional(TEXT),
                    optional(TEXT),
                    optional(TEXT),
                    optional(TEXT),
                    st.booleans(),
                ),
                max_size=2,
            )
        )
        if addresses:
            body["addresses"] = {"address": addresses}
        emails = draw(st.lists(st.builds(lambda a, p: {"address": a, "primary": p}, TEXT, st.booleans()), max_size=2))
        if emails:
            body["emailAddresses"] = {"emailAddress": emails}
        phones = draw(
            st.lists(
                st.builds(
                    lambda n, c, m, s, p: (
                        compact({"number": n, "country": c, "mask": m}) | {"smsVerify": s, "primary": p}
                    ),
                    TEXT,
                    optional(TEXT),
                    optional(TEXT),
                    st.booleans(),
                    st.booleans(),
                ),
                max_size=2,
            )
        )
        if phones:
            body["phoneNumbers"] = {"phoneNumber": phones}
        flags = ("doNotFax", "doNotCall", "doNotEmail", "doNotMail", "doNotSurvey")
        body["notificationPreferences"] = {flag: draw(st.booleans()) for flag in flags}
        body |= compact({"lastUpdatedBy": draw(optional(TEXT)), "lastUpdatedDate": draw(optional(DATE))})
        # A contact holds roles only on its own customer's accounts.
        own = [account for account in accounts if rcn is not None and owner[account] == rcn]
        on = draw(st.permutations(own))[: draw(st.integers(0, len(own)))] if own else []
        body["accounts"] = [
            {"type": t, "id": i, "roles": draw(st.lists(choice(Role.values), unique=True, max_size=4))} for t, i in on
        ]
        records.append({"contact": body})

    def on_account(account, body):
        return {"accountType": account[0], "accountId": account[1], **compact(body)}

    if accounts:
        for account in accounts:
            keys = draw(
                st.lists(st.tuples(NAMESPACE, KEY_NAME).map(":".join).filter(KEY_RE.match), unique=True, max_size=2)
            )
            for key in keys:
                body = {
                    "key": key,
                    "value": draw(TEXT),
                    "createdBy": draw(optional(TEXT)),
                    "createdDate": draw(optional(DATE)),
                    "lastUpdatedBy": draw(optional(TEXT)),
                    "lastUpdatedDate": draw(optional(DATE)),
                }
                records.append({"metadata": on_account(account, body)})
        for _ in range(draw(st.integers(0, 4))):
            body = {
                "date": draw(DATE),
                "status": draw(optional(choice(AccountStatus.values))),
                "username": draw(optional(TEXT)),
                "usertype": draw(optional(choice(UserType.values))),
                "collectionsStatus": draw(optional(choice(CollectionsStatus.values))),
                "accessPolicy": draw(optional(choice(AccessPolicy.values))),
                "fraudStatus": draw(optional(choice(FraudStatus.values))),
            }
            records.append({"statusChange": on_account(draw(choice(accounts)), body)})
        actor = optional(
            st.builds(
                lambda u, t: compact({"username": u, "type": t}), optional(TEXT), optional(choice(UserType.values))
            ).filter(bool)
        )
        for _ in range(draw(st.integers(0, 4))):
            body = {
                "accountChangeType": draw(choice(AccountChangeType.values)),
                "rcn": draw(optional(RCN)),
                "updatedDate": draw(optional(DATE)),
                "accountStatus": draw(optional(TEXT)),
                "collectionsStatus": draw(optional(TEXT)),
                "nickname": draw(optional(TEXT)),
                "updatedBy": draw(actor),
                "destinationUpdatedBy": draw(actor),
            }
            records.append({"customerAccountHistory": on_account(draw(choice(accounts)), body)})
        for _ in range(draw(st.integers(0, 4))):
            body = {
                "accountChangeType": draw(choice(RCNChangeType.values)),
                "username": draw(optional(TEXT)),
                "rcn": draw(optional(RCN)),
                "date": draw(optional(DATE)),
            }
            records.append({"accountRCNChange": on_account(draw(choice(accounts)), body)})

    for name in draw(st.lists(NAMESPACE, unique=True, max_size=2)):
        body = {
            "name": name,
            "access": draw(choice(Access.values)),
            "readers": draw(st.lists(NAME, unique=True, max_size=3)),
            "writers": draw(st.lists(NAME, unique=True, max_size=3)),
        }
        records.append({"namespace": body})
    return draw(st.permutations(records))


def _import_then_export(records) -> list[str]:
    import_quietly(records)
    return export_lines()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exchange_files())
def test_import_then_export_gives_the_file_back(db, records):
    exported = in_rollback(lambda: _import_then_export(records))
    assert as_multiset(json.loads(line) for line in exported) == as_multiset(records)
    # The export, imported into another empty database, exports byte-identically.
    again = in_rollback(lambda: _import_then_export(json.loads(line) for line in exported))
    assert again == exported


@pytest.mark.parametrize("kind", KINDS)
def test_the_generated_files_hold_every_kind(kind):
    """The property above covers every kind of record: the generator makes files holding each one
    (a new kind fails here until it generates it)."""
    quick = settings(database=None, phases=[Phase.generate], max_examples=200)  # the first file found, not shrunk
    found = find(exchange_files(), lambda records: any(kind in r for r in records), settings=quick)
    assert any(kind in record for record in found)
