"""Deterministic demo data in the exchange format (docs/EXCHANGE.md).

`generate_records(accounts, seed)` streams one-key records exactly as the lines of an exchange
file: namespaces first, then each customer followed by its accounts, their contacts, metadata and
history trails. Every account tells a coherent story: it is opened (NEW, usually Pending Approval),
approved or rejected, may change nickname, may have come from another customer (RCN_UPDATE) or from
a customer merged away (MERGE), may fall behind on payments (DELINQUENT_LEVEL_1..3) and either pay
up or be written off and closed. The account record shows the state the story ends in, and its
`rcn` is that of its last RCN change.

Only `random.Random(seed)` is used, so the same arguments always give the same records; the work
per record is a few dictionary builds, so a million accounts stream in minutes.
"""

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "NAMESPACES",
    "GROUPS",
    "ACCOUNT_TYPES",
    "SERVICE_LEVELS",
    "ROLES",
    "START",
    "LATEST",
    "DAY",
    "SCENARIOS",
    "ORIGINS",
    "ACCOUNTS_PER_CUSTOMER",
    "TYPE_WEIGHTS",
    "customer_rcn",
    "merged_rcn",
    "contact_rpn",
    "generate_records",
    "EXAMPLES_FILE",
    "example_records",
    "directory_records",
]

# Open namespaces: `support` has an explicit OPEN policy, `billing` and `creation` have none (open by default).
NAMESPACES = (
    {"name": "finance", "access": "WRITE_RESTRICTED", "readers": ["finance"], "writers": ["finance-admins"]},
    {"name": "risk", "access": "READ_RESTRICTED", "readers": ["risk-analysts"], "writers": ["risk-admins"]},
    {"name": "support", "access": "OPEN", "readers": [], "writers": []},
)
# The groups the namespaces name (created by seed_demo, joined by the demo user).
GROUPS = tuple(sorted({group for ns in NAMESPACES for group in ns["readers"] + ns["writers"]}))

ACCOUNT_TYPES = ("CLOUD", "MANAGED_HOSTING", "FANATICAL_SUPPORT_FOR_AWS")
SERVICE_LEVELS = {
    "CLOUD": ("managed", "managed_legacy", "managed_infrastructure", "managed_operations"),
    "MANAGED_HOSTING": ("intensive", "managed", "intensive_plus"),
    "FANATICAL_SUPPORT_FOR_AWS": ("navigator", "aviator"),
}
ROLES = ("PRIMARY", "BILLING", "TECHNICAL", "ADMINISTRATIVE")

START = 1230768000  # 2009-01-01T00:00:00Z: the oldest account opens after this
LATEST = 1782777600  # 2026-06-30T00:00:00Z: no story goes past this
DAY = 86400

_ADJECTIVES = (
    "Blue", "Red", "Silver", "Golden", "Northern", "Southern", "Eastern", "Western", "Bright", "Quiet", "Rapid",
    "Lone Star", "Alamo", "Granite", "Cedar", "Prairie", "Summit", "Harbor", "Pioneer", "Liberty", "Cypress",
    "Riverwalk", "Evergreen", "Copper", "Iron", "Crystal", "Atlas", "Beacon", "Sterling", "Frontier",
)  # fmt: skip
_NOUNS = (
    "Ridge", "River", "Canyon", "Oak", "Pine", "Falcon", "Bison", "Mesa", "Harvest", "Anchor", "Bridge", "Forge",
    "Compass", "Lantern", "Meadow", "Orchard", "Peak", "Harbor", "Signal", "Vista", "Spring", "Trail", "Hill",
)  # fmt: skip
_TRADES = (
    "Logistics", "Analytics", "Software", "Dental Group", "Realty", "Media", "Outfitters", "Health", "Labs",
    "Consulting", "Foods", "Energy", "Fitness", "Travel", "Insurance", "Legal", "Design", "Robotics", "Supply",
    "Marketing", "Brewing", "Pharmacy", "Capital", "Systems", "Networks", "Games", "Studios", "Academy",
)  # fmt: skip
_SUFFIXES = ("Inc", "LLC", "Corp", "Ltd", "Co", "Group", "Partners", "")
_FIRST = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Maria", "Jose", "Wei", "Priya", "Ahmed", "Fatima", "Olga", "Kenji", "Aisha", "Carlos", "Sofia",
    "Liam", "Emma", "Noah", "Olivia", "Mateo", "Amara", "Hiroshi", "Ingrid", "Tomasz", "Chloe", "Diego", "Nia",
)  # fmt: skip
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Nguyen", "Patel",
    "Kim", "Chen", "O'Brien", "Kowalski", "Okafor", "Svensson", "Tanaka", "Rossi", "Dubois", "Schmidt",
)  # fmt: skip
_STREETS = (
    "Walzem Road", "Main Street", "Broadway", "Commerce Street", "Fredericksburg Road", "Oak Lane", "Elm Street",
    "Market Street", "Congress Avenue", "Lamar Boulevard", "Houston Street", "Alamo Plaza", "Pine Avenue",
)  # fmt: skip
_PLACES = (
    ("San Antonio", "Texas", "782", "US"), ("Austin", "Texas", "787", "US"), ("Dallas", "Texas", "752", "US"),
    ("Blacksburg", "Virginia", "240", "US"), ("Chicago", "Illinois", "606", "US"), ("Denver", "Colorado", "802", "US"),
    ("Seattle", "Washington", "981", "US"), ("New York", "New York", "100", "US"),
    ("London", "Greater London", "EC1", "GB"), ("Hayes", "Middlesex", "UB3", "GB"), ("Sydney", "NSW", "200", "AU"),
    ("Hong Kong", "Hong Kong", "", "HK"), ("Zurich", "Zurich", "80", "CH"),
)  # fmt: skip
_AREA_CODES = ("210", "512", "214", "540", "312", "303", "206", "212")
_RACKERS = (
    "jsmith", "mgarcia", "pchen", "rnguyen", "akowalski", "lmartinez", "tokafor", "bsvensson", "dpatel", "ejones",
)  # fmt: skip
_NICKNAMES = ("prod", "staging", "dev", "legacy", "web", "analytics", "dr", "main", "ecommerce", "backoffice")
_TEAMS = ("Enterprise East", "Enterprise West", "Mid-Market", "SMB Austin", "SMB London", "Strategic")
_CURRENCIES = (("USD", 8), ("GBP", 2), ("EUR", 1), ("AUD", 1))

# Scenarios: how an account's story ends. The first accounts run through all of them so that even a
# small data set shows every status; the rest are drawn with these weights.
SCENARIOS = (
    ("active", 52),
    ("pending", 4),
    ("rejected", 2),
    ("delinquent_paid", 10),
    ("delinquent_1", 5),
    ("delinquent_2", 4),
    ("delinquent_3", 3),
    ("written_off", 5),
    ("closed", 8),
    ("suspended", 4),
    ("reactivated", 3),
)
# How the account came to its customer: opened there, moved from another (still existing) customer, or
# brought along when its old customer was merged into this one.
ORIGINS = (("own", 84), ("moved", 10), ("merged", 6))
ACCOUNTS_PER_CUSTOMER = ((1, 38), (2, 28), (3, 16), (4, 10), (5, 4), (6, 2), (8, 2))
TYPE_WEIGHTS = (("CLOUD", 55), ("MANAGED_HOSTING", 30), ("FANATICAL_SUPPORT_FOR_AWS", 15))


def _cumulative(weighted):
    values, weights, total = [], [], 0
    for value, weight in weighted:
        total += weight
        values.append(value)
        weights.append(total)
    return values, weights


_SCENARIO_TABLE = _cumulative(SCENARIOS)
_ORIGIN_TABLE = _cumulative(ORIGINS)
_SIZE_TABLE = _cumulative(ACCOUNTS_PER_CUSTOMER)
_TYPE_TABLE = _cumulative(TYPE_WEIGHTS)
_CURRENCY_TABLE = _cumulative(_CURRENCIES)


def _pick(rng: random.Random, table) -> str:
    values, cumulative = table
    point = rng.random() * cumulative[-1]
    for value, bound in zip(values, cumulative, strict=True):
        if point < bound:
            return value
    return values[-1]


def _number(prefix: str, n: int, multiplier: int) -> str:
    """`PREFIX-ddd-ddd-ddd` for index n; multiplying by a unit mod 10**9 keeps them unique but unordered."""
    n = (n * multiplier + 123_456_789) % 1_000_000_000
    return f"{prefix}-{n // 1_000_000:03d}-{n // 1000 % 1000:03d}-{n % 1000:03d}"


def customer_rcn(index: int) -> str:
    """RCN of the index-th demo customer (even positions; odd ones are customers merged away)."""
    return _number("RCN", 2 * index, 387_420_489)


def merged_rcn(index: int) -> str:
    """RCN of a customer that was merged into the index-th customer and no longer exists."""
    return _number("RCN", 2 * index + 1, 387_420_489)


def contact_rpn(index: int) -> str:
    return _number("RPN", index, 282_475_249)


_date_cache: dict[int, str] = {}


def _date(seconds: int, millis: int = 0) -> str:
    """Format like the API: 2015-04-21T18:00:00.000Z (the day part is cached: it repeats a lot)."""
    day, rest = divmod(seconds, DAY)
    prefix = _date_cache.get(day)
    if prefix is None:
        prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))
        _date_cache[day] = prefix
    return f"{prefix}{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}.{millis:03d}Z"


class _Story:
    """The state of one account while its history is written, and the history records so far."""

    __slots__ = (
        "type", "id", "rcn", "status", "collections", "access", "nickname", "t", "by", "records", "opened", "last"
    )  # fmt: skip

    def __init__(self, account_type, account_id, rcn, t):
        self.type, self.id, self.rcn, self.t = account_type, account_id, rcn, t
        self.status, self.collections, self.access, self.nickname = "Pending Approval", "CURRENT", "FULL", None
        self.by = None
        self.records = []
        self.last = 0

    def _when(self) -> str:
        """The date of the next change: never before (nor at) the previous one, as the services would stamp it."""
        if self.t <= self.last:
            self.t = self.last + 3 + self.t % 40
        self.last = self.t
        return _date(self.t, self.t * 7 % 1000)

    def _key(self):
        return {"accountType": self.type, "accountId": self.id}

    def history(self, change_type, actor, when, destination=None):
        body = self._key()
        body["accountChangeType"] = change_type
        body["rcn"] = self.rcn
        body["updatedDate"] = when
        body["accountStatus"] = self.status
        body["collectionsStatus"] = self.collections
        if self.nickname is not None:
            body["nickname"] = self.nickname
        body["updatedBy"] = {"username": actor[0], "type": actor[1]}
        if destination is not None:
            body["destinationUpdatedBy"] = {"username": destination[0], "type": destination[1]}
        self.records.append({"customerAccountHistory": body})

    def status_change(self, actor, when, fraud=None):
        body = self._key()
        body["date"] = when
        body["status"] = self.status
        body["username"] = actor[0]
        body["usertype"] = actor[1]
        body["collectionsStatus"] = self.collections
        body["accessPolicy"] = self.access
        if fraud is not None:
            body["fraudStatus"] = fraud
        self.records.append({"statusChange": body})

    def rcn_change(self, change_type, actor, when):
        body = self._key()
        body.update(accountChangeType=change_type, username=actor[0], rcn=self.rcn, date=when)
        self.records.append({"accountRCNChange": body})

    def step(self, rng, low_days, high_days):
        """Move the clock on; False when the story would run past LATEST (it then ends here)."""
        t = self.t + rng.randint(low_days * DAY, high_days * DAY)
        if t > LATEST:
            return False
        self.t = t
        return True

    # The same rows the services write for each change (accounts/services.py).
    def new(self, actor, fraud):
        self.opened = self.t
        when = self._when()
        self.history("NEW", actor, when)
        self.rcn_change("NEW", actor, when)
        self.status_change(actor, when, fraud)
        self.by = (actor[0], when)

    def set_status(self, actor, status=None, access=None, fraud=None):
        when = self._when()
        self.status = status or self.status
        self.access = access or self.access
        self.status_change(actor, when, fraud)
        self.history("LEGACY_ACCOUNT_STATUS", actor, when)
        self.by = (actor[0], when)

    def set_collections(self, actor, collections):
        when = self._when()
        self.collections = collections
        self.status_change(actor, when)
        self.history("COLLECTIONS_STATUS", actor, when)
        self.by = (actor[0], when)

    def set_nickname(self, actor, nickname):
        when = self._when()
        self.nickname = nickname
        self.history("NICKNAME", actor, when)
        self.by = (actor[0], when)

    def move(self, actor, destination, rcn, merge):
        when = self._when()
        self.rcn = rcn
        self.history("RCN_UPDATE", actor, when, destination)
        self.rcn_change("MERGE" if merge else "RCN_UPDATE", actor, when)
        self.by = (actor[0], when)


def _company(rng: random.Random) -> tuple[str, str]:
    """A business name and a mail domain made from it."""
    adjective, noun, trade = rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_TRADES)
    suffix = rng.choice(_SUFFIXES)
    name = f"{adjective} {noun} {trade}" + (f" {suffix}" if suffix else "")
    slug = (adjective + noun).lower().replace(" ", "")
    return name, f"{slug}.example.com"


def _phone(rng: random.Random, country: str, n: int, primary: bool) -> dict:
    if country == "GB":
        number = f"+44 20 7{rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        return {"number": number, "country": "GB", "mask": "+## ## #### ####", "smsVerify": False, "primary": primary}
    area, line = rng.choice(_AREA_CODES), f"{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
    style = n % 3
    if style == 0:
        number = f"({area}) {line[:3]}-{line[3:]}"
    elif style == 1:
        number = f"+1 {area}.{line[:3]}.{line[3:]}"
    else:
        number = f"{area}{line}"
    return {
        "number": number,
        "country": "US",
        "mask": "(###)-###-####",
        "smsVerify": rng.random() < 0.3,
        "primary": primary,
    }


def _person(rng: random.Random, index: int) -> tuple[str, str, str]:
    """First name, last name and username of the index-th contact."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return first, last, f"{first[0].lower()}{last.lower().replace(chr(39), '')}{index}"


def _contact(rng, index, rcn, domain, links, t, person=None) -> dict:
    first, last, username = person or _person(rng, index)
    city, state, zip_prefix, country = rng.choice(_PLACES)
    plain = last.lower().replace("'", "")
    addresses = [
        {
            "street": f"{rng.randint(100, 9999)} {rng.choice(_STREETS)}",
            "city": city,
            "state": state,
            "zipcode": f"{zip_prefix}{rng.randint(10, 99)}",
            "country": country,
            "primary": True,
        }
    ]
    if rng.random() < 0.25:
        addresses.append(
            {
                "street": f"PO Box {rng.randint(100, 99999)}",
                "city": city,
                "state": state,
                "zipcode": f"{zip_prefix}{rng.randint(10, 99)}",
                "country": country,
                "primary": False,
            }
        )
    if not zip_prefix:  # no postal codes there
        for address in addresses:
            del address["zipcode"]
    emails = [{"address": f"{first.lower()}.{plain}@{domain}", "primary": True}]
    if rng.random() < 0.35:
        emails.append({"address": f"{first[0].lower()}{plain}{index % 100}@mail.example.net", "primary": False})
    phones = [_phone(rng, country, index, True)]
    if rng.random() < 0.4:
        phones.append(_phone(rng, country, index + 1, False))
    body = {
        "contactNumber": contact_rpn(index),
        "rcn": rcn,
        "firstName": first,
        "lastName": last,
    }
    if rng.random() < 0.3:
        body["title"] = rng.choice(("Mr", "Ms", "Mrs", "Dr"))
    if rng.random() < 0.05:
        body["suffix"] = rng.choice(("Jr", "Sr", "III"))
    body["username"] = username
    body["addresses"] = {"address": addresses}
    body["emailAddresses"] = {"emailAddress": emails}
    body["phoneNumbers"] = {"phoneNumber": phones}
    bits = rng.getrandbits(5) if rng.random() < 0.3 else 0
    body["notificationPreferences"] = {
        "doNotFax": bool(bits & 1),
        "doNotCall": bool(bits & 2),
        "doNotEmail": bool(bits & 4),
        "doNotMail": bool(bits & 8),
        "doNotSurvey": bool(bits & 16),
    }
    when = min(LATEST, t + rng.randint(0, 900 * DAY))
    body["lastUpdatedBy"] = rng.choice(_RACKERS) if rng.random() < 0.6 else body["username"]
    body["lastUpdatedDate"] = _date(when, index % 1000)
    body["accounts"] = links
    return {"contact": body}


def _metadata(rng, account_type, account_id, service_level, t):
    """About five entries: open (support, billing, creation), write-restricted (finance), read-restricted (risk)."""
    entries = [
        ("support:level", service_level),
        ("support:team", rng.choice(_TEAMS)),
        ("billing:cycle", "annual" if rng.random() < 0.2 else "monthly"),
        ("billing:currency", _pick(rng, _CURRENCY_TABLE)),
    ]
    if rng.random() < 0.6:
        entries.append(("finance:credit_limit", str(rng.choice((1000, 2500, 5000, 10000, 25000, 100000)))))
    if rng.random() < 0.5:
        entries.append(("risk:score", f"0.{rng.randint(1, 99):02d}"))
    if account_type == "FANATICAL_SUPPORT_FOR_AWS":
        entries.append(("creation:faws:servicelevelid", service_level.upper()))
    records = []
    for key, value in entries:
        created = min(LATEST, t + rng.randint(0, 30 * DAY))
        updated = created if rng.random() < 0.7 else min(LATEST, created + rng.randint(DAY, 700 * DAY))
        by = "cms-sync" if key.startswith(("billing:", "creation:")) else rng.choice(_RACKERS)
        records.append(
            {
                "metadata": {
                    "accountType": account_type,
                    "accountId": account_id,
                    "key": key,
                    "value": value,
                    "createdBy": by,
                    "createdDate": _date(created, created % 1000),
                    "lastUpdatedBy": by if updated == created else rng.choice(_RACKERS),
                    "lastUpdatedDate": _date(updated, updated % 1000),
                }
            }
        )
    return records


def _story(rng, story: _Story, scenario: str, origin: str, origin_rcn, customer_actor, nickname_chance):
    """Write the history of one account; the story's state is the account's final state."""
    signup = ("signup", "SYSTEM") if rng.random() < 0.7 else (rng.choice(_RACKERS), "RACKER")
    fraud_bot = ("fraud-check", "SYSTEM")
    billing = ("billing-sync", "SYSTEM")

    def racker():
        return (rng.choice(_RACKERS), "RACKER")

    if scenario == "pending":
        story.t = LATEST - rng.randint(1 * DAY, 40 * DAY)
    story.new(signup, "PENDING_APPROVAL")
    if scenario == "pending":
        return
    story.step(rng, 0, 3)
    if scenario == "rejected":
        story.set_status(fraud_bot, "Closed", "SUSPENDED", "REJECT")
        return
    story.set_status(fraud_bot if rng.random() < 0.8 else racker(), "Active", None, "ACCEPT")

    if rng.random() < nickname_chance and story.step(rng, 5, 200):
        story.set_nickname(customer_actor if rng.random() < 0.5 else racker(), rng.choice(_NICKNAMES))
    if origin != "own":
        # The move always happens (at the latest possible moment if time has run out): the account's
        # current customer is the one it was moved to.
        story.step(rng, 30, 700)
        actor = racker() if origin == "merged" or rng.random() < 0.6 else customer_actor
        story.move(actor, actor if origin == "merged" else racker(), origin_rcn, merge=origin == "merged")

    if scenario.startswith("delinquent") or scenario == "written_off":
        if not story.step(rng, 60, 900):
            return
        story.set_collections(billing, "DELINQUENT_LEVEL_1")
        if scenario == "delinquent_1":
            return
        if scenario == "delinquent_paid" and rng.random() < 0.5:
            if story.step(rng, 5, 40):
                story.set_collections(billing, "CURRENT")
            return
        if not story.step(rng, 25, 35):
            return
        story.set_collections(billing, "DELINQUENT_LEVEL_2")
        story.set_status(racker(), "Delinquent")
        if scenario == "delinquent_2":
            return
        if scenario == "delinquent_paid" and rng.random() < 0.5:
            if story.step(rng, 3, 30):
                story.set_collections(billing, "CURRENT")
                story.set_status(racker(), "Active")
            return
        if not story.step(rng, 25, 35):
            return
        story.set_collections(billing, "DELINQUENT_LEVEL_3")
        story.set_status(racker(), "Suspended", "SUSPENDED")
        if scenario == "delinquent_3":
            return
        if scenario == "delinquent_paid":
            if story.step(rng, 3, 30):
                story.set_collections(billing, "CURRENT")
                story.set_status(racker(), "Active", "FULL")
            return
        if not story.step(rng, 60, 120):
            return
        closer = racker()
        story.set_status(closer, "Closed")
        story.set_collections(closer, "WRITTEN_OFF")
        return

    if scenario in ("closed", "suspended", "reactivated") and story.step(rng, 90, 2500):
        if scenario == "closed":
            story.set_status(customer_actor if rng.random() < 0.5 else racker(), "Closed")
        else:
            story.set_status(racker(), "Suspended", "SUSPENDED")
            if scenario == "reactivated" and story.step(rng, 2, 60):
                story.set_status(racker(), "Active", "FULL")
        return
    if rng.random() < nickname_chance / 3 and story.step(rng, 30, 1500):
        story.set_nickname(customer_actor, rng.choice(_NICKNAMES) + "-" + str(rng.randint(2, 9)))


PROFILES = ("demo", "contacts")


def generate_records(accounts: int = 300, seed: int = 1, profile: str = "demo") -> Iterator[dict]:
    """Yield the records of a demo directory of `accounts` accounts, as the lines of an exchange file.

    Deterministic: the same (accounts, seed, profile) always gives the same records in the same order.

    Profiles: `demo`, about three contacts per account, each on its own account (the customer's owner on
    all of them); `contacts`, contact-heavy: 2.5 contacts per customer on average (the owner and one or
    two more), each with addresses, one or two email addresses and phone numbers, and roles on several of
    the customer's accounts (the owner on all, the others on each with probability 0.6, at least one).
    """
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; expected one of {PROFILES}.")
    shared_contacts = profile == "contacts"
    rng = random.Random(seed)
    for namespace in NAMESPACES:
        yield {"namespace": {**namespace, "readers": list(namespace["readers"]), "writers": list(namespace["writers"])}}

    # Ids are fixed-width numbers that grow with the account's position, so keys sort in generation order.
    base = 10 ** max(6, len(str(accounts * 8)))
    made = 0
    customer_index = 0
    contact_index = 0
    while made < accounts:
        size = min(accounts - made, int(_pick(rng, _SIZE_TABLE)))
        rcn = customer_rcn(customer_index)
        name, domain = _company(rng)
        yield {"customer": {"rcn": rcn, "name": name}}

        owner_index = contact_index
        owner_person = _person(rng, owner_index)
        owner_since = LATEST
        contact_index += 1
        owner_links = []
        account_records, tail, customer_accounts = [], [], []
        first_number = None
        for _ in range(size):
            position = made
            made += 1
            account_type = ACCOUNT_TYPES[position] if position < 3 else _pick(rng, _TYPE_TABLE)
            number = base + position * 8 + rng.randrange(8)
            account_id = str(number)
            scenario = SCENARIOS[position][0] if position < len(SCENARIOS) else _pick(rng, _SCENARIO_TABLE)
            origin = ORIGINS[position % 3][0] if position < 9 else _pick(rng, _ORIGIN_TABLE)
            if (origin == "moved" and customer_index == 0) or scenario in ("pending", "rejected"):
                origin = "own"
            # A moved account was opened under an earlier customer; a merged one under a customer now gone.
            if origin == "moved":
                opened_rcn = customer_rcn(rng.randrange(customer_index))
            elif origin == "merged":
                opened_rcn = merged_rcn(customer_index)
            else:
                opened_rcn = rcn
            service_level = rng.choice(SERVICE_LEVELS[account_type])
            opened = START + rng.randint(0, 13 * 365 * DAY)
            story = _Story(account_type, account_id, opened_rcn, opened)
            _story(rng, story, scenario, origin, rcn, (owner_person[2], "CUSTOMER"), 0.3)
            opened = story.opened
            owner_since = min(owner_since, opened)

            label = name if first_number is None or rng.random() < 0.5 else f"{name} - {rng.choice(_NICKNAMES)}"
            body = {"id": account_id, "type": account_type, "number": number, "rcn": story.rcn, "name": label}
            if story.nickname is not None:
                body["nickname"] = story.nickname
            body["status"] = story.status
            if account_type == "CLOUD":
                body["tenantId"] = body["domain"] = account_id
            elif account_type == "MANAGED_HOSTING":
                body["tenantId"], body["domain"] = f"hybrid:{account_id}", f"dedicated:{account_id}"
            else:
                body["tenantId"] = f"faws:{account_id}"
                if first_number is not None and rng.random() < 0.5:
                    body["domain"] = str(first_number)
            body["serviceLevel"] = service_level
            body["collectionsStatus"] = story.collections
            body["accessPolicy"] = story.access
            if first_number is not None and rng.random() < 0.5:
                body["parentAccountNumber"] = first_number
            new = story.records[0]["customerAccountHistory"]
            body["createdBy"] = new["updatedBy"]["username"]
            body["createdDate"] = new["updatedDate"]
            body["lastUpdatedBy"], body["lastUpdatedDate"] = story.by
            if first_number is None:
                first_number = number
            account_records.append({"customerAccount": body})

            # The customer's owner holds PRIMARY everywhere; each account has 2-3 more contacts of its own
            # (with one owner per ~2.3 accounts, about three contacts per account in all).
            owner_links.append(
                {"type": account_type, "id": account_id, "roles": ["PRIMARY", "ADMINISTRATIVE"][: rng.randint(1, 2)]}
            )
            customer_accounts.append((account_type, account_id, opened))
            for k in range(0 if shared_contacts else 2 if rng.random() < 0.44 else 3):
                roles = [ROLES[1 + (k + position) % 3]]
                if rng.random() < 0.25:
                    extra = rng.choice(ROLES[1:])
                    if extra not in roles:
                        roles.append(extra)
                link = [{"type": account_type, "id": account_id, "roles": roles}]
                tail.append(_contact(rng, contact_index, rcn, domain, link, opened))
                contact_index += 1
            tail.extend(_metadata(rng, account_type, account_id, service_level, opened))
            tail.extend(story.records)

        yield from account_records
        yield _contact(rng, owner_index, rcn, domain, owner_links, owner_since, owner_person)
        if shared_contacts:
            for _ in range(1 if rng.random() < 0.5 else 2):
                chosen = [entry for entry in customer_accounts if rng.random() < 0.6] or [rng.choice(customer_accounts)]
                links = []
                for k, (account_type, account_id, _opened) in enumerate(chosen):
                    roles = [ROLES[1 + (k + contact_index) % 3]]
                    if rng.random() < 0.4:
                        extra = rng.choice(ROLES[1:])
                        if extra not in roles:
                            roles.append(extra)
                    links.append({"type": account_type, "id": account_id, "roles": roles})
                since = min(opened for _type, _id, opened in chosen)
                yield _contact(rng, contact_index, rcn, domain, links, since)
                contact_index += 1
        yield from tail
        customer_index += 1


# The reference's documented examples (spec/examples: CLOUD/10101 and its history, the other example accounts,
# their contacts and metadata) as exchange records, so that the README's and the reference's calls work on the
# demo directory. Kept as data beside this module; tests/exchange/examples.py derives the same records from the
# example payloads, and a test proves the two equal. Their RCN-123-456-789 is the first generated customer's.
EXAMPLES_FILE = Path(__file__).with_name("demo_examples.jsonl")


def example_records() -> Iterator[dict]:
    """The documented examples' records, in the order of EXAMPLES_FILE."""
    with open(EXAMPLES_FILE, encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                yield json.loads(line)


def directory_records(
    accounts: int = 300, seed: int = 1, examples: bool = True, profile: str = "demo"
) -> Iterator[dict]:
    """The demo directory: `generate_records(accounts, seed, profile)`, then (unless `examples` is false) the
    examples."""
    yield from generate_records(accounts=accounts, seed=seed, profile=profile)
    if examples:
        yield from example_records()
