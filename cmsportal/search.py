"""One search box for everything: customers, accounts and contacts, by any identifier or fragment.

How it stays fast on millions of rows:
1. An identifier (RCN, RPN, TYPE/ID, a unique account id, number or tenant id, an exact email address)
   is looked up with equality on indexed columns and answered with the record itself. Typed in full, an
   identifier is searched for in its own kind only (an RPN names no customer or account).
2. Otherwise each kind is searched in stages, best first: exact, then prefix (`__istartswith`), then
   contains (`__icontains`; served on PostgreSQL by trigram indexes on UPPER(column)). Prefixes need
   MIN_PREFIX characters and contains MIN_FRAGMENT (three: a trigram index cannot narrow a shorter pattern
   down, so a shorter one would read the whole table). Later stages run only while a group still has room,
   and nothing is ever counted, so a search costs a fixed, small number of queries whatever the size of
   the data. The exact and prefix stages (each one bounded index range) are read in one round trip, a
   `UNION ALL` of the two limited queries, where the database allows it (PostgreSQL; SQLite reads them
   one by one); the contains stage, the costly one, still runs only when they leave room.
3. Every stage has the same shape (`_candidates`): `SELECT id, <sort key> ... WHERE <stage> LIMIT CANDIDATES`,
   without ORDER BY; the best of those are chosen here, and each kind's rows are then read in one query by
   primary key. A bare `LIMIT 11` would let PostgreSQL bet on finding eleven matches early in a sequential
   scan, and lose the bet, reading the whole table, whenever they are rarer than its estimate; with room
   for CANDIDATES the bet is only taken when matches are common (and then pays), and a rare fragment is
   read from its index. Ordering in SQL instead would either walk an ordering index and filter, or (joined
   back to the candidates) scan the table to hash it.
Everything starts from what the user may see (visible_accounts and the customers and contacts on it).
"""

import re
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import F, Q, QuerySet, Value, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.choices import AccountType
from accounts.models import RCN_RE, Account, Customer
from cmsportal.identity.access import can_view_all, visible_accounts
from cmsportal.pages import merged_into, visible_contacts, visible_customers
from contacts import phones
from contacts.models import RPN_RE, AccountContact, Contact, EmailAddress, PhoneNumber, phone_digits

__all__ = [
    "MAX_QUERY_LENGTH",
    "RESULTS_PER_KIND",
    "SUGGESTIONS_PER_KIND",
    "SUGGESTIONS_PER_FIELD",
    "MIN_PHONE_DIGITS",
    "MIN_PREFIX",
    "MIN_FRAGMENT",
    "CANDIDATES",
    "ACCOUNT_TYPES",
    "KINDS",
    "normalize",
    "highlight",
    "highlight_digits",
    "Hit",
    "Results",
    "exact_target",
    "customer_suggestions",
    "ACCOUNTS_PER_CONTACT",
    "search",
]

MAX_QUERY_LENGTH = 200
RESULTS_PER_KIND = 10
SUGGESTIONS_PER_KIND = 4
SUGGESTIONS_PER_FIELD = 8  # customers suggested under an RCN field (merge, move)
MIN_PHONE_DIGITS = 3
MIN_PREFIX = 2
MIN_FRAGMENT = 3
# Matches a stage reads (ids and sort keys only) before choosing the best: enough that PostgreSQL uses the
# search indexes for rare fragments (see the module docstring), few enough to stay cheap when one is common.
CANDIDATES = 200

_RCN = re.compile(RCN_RE, re.IGNORECASE)
_RPN = re.compile(RPN_RE, re.IGNORECASE)
_RCN_FRAGMENT = re.compile(r"^(RCN-?)?[\d-]*\d[\d-]*$", re.IGNORECASE)
_RPN_FRAGMENT = re.compile(r"^(RPN-?)?[\d-]*\d[\d-]*$", re.IGNORECASE)
_PHONE_TEXT = re.compile(r"^[\d\s\-().+/]+$")
_NAME_TEXT = re.compile(r"^[^\W\d_]+(?:[\s'\-][^\W\d_]+)*$")
_WHOLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
ACCOUNT_TYPES = tuple(AccountType.values)
KINDS = ("customers", "accounts", "contacts")


def normalize(q: str | None) -> str:
    return " ".join((q or "").split())[:MAX_QUERY_LENGTH]


# --- highlighting --------------------------------------------------------------------------------


def highlight(text, query: str) -> SafeString:
    """`text` escaped, with each case-insensitive occurrence of the query's words wrapped in <mark>."""
    if text in (None, ""):
        return mark_safe("")  # noqa: S308 - a constant
    text = str(text)
    terms = sorted({t for t in query.split() if t}, key=len, reverse=True)
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


def highlight_digits(number: str, digits: str) -> SafeString:
    """A phone number escaped, with the characters spanning the matched digits marked, whatever the separators."""
    positions = [i for i, ch in enumerate(number) if ch.isdigit()]
    only = "".join(number[i] for i in positions)
    start = only.find(digits) if digits else -1
    if start < 0:
        return escape(number)
    a, b = positions[start], positions[start + len(digits) - 1] + 1
    return mark_safe(f"{escape(number[:a])}<mark>{escape(number[a:b])}</mark>{escape(number[b:])}")  # noqa: S308


# --- results -------------------------------------------------------------------------------------


@dataclass
class Hit:
    kind: str
    url: str
    ident: SafeString
    title: SafeString
    detail: list = field(default_factory=list)
    # Who a contact belongs to and which accounts it is on, so that two people of the same name can be told apart.
    context: list = field(default_factory=list)


@dataclass
class Results:
    query: str
    groups: dict
    more: dict
    redirect: str | None = None

    @property
    def empty(self) -> bool:
        return not any(self.groups.values())

    @property
    def sections(self) -> list[dict]:
        """The kinds that matched, each with its hits: a kind with no hit takes no room on the page."""
        return [
            {"kind": k, "hits": self.groups[k], "more": self.more[k], "list_url": self.list_url(k)}
            for k in KINDS
            if self.groups[k]
        ]

    @property
    def unmatched(self) -> list[str]:
        """The kinds searched that matched nothing (named in one line instead of an empty box each)."""
        return [k for k in KINDS if not self.groups[k]]

    def list_url(self, kind: str) -> str:
        from urllib.parse import urlencode

        name = {"customers": "accounts:customer_list", "accounts": "accounts:account_list"}.get(
            kind, "contacts:contact_list"
        )
        return f"{reverse(name)}?{urlencode({'q': self.query})}"


def _candidates(qs: QuerySet, condition: Q, fields: tuple) -> list[tuple]:
    """`(pk, *fields)` of at most CANDIDATES rows of `qs` matching `condition`, in no particular order."""
    return list(qs.filter(condition).order_by().values_list("pk", *fields)[:CANDIDATES])


def _candidates_together(qs: QuerySet, conditions: list, fields: tuple) -> list[list[tuple]]:
    """`_candidates` of each condition, read in one round trip where the database can (`UNION ALL` of the
    limited queries, each row tagged with its condition's position); else one query each."""
    if len(conditions) == 1 or not connections[qs.db].features.supports_slicing_ordering_in_compound:
        return [_candidates(qs, condition, fields) for condition in conditions]
    parts = [
        qs.filter(condition)
        .order_by()
        .annotate(search_stage=Value(n))
        .values_list("pk", *fields, "search_stage")[:CANDIDATES]
        for n, condition in enumerate(conditions)
    ]
    batches: list[list[tuple]] = [[] for _ in conditions]
    for row in parts[0].union(*parts[1:], all=True):
        batches[row[-1]].append(row[:-1])
    return batches


def _staged(qs: QuerySet, stages, limit: int, fields: tuple, key, together: int = 1) -> tuple[list[tuple], bool]:
    """`(pk, *fields)` of rows matching the stages in priority order, each stage's sorted by `key`, without
    repeats; at most limit, and whether there are more.

    `together`: how many of the first stages are read in one round trip (stages that are each one bounded
    index range, such as exact and prefix). The answer is the same: a stage read along with an earlier one
    that filled the room is dropped, as it would not have been read.
    """
    stages = [condition for condition in stages if condition is not None]
    found, seen = [], set()
    first = max(1, together)
    rounds = [stages[:first]] + [[condition] for condition in stages[first:]]
    for conditions in rounds:
        if not conditions or limit + 1 - len(found) <= 0:
            break
        for rows in _candidates_together(qs, conditions, fields):
            room = limit + 1 - len(found)
            if room <= 0:
                break
            batch = sorted((row for row in rows if row[0] not in seen), key=key)[:room]
            seen.update(row[0] for row in batch)
            found.extend(batch)
    return found[:limit], len(found) > limit


def _fetch(qs: QuerySet, ids: list) -> list:
    """The rows with these primary keys, in this order: one query (none for no ids).

    The ids come from queries already scoped to what the user may see.
    """
    if not ids:
        return []
    rows = {row.pk: row for row in qs.filter(pk__in=ids).order_by()}
    return [rows[pk] for pk in ids if pk in rows]


# --- identifiers ---------------------------------------------------------------------------------


def _type_id(q: str) -> tuple[str, str] | None:
    """(TYPE, id) when the query is written TYPE/ID with a known account type."""
    account_type, _, account_id = q.partition("/")
    if account_type.upper() in ACCOUNT_TYPES and account_id:
        return account_type.upper(), account_id
    return None


def _is_email(q: str) -> bool:
    return "@" in q and " " not in q


def exact_target(user, q: str) -> str | None:
    """The URL of the one record an identifier names, if the query is one; a bounded handful of queries."""
    upper = q.upper()
    if _RCN.match(q):
        customer = visible_customers(user).filter(rcn=upper).order_by().first()
        if customer:
            return customer.get_absolute_url()
        survivor = merged_into(user, upper)
        return reverse("accounts:customer_detail", args=[survivor]) if survivor else None
    if _RPN.match(q):
        contact = visible_contacts(user).filter(contact_number=upper).order_by().first()
        return contact.get_absolute_url() if contact else None
    type_id = _type_id(q)
    if type_id:
        account_type, account_id = type_id
        # The id as typed: one probe of the (type, account_id) unique index.
        account = visible_accounts(user).filter(type=account_type, account_id=account_id).order_by().first()
        if account:
            return account.get_absolute_url()
        # Otherwise case-insensitively (an index on UPPER(account_id)); a unique match only.
        found = list(visible_accounts(user).filter(type=account_type, account_id__iexact=account_id).order_by()[:2])
        return found[0].get_absolute_url() if len(found) == 1 else None
    if _is_email(q):
        contact_numbers = list(
            _visible_emails(user)
            .filter(address_lower=q.lower())
            .order_by()
            .values_list("contact__contact_number", flat=True)
            .distinct()[:2]
        )
        if len(contact_numbers) == 1:
            return reverse("contacts:contact_detail", args=[contact_numbers[0]])
        return None
    if " " not in q:
        # An account id is unique per type only: one that several types share lists them all instead.
        condition = Q(account_id__iexact=q) | Q(tenant_id=q)
        if q.isascii() and q.isdigit() and len(q) < 19:  # "²" is a digit to isdigit(), not to int()
            condition |= Q(number=int(q))
        accounts = list(visible_accounts(user).filter(condition).order_by()[:2])
        if len(accounts) == 1:
            return accounts[0].get_absolute_url()
    return None


def _visible_emails(user) -> QuerySet:
    emails = EmailAddress.objects.all()
    return emails if can_view_all(user) else emails.filter(contact__in=visible_contacts(user))


def _visible_phones(user) -> QuerySet:
    phones = PhoneNumber.objects.all()
    return phones if can_view_all(user) else phones.filter(contact__in=visible_contacts(user))


# --- fragments -----------------------------------------------------------------------------------


def _customers(user, q: str, limit: int):
    rows, more = _customer_rows(user, q, limit)
    hits = [
        Hit("customers", c.get_absolute_url(), highlight(c.rcn, q), highlight(c.name or "(no name)", q)) for c in rows
    ]
    return hits, more


def customer_suggestions(user, q: str, limit: int = SUGGESTIONS_PER_FIELD) -> list[Customer]:
    """The customers `user` may see that an RCN or name fragment `q` names, best first (the RCN fields'
    suggestions): the same stages as the search box's customers."""
    q = normalize(q)
    return _customer_rows(user, q, limit)[0] if q else []


def _customer_rows(user, q: str, limit: int):
    if _RCN.match(q):
        # A whole RCN: every RCN has the same length, so only the equal one can match.
        stages = [Q(rcn=q.upper())]
    else:
        rcn_like = bool(_RCN_FRAGMENT.match(q))
        stages = [Q(rcn=q.upper()) | Q(name__iexact=q)]
        if len(q) >= MIN_PREFIX:
            stages.append(Q(name__istartswith=q) | (Q(rcn__istartswith=q) if rcn_like else Q(pk__in=[])))
        if len(q) >= MIN_FRAGMENT:
            stages.append(Q(name__icontains=q) | (Q(rcn__icontains=q) if rcn_like else Q(pk__in=[])))
    found, more = _staged(visible_customers(user), stages, limit, ("rcn",), lambda row: row[1].lower(), together=2)
    return _fetch(Customer.objects.all(), [row[0] for row in found]), more


def _accounts(user, q: str, limit: int):
    type_id = _type_id(q)
    if type_id:
        account_type, rest = type_id
        # TYPE/ID: the id as typed, case-insensitively, then ids starting with it, by a range on the
        # (type, account_id) index (startswith keeps the range honest).
        upper_bound = rest[:-1] + chr(ord(rest[-1]) + 1)
        stages = [
            Q(type=account_type, account_id=rest) | Q(type=account_type, account_id__iexact=rest),
            Q(type=account_type, account_id__gte=rest, account_id__lt=upper_bound, account_id__startswith=rest),
        ]
    else:
        exact = Q(account_id__iexact=q) | Q(tenant_id=q) | Q(domain=q) | Q(name__iexact=q)
        exact |= Q(nickname__iexact=q)
        if q.lower() != q:
            exact |= Q(domain=q.lower())
        if q.isascii() and q.isdigit() and len(q) < 19:  # "²" is a digit to isdigit(), not to int()
            exact |= Q(number=int(q))
        stages = [exact]
        if len(q) >= MIN_PREFIX:
            stages.append(Q(name__istartswith=q) | Q(nickname__istartswith=q) | Q(domain__istartswith=q))
        if len(q) >= MIN_FRAGMENT:
            stages.append(Q(name__icontains=q) | Q(nickname__icontains=q) | Q(domain__icontains=q))
    found, more = _staged(
        visible_accounts(user),
        stages,
        limit,
        ("type", "account_id"),
        lambda row: (row[1].lower(), row[2].lower()),
        together=2,
    )
    rows = _fetch(Account.objects.select_related("customer"), [row[0] for row in found])
    hits = []
    for a in rows:
        detail = [highlight(v, q) for v in (a.nickname, a.domain, a.tenant_id and f"tenant {a.tenant_id}") if v]
        detail.append(escape(a.status or ""))
        title = highlight(a.name or a.nickname or "(no name)", q)
        hits.append(Hit("accounts", a.get_absolute_url(), highlight(a.key, q), title, [d for d in detail if d]))
    return hits, more


def _contact_stages(q: str) -> list:
    upper = q.upper()
    if _RPN.match(q):
        # A whole RPN: every RPN has the same length, so only the equal one can match.
        return [Q(contact_number=upper)]
    if _is_email(q):
        # Names hold no "@": only a username can be written like an address.
        stages = [Q(username=q)]
        if len(q) >= MIN_FRAGMENT:
            stages.append(Q(username__icontains=q))
        return stages
    words = q.split()
    exact = Q(contact_number=upper) | Q(username=q) | Q(first_name__iexact=q) | Q(last_name__iexact=q)
    prefix = Q(first_name__istartswith=q) | Q(last_name__istartswith=q) | Q(username__istartswith=q)
    contains = Q(username__icontains=q)
    if _NAME_TEXT.match(q):
        # Only text a person's name can hold: a fragment such as "i.che" would make the trigram index
        # return every name with a word starting "che", each read and rejected.
        contains |= Q(first_name__icontains=q) | Q(last_name__icontains=q)
    if len(words) == 2:
        first, last = words
        exact |= Q(first_name__iexact=first, last_name__iexact=last)
        if len(first) >= MIN_PREFIX and len(last) >= MIN_PREFIX:
            prefix |= Q(first_name__istartswith=first, last_name__istartswith=last)
    if _RPN_FRAGMENT.match(q):
        prefix |= Q(contact_number__istartswith=q)
        contains |= Q(contact_number__icontains=q)
    return [exact, prefix if len(q) >= MIN_PREFIX else None, contains if len(q) >= MIN_FRAGMENT else None]


def _phone_stages(q: str, digits: str) -> list:
    """A number however it is typed: its search key exactly (`+1 540 826 3188`, `(540) 826 3188` and
    `+15408263188` are one key), then keys starting with it (a number typed in part, with or without
    its country code) or numbers holding its digits; both on indexed columns."""
    key = phones.search_key(q)
    exact = Q(normalized=key) if key.startswith("+") else None
    prefix = phones.key_prefix(q)
    partial = Q(digits__contains=digits)
    if prefix:
        partial |= Q(normalized__startswith=prefix)
    return [exact, partial]


def _phone_order(row) -> tuple:
    return (row[2], row[0])


def _contacts(user, q: str, limit: int, context: bool = True):
    digits = phone_digits(q)
    is_phone = bool(_PHONE_TEXT.match(q)) and len(digits) >= MIN_PHONE_DIGITS
    address = q.lower()
    email_stages = []
    if _is_email(q):
        # The address itself; addresses containing it only for a partial one (a whole address has so many
        # trigrams, most of them common, that the trigram index reads far more than an equality lookup).
        email_stages = [Q(address_lower=address)]
        if not _WHOLE_EMAIL.match(address):
            email_stages.append(Q(address_lower__contains=address))
    elif len(q) >= MIN_FRAGMENT and " " not in q and not _PHONE_TEXT.match(q) and not _RPN.match(q):
        email_stages = [Q(address_lower__contains=address)]
    extra, more_emails = [], False  # (contact id, detail) from emails and phones
    if email_stages:
        emails, more_emails = _staged(
            _visible_emails(user), email_stages, limit, ("contact_id", "address"), lambda row: row[2].lower()
        )
        extra += [(contact_id, highlight(email, q)) for _, contact_id, email in emails]
    if is_phone:
        found_phones, _ = _staged(
            _visible_phones(user), _phone_stages(q, digits), limit, ("contact_id", "number", "country"), _phone_order
        )
        extra += [
            (contact_id, highlight_digits(phones.display(number, country), digits))
            for _, contact_id, number, country in found_phones
        ]

    found, more = _staged(
        visible_contacts(user), _contact_stages(q), limit, ("contact_number",), lambda row: row[1].lower(), together=2
    )
    pairs = [(row[0], None) for row in found]
    identifier_first = "@" in q or is_phone
    pairs = extra + pairs if identifier_first else pairs + extra
    chosen, details = [], {}
    for contact_id, detail in pairs:
        if contact_id not in details:
            chosen.append(contact_id)
            details[contact_id] = detail
    hits = []
    contacts = _fetch(Contact.objects.select_related("customer"), chosen[:limit])
    accounts = _accounts_of(user, contacts) if context else {}
    for contact in contacts:
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or "(no name)"
        hits.append(
            Hit(
                "contacts",
                contact.get_absolute_url(),
                highlight(contact.contact_number, q),
                highlight(name, q),
                [d for d in (highlight(contact.username, q), details[contact.pk]) if d],
                _contact_context(contact, accounts.get(contact.pk, [])) if context else [],
            )
        )
    return hits, more or more_emails or len(chosen) > limit


# Accounts named beside a contact hit; the contact's page lists them all.
ACCOUNTS_PER_CONTACT = 3


def _accounts_of(user, contacts) -> dict[int, list[str]]:
    """{contact id: up to ACCOUNTS_PER_CONTACT + 1 keys of its accounts the user sees}, in one query."""
    if not contacts:
        return {}
    # The first few accounts of each contact, whatever the others hold: numbered per contact by the database.
    rank = Window(RowNumber(), partition_by=[F("contact_id")], order_by=[F("account__type"), F("account__account_id")])
    rows = (
        AccountContact.objects.filter(contact_id__in=[c.pk for c in contacts], account__in=visible_accounts(user))
        .annotate(rank=rank)
        .filter(rank__lte=ACCOUNTS_PER_CONTACT + 1)
        .order_by("contact_id", "rank")
        .values_list("contact_id", "account__type", "account__account_id")
    )
    keys: dict[int, list[str]] = {}
    for contact_id, account_type, account_id in rows:
        keys.setdefault(contact_id, []).append(f"{account_type}/{account_id}")
    return keys


def _contact_context(contact, keys: list[str]) -> list[str]:
    context = []
    if contact.customer:
        customer = contact.customer
        context.append(f"of {customer.rcn}" + (f" {customer.name}" if customer.name else ""))
    if keys:
        shown = ", ".join(keys[:ACCOUNTS_PER_CONTACT])
        context.append(f"on {shown}" + (" and more" if len(keys) > ACCOUNTS_PER_CONTACT else ""))
    return context


def _kinds(q: str) -> tuple[str, ...]:
    """The kinds a query can match: an identifier typed in full belongs to one kind only."""
    if _RCN.match(q):
        return ("customers",)
    if _RPN.match(q) or _is_email(q):
        return ("contacts",)
    if _type_id(q):
        return ("accounts",)
    return KINDS


def search(
    user, q: str, limit: int = RESULTS_PER_KIND, follow_identifiers: bool = True, context: bool = True
) -> Results:
    """Search everything `user` may see; `redirect` is set when the query names exactly one record.

    `context`: say beside each contact whose customer it is and which accounts it is on (the results page;
    suggestions stay one line each).
    """
    q = normalize(q)
    results = Results(query=q, groups={k: [] for k in KINDS}, more={k: False for k in KINDS})
    if not q:
        return results
    if follow_identifiers:
        results.redirect = exact_target(user, q)
        if results.redirect:
            return results
    finders = {
        "customers": _customers,
        "accounts": _accounts,
        "contacts": lambda user, q, limit: _contacts(user, q, limit, context),
    }
    for kind in _kinds(q):
        results.groups[kind], results.more[kind] = finders[kind](user, q, limit)
    return results
