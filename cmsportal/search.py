"""One search box for everything: customers, accounts and contacts, by any identifier or fragment.

How it stays fast on millions of rows:
1. An identifier (RCN, RPN, TYPE/ID, a unique account id, number or tenant id, an exact email address)
   is looked up with equality on indexed columns and answered with the record itself.
2. Otherwise each kind is searched in stages, best first: exact, then prefix (`__istartswith`), then
   contains (`__icontains`; served on PostgreSQL by trigram indexes on UPPER(column)). Every stage is
   LIMITed, later stages run only while a group still has room, and nothing is ever counted, so a
   search costs a fixed, small number of queries whatever the size of the data.
Everything starts from what the user may see (visible_accounts and the customers and contacts on it).
"""

import re
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import RCN_RE, AccountType
from cmsportal.identity.access import can_view_all, visible_accounts
from cmsportal.pages import merged_into, visible_contacts, visible_customers
from contacts.models import RPN_RE, EmailAddress, PhoneNumber, phone_digits

MAX_QUERY_LENGTH = 200
RESULTS_PER_KIND = 10
SUGGESTIONS_PER_KIND = 4
MIN_PHONE_DIGITS = 3
MIN_FRAGMENT = 2

_RCN = re.compile(RCN_RE, re.IGNORECASE)
_RPN = re.compile(RPN_RE, re.IGNORECASE)
_RCN_FRAGMENT = re.compile(r"^(RCN-?)?[\d-]*\d[\d-]*$", re.IGNORECASE)
_RPN_FRAGMENT = re.compile(r"^(RPN-?)?[\d-]*\d[\d-]*$", re.IGNORECASE)
_PHONE_TEXT = re.compile(r"^[\d\s\-().+/]+$")
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
        return [{"kind": k, "hits": self.groups[k], "more": self.more[k], "list_url": self.list_url(k)} for k in KINDS]

    def list_url(self, kind: str) -> str:
        from urllib.parse import urlencode

        name = {"customers": "accounts:customer_list", "accounts": "accounts:account_list"}.get(
            kind, "contacts:contact_list"
        )
        return f"{reverse(name)}?{urlencode({'q': self.query})}"


def _staged(qs: QuerySet, stages, limit: int) -> tuple[list, bool]:
    """Rows matching the stages in priority order, without repeats; at most limit (+1 to know there is more)."""
    found, seen = [], set()
    for condition in stages:
        if condition is None:
            continue
        room = limit + 1 - len(found)
        if room <= 0:
            break
        # No ORDER BY: with one, a LIMIT tempts the planner to walk the whole ordering index and filter;
        # without, the matches come from the search indexes and are put in order here.
        rows = qs.filter(condition).order_by()
        if seen:
            rows = rows.exclude(pk__in=seen)
        batch = sorted(rows[:room], key=lambda row: str(row).lower())
        seen.update(row.pk for row in batch)
        found.extend(batch)
    return found[:limit], len(found) > limit


# --- identifiers ---------------------------------------------------------------------------------


def exact_target(user, q: str) -> str | None:
    """The URL of the one record an identifier names, if the query is one; a bounded handful of queries."""
    upper = q.upper()
    if _RCN.match(q):
        customer = visible_customers(user).filter(rcn=upper).first()
        if customer:
            return customer.get_absolute_url()
        survivor = merged_into(user, upper)
        return reverse("accounts:customer_detail", args=[survivor]) if survivor else None
    if _RPN.match(q):
        contact = visible_contacts(user).filter(contact_number=upper).first()
        return contact.get_absolute_url() if contact else None
    if "/" in q:
        account_type, _, account_id = q.partition("/")
        if account_type.upper() in ACCOUNT_TYPES and account_id:
            # Ids match case-insensitively (served by an index on UPPER(account_id)); the exact case wins a tie.
            found = list(visible_accounts(user).filter(type=account_type.upper(), account_id__iexact=account_id)[:2])
            exact = [a for a in found if a.account_id == account_id]
            if len(found) == 1 or exact:
                return (exact or found)[0].get_absolute_url()
    if "@" in q and " " not in q:
        contact_numbers = list(
            _visible_emails(user)
            .filter(address_lower=q.lower())
            .values_list("contact__contact_number", flat=True)
            .distinct()[:2]
        )
        if len(contact_numbers) == 1:
            return reverse("contacts:contact_detail", args=[contact_numbers[0]])
    if " " not in q:
        # An account id is unique per type only: one that several types share lists them all instead.
        condition = Q(account_id__iexact=q) | Q(tenant_id=q)
        if q.isdigit() and len(q) < 19:
            condition |= Q(number=int(q))
        accounts = list(visible_accounts(user).filter(condition)[:2])
        if len(accounts) == 1:
            return accounts[0].get_absolute_url()
    return None


def _visible_emails(user) -> QuerySet:
    emails = EmailAddress.objects.select_related("contact")
    return emails if can_view_all(user) else emails.filter(contact__in=visible_contacts(user))


def _visible_phones(user) -> QuerySet:
    phones = PhoneNumber.objects.select_related("contact")
    return phones if can_view_all(user) else phones.filter(contact__in=visible_contacts(user))


# --- fragments -----------------------------------------------------------------------------------


def _customers(user, q: str, limit: int):
    rcn_like = bool(_RCN_FRAGMENT.match(q))
    stages = [
        Q(rcn=q.upper()) | Q(name__iexact=q),
        Q(name__istartswith=q) | (Q(rcn__istartswith=q) if rcn_like else Q(pk__in=[])),
        (Q(name__icontains=q) | (Q(rcn__icontains=q) if rcn_like else Q(pk__in=[])))
        if len(q) >= MIN_FRAGMENT
        else None,
    ]
    rows, more = _staged(visible_customers(user), stages, limit)
    hits = [
        Hit("customers", c.get_absolute_url(), highlight(c.rcn, q), highlight(c.name or "(no name)", q)) for c in rows
    ]
    return hits, more


def _accounts(user, q: str, limit: int):
    exact = Q(account_id__iexact=q) | Q(tenant_id=q) | Q(domain=q) | Q(name__iexact=q)
    exact |= Q(nickname__iexact=q)
    if q.lower() != q:
        exact |= Q(domain=q.lower())
    if q.isdigit() and len(q) < 19:
        exact |= Q(number=int(q))
    stages = [exact]
    account_type, _, rest = q.partition("/")
    if account_type.upper() in ACCOUNT_TYPES and rest:
        # A range on the (type, account_id) index finds the candidates; startswith keeps them honest.
        upper_bound = rest[:-1] + chr(ord(rest[-1]) + 1)
        stages.append(
            Q(type=account_type.upper(), account_id__gte=rest, account_id__lt=upper_bound, account_id__startswith=rest)
        )
    stages.append(Q(name__istartswith=q) | Q(nickname__istartswith=q) | Q(domain__istartswith=q))
    if len(q) >= MIN_FRAGMENT:
        stages.append(Q(name__icontains=q) | Q(nickname__icontains=q) | Q(domain__icontains=q))
    rows, more = _staged(visible_accounts(user).select_related("customer"), stages, limit)
    hits = []
    for a in rows:
        detail = [highlight(v, q) for v in (a.nickname, a.domain, a.tenant_id and f"tenant {a.tenant_id}") if v]
        detail.append(escape(a.status or ""))
        title = highlight(a.name or a.nickname or "(no name)", q)
        hits.append(Hit("accounts", a.get_absolute_url(), highlight(a.key, q), title, [d for d in detail if d]))
    return hits, more


def _contacts(user, q: str, limit: int):
    upper = q.upper()
    words = q.split()
    exact = Q(contact_number=upper) | Q(username=q) | Q(first_name__iexact=q) | Q(last_name__iexact=q)
    prefix = Q(first_name__istartswith=q) | Q(last_name__istartswith=q) | Q(username__istartswith=q)
    contains = Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(username__icontains=q)
    if len(words) == 2:
        first, last = words
        exact |= Q(first_name__iexact=first, last_name__iexact=last)
        prefix |= Q(first_name__istartswith=first, last_name__istartswith=last)
    if _RPN_FRAGMENT.match(q):
        prefix |= Q(contact_number__istartswith=q)
        contains |= Q(contact_number__icontains=q)
    stages = [exact, prefix, contains if len(q) >= MIN_FRAGMENT else None]

    extra = []  # (contact, detail) from emails and phones
    digits = phone_digits(q)
    if "@" in q or (len(q) >= 3 and " " not in q and not _PHONE_TEXT.match(q)):
        for email in _visible_emails(user).filter(address_lower__contains=q.lower()).order_by()[: limit + 1]:
            extra.append((email.contact, highlight(email.address, q)))
    if _PHONE_TEXT.match(q) and len(digits) >= MIN_PHONE_DIGITS:
        for phone in _visible_phones(user).filter(digits__contains=digits).order_by()[: limit + 1]:
            extra.append((phone.contact, highlight_digits(phone.number, digits)))

    identifier_first = "@" in q or bool(_PHONE_TEXT.match(q) and len(digits) >= MIN_PHONE_DIGITS)
    by_name, more = _staged(visible_contacts(user), stages, limit)
    pairs = [(c, None) for c in by_name]
    pairs = extra + pairs if identifier_first else pairs + extra
    seen, hits = set(), []
    for contact, detail in pairs:
        if contact.pk in seen:
            continue
        seen.add(contact.pk)
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or "(no name)"
        details = [d for d in (highlight(contact.username, q), detail) if d]
        hits.append(
            Hit(
                "contacts",
                contact.get_absolute_url(),
                highlight(contact.contact_number, q),
                highlight(name, q),
                details,
            )
        )
    return hits[:limit], more or len(hits) > limit


def search(user, q: str, limit: int = RESULTS_PER_KIND, follow_identifiers: bool = True) -> Results:
    """Search everything `user` may see; `redirect` is set when the query names exactly one record."""
    q = normalize(q)
    results = Results(query=q, groups={k: [] for k in KINDS}, more={k: False for k in KINDS})
    if not q:
        return results
    if follow_identifiers:
        results.redirect = exact_target(user, q)
        if results.redirect:
            return results
    for kind, finder in (("customers", _customers), ("accounts", _accounts), ("contacts", _contacts)):
        results.groups[kind], results.more[kind] = finder(user, q, limit)
    return results
