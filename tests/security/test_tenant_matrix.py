"""Tenant matrix: every URL of the URL conf, as the users on the near side of a tenant line.

The URL list comes from the URL conf itself (`django.urls.get_resolver()`, the admin's URLs included), and every
pattern must be matched by a rule below that builds requests for it, or be exempt with a reason: a new view
cannot escape. Likewise every filter of every FilterSet, every registered admin (its list filters, search,
actions, inlines and form choices) and every autocomplete are enumerated from the code, not listed by hand.

Two properties, for a tenant user (API token and session) and a tenant-scoped member of staff with the apps'
admin permissions (session):

- *paired*: a request naming something hidden (another tenant's account, customer, contact, metadata key, admin
  object, or choosing one in a form) and the same request naming something missing get the same status and the
  same body once the identifier itself is replaced; no hidden identifier the request did not carry appears;
- *world*: every list, filter, search, page and change page of what the user may see answers byte for byte the
  same whether the hidden data exists or not (the hidden data is deleted in a savepoint and the answers
  compared), and carries no hidden identifier. This is what catches a filter, count or inline that reads hidden
  rows even when it prints no identifier of them.

One data set for the module (setUpTestData); writes of the paired requests are rolled back one by one.
"""

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus, unquote_plus, urlencode

import django_filters
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.forms import ModelChoiceField
from django.test import Client, RequestFactory, TestCase
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import filtersets as account_filtersets
from accounts.api.views import ACCOUNT_FILTERS
from accounts.choices import AccessPolicy, AccountStatus, AccountType, CollectionsStatus
from accounts.models import Account, AccountHistory, Customer, RCNChange, StatusChange
from cmsportal.changes import filtersets as change_filtersets
from cmsportal.changes.access import visible_changes
from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.models import Change, Delivery, Subscription
from cmsportal.changes.services import change_record
from cmsportal.identity import services as identity
from cmsportal.identity.access import Actor, scope_related, visible_accounts
from cmsportal.identity.models import ApiKey, TenantGrant, Token
from cmsportal.models import RecentView
from contacts import filtersets as contact_filtersets
from contacts.models import Contact
from metadata import filtersets as metadata_filtersets
from metadata.models import Metadata, Namespace
from tests.admin_helpers import changeform_data
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    AccountHistoryFactory,
    ContactFactory,
    CustomerFactory,
    EmailAddressFactory,
    MetadataFactory,
    NamespaceFactory,
    PhoneNumberFactory,
    RCNChangeFactory,
    StatusChangeFactory,
    TenantGrantFactory,
    UserFactory,
)

# --- the data set ----------------------------------------------------------------------------------------------------

MINE_TENANT, HIDDEN_TENANT = "t-mine", "t-hidden"
MINE_RCN, HIDDEN_RCN, MISSING_RCN = "RCN-101-000-001", "RCN-913-000-913", "RCN-913-000-900"
MINE_ID, HIDDEN_ID, HIDDEN_ID_2, MISSING_ID = "4100001", "7319953", "7319954", "7319900"
HIDDEN_TYPE = AccountType.MANAGED_HOSTING  # only hidden accounts have it; nobody has MISSING_TYPE
MISSING_TYPE = AccountType.FANATICAL_SUPPORT_FOR_AWS
MINE_RPN, SHARED_RPN, HIDDEN_RPN, MISSING_RPN = (
    "RPN-101-000-001",
    "RPN-101-000-002",
    "RPN-913-000-913",
    "RPN-913-000-900",
)
HIDDEN_KEY, MISSING_KEY = "zyxns:secretkey", "zyxns:missingkey"

# Never in an answer (unless the request itself carried it).
HIDDEN_STRINGS = (
    HIDDEN_ID,
    HIDDEN_ID_2,
    HIDDEN_RCN,
    "Zyxhidden",
    HIDDEN_RPN,
    "zyx.hidden@example.com",
    "zyxhiddenuser",
    "secretkey",
    "zyxsecretvalue",
    HIDDEN_TENANT,
    "zyx-hidden.example",
    "zyx-level",
    "555-7319",
    "zyxowner",
)

# Search terms (and autocomplete terms): each hidden identifier, and a missing one of the same kind.
TERM_PAIRS = (
    (HIDDEN_ID, MISSING_ID),
    (f"{HIDDEN_TYPE}/{HIDDEN_ID}", f"{HIDDEN_TYPE}/{MISSING_ID}"),
    (HIDDEN_RCN, MISSING_RCN),
    ("Zyxhidden", "Qqqmissing"),
    (HIDDEN_RPN, MISSING_RPN),
    ("zyx.hidden@example.com", "zyx.missing@example.com"),
    ("zyxhiddenuser", "zyxmissinguser"),
    ("(512) 555-7319", "(512) 555-7300"),
    ("zyxsecretvalue", "zyxmissingvalue"),
    (HIDDEN_TENANT, "t-missing"),
    ("zyxowner", "zyxnobody"),
)

# Every declared filter of every FilterSet: (hidden parameters, missing parameters). The hidden values are held by
# hidden rows only (nothing the user may see has them); the missing ones by nobody. A FilterSet's filter without
# an entry here fails test_every_filter_has_values.
FILTER_VALUES = {
    "AccountFilterSet": {
        "accountType": ({"accountType": HIDDEN_TYPE}, {"accountType": MISSING_TYPE}),
        "domain": ({"domain": "zyx-hidden.example"}, {"domain": "zyx-missing.example"}),
        "tenantId": ({"tenantId": HIDDEN_TENANT}, {"tenantId": "t-missing"}),
        "rcn": ({"rcn": HIDDEN_RCN}, {"rcn": MISSING_RCN}),
        "status": ({"status": AccountStatus.SUSPENDED}, {"status": AccountStatus.DELINQUENT}),
        "collectionsStatus": (
            {"collectionsStatus": CollectionsStatus.WRITTEN_OFF},
            {"collectionsStatus": CollectionsStatus.DELINQUENT_LEVEL_3},
        ),
        "accessPolicy": ({"accessPolicy": AccessPolicy.SUSPENDED}, None),  # both choices are taken
        "serviceLevel": ({"serviceLevel": "zyx-level"}, {"serviceLevel": "zyx-nolevel"}),
        "metadataKey": ({"metadataKey": HIDDEN_KEY}, {"metadataKey": MISSING_KEY}),
        "metadataValue": (
            {"metadataKey": "support:level", "metadataValue": "zyxsecretvalue"},
            {"metadataKey": "support:level", "metadataValue": "zyxmissingvalue"},
        ),
        "q": ({"q": "Zyxhidden"}, {"q": "Qqqmissing"}),
    },
    "CustomerFilterSet": {
        "q": ({"q": "Zyxhidden"}, {"q": "Qqqmissing"}),
        "accountType": ({"accountType": HIDDEN_TYPE}, {"accountType": MISSING_TYPE}),
    },
    "ContactFilterSet": {
        "role": ({"role": "BILLING"}, {"role": "ADMINISTRATIVE"}),
        "username": ({"username": "zyxhiddenuser"}, {"username": "zyxmissinguser"}),
        "emailAddress": ({"emailAddress": "zyx.hidden@example.com"}, {"emailAddress": "zyx.missing@example.com"}),
        "phone": ({"phone": "(512) 555-7319"}, {"phone": "(512) 555-7300"}),
        "rcn": ({"rcn": HIDDEN_RCN}, {"rcn": MISSING_RCN}),
        "q": ({"q": "Zyxhidden"}, {"q": "Qqqmissing"}),
    },
    "ChangeFilterSet": {
        "objectType": ({"objectType": "customer"}, {"objectType": "namespace"}),
        "action": ({"action": "delete"}, {"action": "merge"}),
        "key": ({"key": f"{HIDDEN_TYPE}/{HIDDEN_ID}"}, {"key": f"{HIDDEN_TYPE}/{MISSING_ID}"}),
        "rcn": ({"rcn": HIDDEN_RCN}, {"rcn": MISSING_RCN}),
        "account": ({"account": f"{HIDDEN_TYPE}/{HIDDEN_ID}"}, {"account": f"{HIDDEN_TYPE}/{MISSING_ID}"}),
        "actor": ({"actor": "zyxowner"}, {"actor": "zyxnobody"}),
        "q": ({"q": HIDDEN_ID}, {"q": MISSING_ID}),
        "since": ({"since": "2031-01-01"}, {"since": "2040-01-01"}),
        "until": ({"until": "2002-01-01"}, {"until": "1990-01-01"}),
    },
    "MetadataFilterSet": {
        "key": ({"key": HIDDEN_KEY}, {"key": MISSING_KEY}),
        "namespace": ({"namespace": "zyxns"}, {"namespace": "zyxmissingns"}),
        "value": ({"value": "zyxsecretvalue"}, {"value": "zyxmissingvalue"}),
    },
}
# The change feed's filters (GET /v1/changes, ChangeFilterSet): (hidden parameters, missing parameters).
CHANGE_FEED_FILTERS = {
    "objectType": ({"objectType": "customer"}, {"objectType": "import"}),
    "action": ({"action": "merge"}, {"action": "revoke"}),
    "key": ({"key": f"{HIDDEN_TYPE}/{HIDDEN_ID}"}, {"key": f"{HIDDEN_TYPE}/{MISSING_ID}"}),
    "rcn": ({"rcn": HIDDEN_RCN}, {"rcn": MISSING_RCN}),
    "account": ({"account": f"{HIDDEN_TYPE}/{HIDDEN_ID}"}, {"account": f"{HIDDEN_TYPE}/{MISSING_ID}"}),
    "actor": ({"actor": "zyxowner"}, {"actor": "zyxnobody"}),
    "q": ({"q": HIDDEN_ID}, {"q": MISSING_ID}),
    "since": ({"since": "2000-01-01"}, {"since": "2100-01-01"}),
    "until": ({"until": "2100-01-01"}, {"until": "2000-01-01"}),
}
FILTERSET_MODULES = (account_filtersets, contact_filtersets, metadata_filtersets, change_filtersets)

# Staff pages whose form names another customer or a metadata key: also sent for one's own object, naming hidden ones.
NAMING_FORMS = {"accounts:customer_merge", "accounts:account_move", "metadata:metadata_add"}
NAMING_FORMS |= {"metadata:metadata_edit", "metadata:metadata_delete"}

# Which staff list pages use which FilterSet (their CSV exports too).
LIST_PAGES = {
    "accounts:customer_list": "CustomerFilterSet",
    "accounts:customer_export": "CustomerFilterSet",
    "accounts:account_list": "AccountFilterSet",
    "accounts:account_export": "AccountFilterSet",
    "contacts:contact_list": "ContactFilterSet",
    "contacts:contact_export": "ContactFilterSet",
    "changes:change_list": "ChangeFilterSet",
    "changes:change_export": "ChangeFilterSet",
}

# The URL conf's patterns nobody needs to reach as a tenant: (route regex, reason).
EXEMPT = (
    (r"^login/$", "the sign-in form: no account data"),
    (r"^logout/$", "signs out: no account data"),
    (r"^admin/login/$", "the admin's sign-in form: no account data"),
    (r"^admin/logout/$", "signs out: no account data"),
    (r"^admin/password_change/", "the user's own password: no account data"),
    (r"^admin/jsi18n/$", "the admin's translations: static text"),
    (r"^v1/openapi\.json$", "the public API contract, readable without a token: no customer data"),
    (r"^v1/docs$", "the API reference page, readable without a token: no customer data"),
    (r"^v2\.0/\^tokens", "identity: issues and revokes the caller's own credentials, no account data"),
    (r"^healthz", "the health check: no account data"),
    (r"^favicon\.ico$", "a redirect to the icon: no account data"),
    (
        r"^saved-filters/<int:pk>/delete/$",
        "a person's own saved filter, found by (user, pk): no account data (tests/accounts/test_list_tools.py)",
    ),
    (r"^static/", "static files"),
)


@dataclass
class Req:
    """One request; `swap` pairs (what this request names, what its missing twin names) for comparing bodies."""

    method: str
    path: str
    data: dict = field(default_factory=dict)
    accept: str | None = None
    swap: tuple = ()
    # "errors": compare the form errors of the answered page (a choice among rows), not its body.
    compare: str = "body"

    def carried(self) -> str:
        return f"{unquote_plus(self.path)} {self.data!r}"


# --- the rules: route regex -> builder of requests ------------------------------------------------------------------


def route_of(prefix: str, pattern) -> str:
    return prefix + str(pattern.pattern)


def all_patterns():
    """(route string, full name, URLPattern) of every pattern of the URL conf, admin included."""
    found = []

    def walk(patterns, prefix, namespace):
        for item in patterns:
            if isinstance(item, URLResolver):
                inner = f"{namespace}{item.namespace}:" if item.namespace else namespace
                walk(item.url_patterns, route_of(prefix, item), inner)
            elif isinstance(item, URLPattern):
                name = f"{namespace}{item.name}" if item.name else None
                found.append((route_of(prefix, item), name, item))

    walk(get_resolver().url_patterns, "", "")
    return found


class Rules:
    """Builders of requests per kind of URL. Each returns (paired cases, world requests) for one pattern.

    A paired case is (hidden request, missing request); world requests name only what the user may see.
    """

    def __init__(self, world):
        self.w = world

    # staff pages

    def home(self, route, name, pattern):
        return [], [Req("GET", "/")]

    def search(self, route, name, pattern):
        path = reverse(name)
        paired = [
            (Req("GET", f"{path}?{urlencode({'q': h})}", swap=((h, m),)), Req("GET", f"{path}?{urlencode({'q': m})}"))
            for h, m in TERM_PAIRS
        ]
        world = [Req("GET", f"{path}?{urlencode({'q': term})}") for term in ("Ourco", MINE_RCN, MINE_RPN, "support")]
        return paired, world

    def list_page(self, route, name, pattern):
        path = reverse(name)
        filters = FILTER_VALUES[LIST_PAGES[name]]
        paired, world = [], [Req("GET", path)]
        for hidden, missing in filters.values():
            world.append(Req("GET", f"{path}?{urlencode(hidden)}"))
            if missing is not None:
                world.append(Req("GET", f"{path}?{urlencode(missing)}"))
        return paired, world

    def staff_object(self, route, name, pattern):
        """Pages under one customer, account or contact: the hidden one, a missing one, and one's own."""
        keys = set(pattern.pattern.converters)
        hidden, missing, mine = {}, {}, {}
        swap = []
        if "rcn" in keys:
            hidden["rcn"], missing["rcn"], mine["rcn"] = HIDDEN_RCN, MISSING_RCN, MINE_RCN
            swap.append((HIDDEN_RCN, MISSING_RCN))
        if "account_id" in keys:
            for kwargs, ident in ((hidden, HIDDEN_ID), (missing, MISSING_ID), (mine, MINE_ID)):
                kwargs.update(type=HIDDEN_TYPE if kwargs is not mine else AccountType.CLOUD, account_id=ident)
            swap.append((HIDDEN_ID, MISSING_ID))
        if "contact_number" in keys:
            hidden["contact_number"], missing["contact_number"], mine["contact_number"] = (
                HIDDEN_RPN,
                MISSING_RPN,
                MINE_RPN,
            )
            swap.append((HIDDEN_RPN, MISSING_RPN))
        form = {"status": AccountStatus.CLOSED, "collections_status": CollectionsStatus.CURRENT, "nickname": "zz"}
        form |= {"value": "v", "confirm": "yes"}
        paired = []
        hpath, mpath = reverse(name, kwargs=hidden), reverse(name, kwargs=missing)
        # The metadata pages take the entry's key from the query.
        for query in ("", f"?key={quote(HIDDEN_KEY)}") if name.startswith("metadata:") else ("",):
            paired.append((Req("GET", hpath + query, swap=tuple(swap)), Req("GET", mpath + query)))
        own = form | {"rcn": MINE_RCN, "target": MINE_RCN, "key": "support:level"}
        paired.append((Req("POST", hpath, own, swap=tuple(swap)), Req("POST", mpath, own)))
        # One's own object, naming a hidden customer or key in the form (a move, a merge, a metadata key).
        mypath = reverse(name, kwargs=mine)
        world = [Req("GET", mypath), Req("GET", f"{mypath}?key=support:level")]
        if name not in NAMING_FORMS:
            return paired, world
        for confirm in ("", "yes"):
            h = form | {"rcn": HIDDEN_RCN, "target": HIDDEN_RCN, "key": HIDDEN_KEY, "confirm": confirm}
            m = form | {"rcn": MISSING_RCN, "target": MISSING_RCN, "key": MISSING_KEY, "confirm": confirm}
            paired.append(
                (
                    Req("POST", mypath, h, swap=((HIDDEN_RCN, MISSING_RCN), (HIDDEN_KEY, MISSING_KEY))),
                    Req("POST", mypath, m),
                )
            )
        h_get = f"{mypath}?key={quote(HIDDEN_KEY)}"
        paired.append(
            (Req("GET", h_get, swap=((HIDDEN_KEY, MISSING_KEY),)), Req("GET", f"{mypath}?key={quote(MISSING_KEY)}"))
        )
        return paired, world

    def bulk(self, route, name, pattern):
        """The account list's bulk actions: a selection naming a hidden account against one naming a missing one."""
        path = reverse(name)
        hidden, missing = f"{HIDDEN_TYPE}/{HIDDEN_ID}", f"{HIDDEN_TYPE}/{MISSING_ID}"
        mine = f"{AccountType.CLOUD}/{MINE_ID}"
        paired = []
        for action in ("csv", "status", "collections"):
            for start in ({"start": "1"}, {"status": AccountStatus.CLOSED, "collections_status": "CURRENT"}):
                for confirm in ({}, {"confirm": "yes"}):
                    for selection in ([hidden], [mine, hidden]):
                        data = {"action": action, **start, **confirm}
                        paired.append(
                            (
                                Req("POST", path, data | {"selected": selection}),
                                Req(
                                    "POST",
                                    path,
                                    data | {"selected": [missing if k == hidden else k for k in selection]},
                                ),
                            )
                        )
        return paired, []

    def saved_filters(self, route, name, pattern):
        """Saving a filter that names hidden records: the same answer as naming missing ones."""
        path = reverse(name)
        paired = []
        for param, h, m in (("rcn", HIDDEN_RCN, MISSING_RCN), ("q", HIDDEN_ID, MISSING_ID)):
            data = {"list": "accounts:account_list", "name": "zz"}
            paired.append(
                (
                    Req("POST", path, data | {"query": f"{param}={h}"}, swap=((h, m),)),
                    Req("POST", path, data | {"query": f"{param}={m}"}),
                )
            )
        return paired, []

    # the API

    def api(self, route, name, pattern):
        groups = set(pattern.pattern.regex.groupindex)
        # JSON without a suffix (the default), XML by the suffix; Accept is the negotiation's own tests' to cover.
        variants = [({"format": "xml"}, None)] if "format" in groups else [({}, None)]
        paired, world = [], []
        for extra, accept in variants:
            if not groups - {"format"}:
                path = reverse(name, kwargs=extra)
                world.append(Req("GET", path, accept=accept))
                # The filters the API reads (it ignores the FilterSet's others).
                filters = [FILTER_VALUES["AccountFilterSet"][name] for name in ACCOUNT_FILTERS]
                for hidden, missing in filters:
                    world.append(Req("GET", f"{path}?{urlencode(hidden)}", accept=accept))
                    if missing is not None:
                        world.append(Req("GET", f"{path}?{urlencode(missing)}", accept=accept))
                continue
            hidden = {"accountType": HIDDEN_TYPE, "accountId": HIDDEN_ID, **extra}
            missing = {"accountType": HIDDEN_TYPE, "accountId": MISSING_ID, **extra}
            mine = {"accountType": AccountType.CLOUD, "accountId": MINE_ID, **extra}
            mine_hidden, mine_missing = dict(mine), dict(mine)
            swap = [(HIDDEN_ID, MISSING_ID)]
            if "contactNumber" in groups:
                hidden["contactNumber"], missing["contactNumber"] = HIDDEN_RPN, MISSING_RPN
                mine_hidden["contactNumber"], mine_missing["contactNumber"] = HIDDEN_RPN, MISSING_RPN
                mine["contactNumber"] = MINE_RPN
                swap.append((HIDDEN_RPN, MISSING_RPN))
            if "key" in groups:
                hidden["key"], missing["key"] = HIDDEN_KEY, MISSING_KEY
                mine_hidden["key"], mine_missing["key"] = HIDDEN_KEY, MISSING_KEY
                mine["key"] = "support:level"
                swap.append((HIDDEN_KEY, MISSING_KEY))
            methods = ["GET"]
            if name.startswith("api-metadata-entry"):
                methods += ["PUT", "DELETE"]
            for method in methods:
                hbody = {"meta": {HIDDEN_KEY: "v"}} if method == "PUT" else {}
                mbody = {"meta": {MISSING_KEY: "v"}} if method == "PUT" else {}
                paired.append(
                    (
                        Req(method, reverse(name, kwargs=hidden), hbody, accept, tuple(swap)),
                        Req(method, reverse(name, kwargs=missing), mbody, accept),
                    )
                )
                if set(mine_hidden) - {"accountType", "accountId", "format"}:
                    paired.append(
                        (
                            Req(method, reverse(name, kwargs=mine_hidden), hbody, accept, tuple(swap[1:])),
                            Req(method, reverse(name, kwargs=mine_missing), mbody, accept),
                        )
                    )
            world.append(Req("GET", reverse(name, kwargs=mine), accept=accept))
        return paired, world

    def api_unknown(self, route, name, pattern):
        base = "/v1/" if route.startswith("v1/") else "/v2.0/"
        hidden = Req(
            "GET", f"{base}customer_accounts/{HIDDEN_TYPE}/{HIDDEN_ID}/nothing", swap=((HIDDEN_ID, MISSING_ID),)
        )
        return [(hidden, Req("GET", f"{base}customer_accounts/{HIDDEN_TYPE}/{MISSING_ID}/nothing"))], []

    def api_changes(self, route, name, pattern):
        """The change feed: its filters with hidden and missing values, in JSON, XML and Atom; a marker naming a
        hidden change against one naming a missing change."""
        formats = ["xml", "atom"] if "format" in pattern.pattern.regex.groupindex else [None]
        paired, world = [], []
        for fmt in formats:
            path = reverse(name, kwargs={"format": fmt} if fmt else {})
            world.append(Req("GET", path))
            for hidden, missing in CHANGE_FEED_FILTERS.values():
                world.append(Req("GET", f"{path}?{urlencode(hidden)}"))
                world.append(Req("GET", f"{path}?{urlencode(missing)}"))
            hidden_change = Change.objects.filter(account_key=f"{HIDDEN_TYPE}/{HIDDEN_ID}").first()
            paired.append((Req("GET", f"{path}?marker={hidden_change.pk}"), Req("GET", f"{path}?marker=987654321")))
        return paired, world

    # the admin

    def admin_index(self, route, name, pattern):
        return [], [Req("GET", "/admin/")]

    def admin_app_index(self, route, name, pattern):
        labels = sorted({model._meta.app_label for model in admin.site._registry})
        return [], [Req("GET", f"/admin/{label}/") for label in labels]

    def admin_catch_all(self, route, name, pattern):
        hidden = Req("GET", f"/admin/accounts/{HIDDEN_ID}", swap=((HIDDEN_ID, MISSING_ID),))
        return [(hidden, Req("GET", f"/admin/accounts/{MISSING_ID}"))], []

    def admin_view_on_site(self, route, name, pattern):
        paired = []
        for model in admin.site._registry:
            hidden = self.w.hidden_object(model)
            if hidden is None:
                continue
            ct = ContentType.objects.get_for_model(model).pk
            paired.append(
                (
                    Req("GET", f"/admin/r/{ct}/{hidden.pk}/", swap=((f"/{hidden.pk}/", f"/{hidden.pk + 100000}/"),)),
                    Req("GET", f"/admin/r/{ct}/{hidden.pk + 100000}/"),
                )
            )
        return paired, []

    def admin_autocomplete(self, route, name, pattern):
        """Every autocomplete field of every registered admin and of its inlines, with every term."""
        paired, world = [], []
        request = self.w.request_for(self.w.clerk)
        for model, model_admin in admin.site._registry.items():
            sources = [(model, model_admin.get_autocomplete_fields(request))]
            for inline in model_admin.get_inline_instances(request):
                sources.append((inline.model, inline.get_autocomplete_fields(request)))
            for source, fields in sources:
                for field_name in fields:
                    base = {"app_label": source._meta.app_label, "model_name": source._meta.model_name}
                    base["field_name"] = field_name
                    world.append(Req("GET", f"/admin/autocomplete/?{urlencode(base)}"))
                    for h, m in TERM_PAIRS:
                        paired.append(
                            (
                                Req("GET", f"/admin/autocomplete/?{urlencode(base | {'term': h})}", swap=((h, m),)),
                                Req("GET", f"/admin/autocomplete/?{urlencode(base | {'term': m})}"),
                            )
                        )
        return paired, world

    def admin_model(self, route, name, pattern):
        """changelist / add / history / delete / change / redirect of one registered model."""
        match = re.match(r"^admin/(\w+)/(\w+)/(.*)$", route)
        app_label, model_name, rest = match.groups()
        model = next(
            m for m in admin.site._registry if (m._meta.app_label, m._meta.model_name) == (app_label, model_name)
        )
        base = f"/admin/{app_label}/{model_name}/"
        hidden = self.w.hidden_object(model)
        mine = self.w.own_object(model)
        hpk = hidden.pk if hidden is not None else self.w.other_pk(model)
        mpk = hpk + 100000
        swap = ((f"/{hpk}/", f"/{mpk}/"),)
        suffix = {"": "", "add/": None, "<path:object_id>/history/": "history/"}
        suffix |= {"<path:object_id>/delete/": "delete/", "<path:object_id>/change/": "change/"}
        suffix |= {"<path:object_id>/": "", "<id>/password/": "password/"}
        if rest == "":
            return self.w.changelist_requests(model, base)
        if rest == "add/":
            return self.w.form_choice_cases(model, f"{base}add/"), [Req("GET", f"{base}add/")]
        tail = suffix[rest]
        paired = [
            (
                Req(method, f"{base}{hpk}/{tail}", {"post": "yes"}, swap=swap),
                Req(method, f"{base}{mpk}/{tail}", {"post": "yes"}),
            )
            for method in ("GET", "POST")
        ]
        world = []
        if mine is not None and rest == "<path:object_id>/change/":
            world.append(Req("GET", f"{base}{mine.pk}/change/"))
            paired += self.w.form_choice_cases(model, f"{base}{mine.pk}/change/")
        if mine is not None and rest == "<path:object_id>/history/":
            world.append(Req("GET", f"{base}{mine.pk}/history/"))
        return paired, world


RULES = (
    (r"^$", "home"),
    (r"^search/", "search"),
    (r"^(customers|accounts|contacts|changes)/(export\.csv)?$", "list_page"),
    (r"^accounts/bulk/$", "bulk"),
    (r"^saved-filters/$", "saved_filters"),
    (r"^(customers|accounts|contacts)/<", "staff_object"),
    (r"^v1/\^customer_accounts?[/\\$]", "api"),
    (r"^(v1|v2\.0)/\^\.\*\?", "api_unknown"),
    (r"^v1/\^changes", "api_changes"),
    (r"^admin/$", "admin_index"),
    (r"^admin/\^\(\?P<app_label>", "admin_app_index"),
    (r"^admin/\(\?P<url>", "admin_catch_all"),
    (r"^admin/r/", "admin_view_on_site"),
    (r"^admin/autocomplete/$", "admin_autocomplete"),
    (r"^admin/(?!r/|password_change/)\w+/\w+/", "admin_model"),
)


def rule_for(route: str):
    names = [builder for regex, builder in RULES if re.search(regex, route)]
    assert len(names) <= 1, f"{route!r} matches several rules: {names}"
    return names[0] if names else None


def exemption_for(route: str):
    return next((reason for regex, reason in EXEMPT if re.search(regex, route)), None)


# --- comparing answers -----------------------------------------------------------------------------------------------

CSRF = re.compile(rb"[A-Za-z0-9]{64}")


def body_of(response) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return CSRF.sub(b"<csrf>", content)


def spellings(text: str):
    yield text
    # As text, in HTML, in a URL, and in a URL inside a URL (the admin's _changelist_filters).
    once = (html.escape(text), quote(text, safe=""), quote(text, safe="/:@"), quote_plus(text))
    for spelled in (*once, quote(quote_plus(text), safe="")):
        if spelled != text:
            yield spelled


def swapped(data: bytes, swap) -> bytes:
    for hidden, missing in swap:
        for h, m in zip(spellings(hidden), spellings(missing), strict=False):
            data = data.replace(h.encode(), m.encode())
    return data


def answer(response, compare="body") -> tuple:
    body = form_errors(response).encode() if compare == "errors" else body_of(response)
    return response.status_code, response.get("Content-Type", ""), response.get("Location", "").encode(), body


def form_errors(response) -> str:
    """The errors of an admin change form and its inlines, as text."""
    context = response.context or {}
    if "adminform" not in context:
        return ""
    errors = [dict(context["adminform"].form.errors)]
    for inline in context["inline_admin_formsets"]:
        errors.append([dict(form.errors) for form in inline.formset.forms])
        errors.append(list(inline.formset.non_form_errors()))
    return repr(errors)


def with_swap(answered: tuple, swap) -> tuple:
    status, content_type, location, body = answered
    return status, content_type, swapped(location, swap), swapped(body, swap)


def leaks(req: Req, answered: tuple) -> list[str]:
    carried = req.carried()
    text = answered[2] + answered[3]
    return [s for s in HIDDEN_STRINGS if s not in carried and any(v.encode() in text for v in spellings(s))]


# --- the test ---------------------------------------------------------------------------------------------------------


class World:
    """The module's data set and the users; knows each model's hidden object and one's own."""

    def __init__(self, case):
        self.c = case

    @property
    def clerk(self):
        return self.c.clerk

    def request_for(self, user):
        request = RequestFactory().get("/")
        request.user = user
        return request

    def hidden_object(self, model):
        c = self.c
        return {
            Account: c.hidden_account,
            Customer: c.hidden_customer,
            Contact: c.hidden_contact,
            Metadata: c.hidden_entry,
            StatusChange: c.hidden_account.status_changes.first(),
            AccountHistory: c.hidden_account.history.first(),
            RCNChange: c.hidden_account.rcn_changes.first(),
            Token: c.owner_token,
            ApiKey: c.owner_key,
            TenantGrant: c.owner_grant,
            # Not tenant data: nothing is hidden there (the clerk holds no permission on users and groups).
            get_user_model(): None,
            Namespace: None,
            Group: None,
            # Webhooks: only for staff who see everything; the clerk sees no subscription and no delivery.
            Subscription: None,
            Delivery: None,
        }.get(model, "unknown")

    def own_object(self, model):
        c = self.c
        found = {
            Account: c.mine_account,
            Customer: c.mine_customer,
            Contact: c.shared_contact,
            Metadata: c.mine_entry,
            StatusChange: c.mine_account.status_changes.first(),
            AccountHistory: c.mine_account.history.first(),
            RCNChange: c.mine_account.rcn_changes.first(),
            Namespace: c.namespace,
            Token: c.clerk_token,
            ApiKey: c.clerk_key,
        }
        return found.get(model)

    def other_pk(self, model):
        """For models that are not tenant data: an object the clerk has no business with."""
        last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
        return (last or 0) + 1

    def changelist_requests(self, model, base):
        """The changelist bare, under every choice of every list filter, searched for every term; its actions."""
        client = self.c.client_for("clerk-session")
        world = [Req("GET", base)]
        response = client.get(base)
        paired = []
        if response.status_code == 200:
            changelist = response.context["cl"]
            for spec in changelist.filter_specs:
                for choice in spec.choices(changelist):
                    world.append(Req("GET", base + choice["query_string"]))
            if changelist.search_fields:
                # Every term where tenant data lives; two elsewhere (users, tokens, namespaces hold none).
                tenant_data = scope_related(model, None) is not None or model is Metadata
                for h, m in TERM_PAIRS if tenant_data else TERM_PAIRS[-2:]:
                    paired.append(
                        (
                            Req("GET", f"{base}?{urlencode({'q': h})}", swap=((h, m),)),
                            Req("GET", f"{base}?{urlencode({'q': m})}"),
                        )
                    )
            hidden = self.hidden_object(model)
            hpk = hidden.pk if hidden not in (None, "unknown") else self.other_pk(model)
            for action in model_admin_of(model).get_actions(self.request_for(self.clerk)):
                data = {"action": action, "_selected_action": [str(hpk)], "index": "0", "apply": "1"}
                data |= {"rcn": MINE_RCN, "status": AccountStatus.CLOSED, "collections_status": "CURRENT"}
                missing = data | {"_selected_action": [str(hpk + 100000)]}
                paired.append((Req("POST", base, data), Req("POST", base, missing)))
        return paired, world

    def form_choice_cases(self, model, path):
        """Each choice of a tenant row in the page's form and inlines: the hidden row's key against a missing one."""
        client = self.c.client_for("clerk-session")
        response = client.get(path)
        if response.status_code != 200 or "adminform" not in (response.context or {}):
            return []
        data = changeform_data(response)
        cases = []
        forms = [(None, response.context["adminform"].form)]
        for inline in response.context["inline_admin_formsets"]:
            forms.append((inline.formset, inline.formset.empty_form))
        for formset, form in forms:
            for name, form_field in form.fields.items():
                if not isinstance(form_field, ModelChoiceField) or form_field.disabled:
                    continue
                target = form_field.queryset.model
                hidden = self.hidden_object(target)
                if hidden in (None, "unknown") or scope_related(target, None) is None:
                    continue
                posted = {}
                for pk in (hidden.pk, hidden.pk + 100000):
                    values = dict(data)
                    if formset is None:
                        values[form.add_prefix(name)] = str(pk)
                    else:
                        index = int(values[f"{formset.prefix}-TOTAL_FORMS"])
                        values[f"{formset.prefix}-TOTAL_FORMS"] = str(index + 1)
                        values[f"{formset.prefix}-{index}-{name}"] = str(pk)
                        values.update(
                            {f"{formset.prefix}-{index}-{k}": v for k, v in ROW_EXTRAS.get(formset.model, {}).items()}
                        )
                    values |= FORM_EXTRAS.get(model, {}) if "add/" in path else {}
                    posted[pk] = values
                cases.append(
                    (
                        Req("POST", path, posted[hidden.pk], compare="errors"),
                        Req("POST", path, posted[hidden.pk + 100000], compare="errors"),
                    )
                )
        return cases


# Fields a new row or object needs besides the chosen one, so that the choice is what decides.
ROW_EXTRAS = {Metadata: {"key": "support:new", "value": "v"}}
FORM_EXTRAS = {
    Metadata: {"key": "support:new", "value": "v"},
    Contact: {"contact_number": "RPN-101-000-077"},
    Account: {"type": "CLOUD", "account_id": "4100077", "tenant_id": MINE_TENANT},
}


def change_log(**kwargs):
    with transaction.atomic():
        return change_record(**kwargs)


def model_admin_of(model):
    return admin.site._registry[model]


class TenantMatrix(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.namespace = NamespaceFactory(name="support")
        cls.mine_customer = CustomerFactory(rcn=MINE_RCN, name="Ourco Visible")
        cls.hidden_customer = CustomerFactory(rcn=HIDDEN_RCN, name="Zyxhidden Corp")
        cls.mine_account = AccountFactory(
            customer=cls.mine_customer, type=AccountType.CLOUD, account_id=MINE_ID, tenant_id=MINE_TENANT
        )
        cls.mine_account.domain = "mine.example"
        cls.mine_account.save()
        hidden = {
            "type": HIDDEN_TYPE,
            "tenant_id": HIDDEN_TENANT,
            "status": AccountStatus.SUSPENDED,
            "collections_status": CollectionsStatus.WRITTEN_OFF,
            "access_policy": AccessPolicy.SUSPENDED,
            "service_level": "zyx-level",
            "domain": "zyx-hidden.example",
        }
        cls.hidden_account = AccountFactory(
            customer=cls.hidden_customer, account_id=HIDDEN_ID, name="Zyxhidden Systems", nickname="Zyxhidden", **hidden
        )
        # A hidden account of one's own customer: the customer is in view, this account is not.
        cls.hidden_account_2 = AccountFactory(
            customer=cls.mine_customer, account_id=HIDDEN_ID_2, name="Zyxhidden Two", **hidden
        )
        for account in (cls.mine_account, cls.hidden_account, cls.hidden_account_2):
            StatusChangeFactory(account=account, status=account.status)
            AccountHistoryFactory(account=account)
            RCNChangeFactory(account=account)
        cls.mine_entry = MetadataFactory(account=cls.mine_account, key="support:level", value="gold")
        cls.hidden_entry = MetadataFactory(account=cls.hidden_account, key=HIDDEN_KEY, value="zyxsecretvalue")
        MetadataFactory(account=cls.hidden_account, key="support:level", value="zyxsecretvalue")
        MetadataFactory(account=cls.hidden_account_2, key=HIDDEN_KEY + "2", value="zyxsecretvalue2")

        mine_contact = ContactFactory(contact_number=MINE_RPN, customer=cls.mine_customer, username="minecontact")
        AccountContactFactory(account=cls.mine_account, contact=mine_contact, roles=["TECHNICAL"])
        EmailAddressFactory(contact=mine_contact, address="mine.person@example.com")
        PhoneNumberFactory(contact=mine_contact, number="(210) 555-0101")
        # In view through one's own account; its role on the hidden account of the same customer is not.
        cls.shared_contact = ContactFactory(contact_number=SHARED_RPN, customer=cls.mine_customer, username="shared")
        AccountContactFactory(account=cls.mine_account, contact=cls.shared_contact, roles=["TECHNICAL"])
        AccountContactFactory(account=cls.hidden_account_2, contact=cls.shared_contact, roles=["BILLING"])
        cls.hidden_contact = ContactFactory(
            contact_number=HIDDEN_RPN, customer=cls.hidden_customer, username="zyxhiddenuser", last_name="Zyxhidden"
        )
        AccountContactFactory(account=cls.hidden_account, contact=cls.hidden_contact, roles=["BILLING"])
        EmailAddressFactory(contact=cls.hidden_contact, address="zyx.hidden@example.com")
        PhoneNumberFactory(contact=cls.hidden_contact, number="(512) 555-7319")

        # The change log: one change of one's own account, and of the hidden account, customer and entry.
        owner = Actor("zyxowner", "CUSTOMER")
        with transaction.atomic():
            mine_key, hidden_key = f"{AccountType.CLOUD}/{MINE_ID}", f"{HIDDEN_TYPE}/{HIDDEN_ID}"
            change_record(
                object_type=ObjectType.ACCOUNT,
                object_key=mine_key,
                action=Action.UPDATE,
                before={"nickname": "a"},
                after={"nickname": "b"},
                rcn=MINE_RCN,
                account_key=mine_key,
            )
            change_record(
                object_type=ObjectType.ACCOUNT,
                object_key=hidden_key,
                action=Action.MERGE,
                before={"name": "Zyxhidden Systems"},
                after={"name": "Zyxhidden"},
                actor=owner,
                rcn=HIDDEN_RCN,
                account_key=hidden_key,
            )
            change_record(
                object_type=ObjectType.METADATA,
                object_key=f"{hidden_key} {HIDDEN_KEY}",
                action=Action.CREATE,
                after={"key": HIDDEN_KEY, "value": "zyxsecretvalue"},
                actor=owner,
                rcn=HIDDEN_RCN,
                account_key=hidden_key,
                namespace=HIDDEN_KEY.partition(":")[0],
            )
            change_record(
                object_type=ObjectType.CUSTOMER,
                object_key=HIDDEN_RCN,
                action=Action.UPDATE,
                before={"name": "Zyxhidden"},
                after={"name": "Zyxhidden Corp"},
                actor=owner,
                rcn=HIDDEN_RCN,
            )
        cls.record_changes()

        # The other tenant's user, with a token and a key.
        cls.owner = UserFactory(username="zyxowner")
        cls.owner_grant = TenantGrantFactory(user=cls.owner, tenant_id=HIDDEN_TENANT)
        cls.owner_token, _ = identity.token_issue(cls.owner, [identity.PASSWORD])
        cls.owner_key, _ = identity.apikey_issue(cls.owner, "zyxowner key")

        # (a) a tenant user; (b) a tenant-scoped member of staff with the apps' admin permissions.
        cls.tenant = UserFactory(username="tenant-user")
        TenantGrantFactory(user=cls.tenant, tenant_id=MINE_TENANT)
        _, cls.tenant_token = identity.token_issue(cls.tenant, [identity.PASSWORD])
        cls.clerk = UserFactory(username="clerk", is_staff=True)
        TenantGrantFactory(user=cls.clerk, tenant_id=MINE_TENANT)
        apps = ("accounts", "contacts", "metadata", "identity")
        cls.clerk.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=apps).exclude(codename="view_all_accounts")
        )
        cls.clerk_token, _ = identity.token_issue(cls.clerk, [identity.PASSWORD])
        cls.clerk_key, _ = identity.apikey_issue(cls.clerk, "clerk key")
        assert not visible_accounts(cls.clerk).filter(pk=cls.hidden_account.pk).exists()

    def client_for(self, who: str) -> Client:
        if who == "tenant-token":
            return Client(headers={"X-Auth-Token": self.tenant_token})
        client = Client()
        client.force_login(self.tenant if who == "tenant-session" else self.clerk)
        return client

    def channels(self, builder: str, world=False):
        """Who asks: the API as a tenant user (token and session) and the tenant-scoped staff; pages as both
        users' sessions; the admin as the staff member. Lists of what one may see (`world`) are compared as the
        staff member (who sees the most of each page: its actions too) and, for the API, as the tenant's token."""
        if builder.startswith("api"):
            return ("tenant-token", "clerk-session") if world else ("tenant-token", "tenant-session", "clerk-session")
        if builder.startswith("admin") or world:
            return ("clerk-session",)
        return ("tenant-session", "clerk-session")

    def cases(self):
        # Built once for the class (building reads pages); every test meets the same data set.
        if TenantMatrix._cases is None:
            TenantMatrix._cases = list(self.build_cases())
        return TenantMatrix._cases

    _cases = None

    def build_cases(self):
        world = World(self)
        rules = Rules(world)
        for route, name, pattern in all_patterns():
            builder = rule_for(route)
            if builder is None:
                continue
            paired, plain = getattr(rules, builder)(route, name, pattern)
            yield route, builder, paired, plain

    def send(self, client, req: Req, rollback=False):
        headers = {"HTTP_ACCEPT": req.accept} if req.accept else {}
        if req.method == "GET":
            return client.get(req.path, **headers)
        if req.path.startswith(("/v1/", "/v2.0/")):
            send = getattr(client, req.method.lower())
            return send(req.path, data=req.data, content_type="application/json", **headers)
        return client.post(req.path, req.data, **headers)

    def ask(self, client, req: Req):
        if req.method == "GET":
            answered = answer(self.send(client, req), req.compare)
        else:
            # Writes are rolled back one by one: every request meets the same data set.
            with transaction.atomic():
                answered = answer(self.send(client, req), req.compare)
                transaction.set_rollback(True)
        # A message left for the next page (e.g. the admin's "does not exist") must not reach another request.
        client.cookies.pop("messages", None)
        return answered

    # --- the tests ---

    def test_every_url_pattern_is_covered_or_exempt(self):
        uncovered, both = [], []
        for route, _name, _pattern in all_patterns():
            rule, reason = rule_for(route), exemption_for(route)
            if rule is None and reason is None:
                uncovered.append(route)
            if rule is not None and reason is not None:
                both.append(route)
        assert not uncovered, (
            f"URL patterns no rule builds requests for (add a rule, or exempt with a reason): {uncovered}"
        )
        assert not both, f"exempt and covered at once: {both}"
        routes = [route for route, _, _ in all_patterns()]
        unused = [regex for regex, _ in RULES if not any(re.search(regex, route) for route in routes)]
        assert not unused, f"rules that match no URL pattern any more: {unused}"

    def test_every_admin_model_has_a_hidden_object(self):
        world = World(self)
        missing = [model.__name__ for model in admin.site._registry if world.hidden_object(model) == "unknown"]
        assert not missing, f"registered admins without a hidden object in World.hidden_object: {missing}"

    def test_every_filter_has_values(self):
        missing = []
        for filterset in filtersets():
            declared = set(filterset.base_filters)
            known = set(FILTER_VALUES.get(filterset.__name__, {}))
            missing += [f"{filterset.__name__}.{name}" for name in sorted(declared - known)]
        assert not missing, f"filters without hidden/missing values in FILTER_VALUES: {missing}"

    def test_every_filter_of_every_filterset_sees_visible_rows_only(self):
        """Straight on the FilterSets, with the tenant user's request: the hidden value matches nothing."""
        failures = []
        for filterset_class in filtersets():
            model = filterset_class._meta.model
            for user in (self.tenant, self.clerk):
                request = self.request_for(user)
                # The change log's gate is its own (cmsportal.changes.access), as every reader of it uses.
                base = visible_changes(user) if model is Change else scope_related(model, user)
                if base is None:
                    base = model.objects.all()
                for name, (hidden, missing) in FILTER_VALUES[filterset_class.__name__].items():
                    found = list(filterset_class(hidden, queryset=base, request=request).qs)
                    if found:
                        failures.append(f"{filterset_class.__name__}.{name}={hidden} matches {found} for {user}")
                    if missing is not None:
                        assert list(filterset_class(missing, queryset=base, request=request).qs) == []
        assert not failures, "\n".join(failures)

    def request_for(self, user):
        request = RequestFactory().get("/")
        request.user = user
        return request

    def test_hidden_and_missing_are_indistinguishable(self):
        failures = []
        clients = {}
        for _route, builder, paired, _plain in self.cases():
            for who in self.channels(builder):
                client = clients.setdefault(who, self.client_for(who))
                for hidden, missing in paired:
                    raw_hidden = self.ask(client, hidden)
                    got_hidden = with_swap(raw_hidden, hidden.swap)
                    got_missing = self.ask(client, missing)
                    if got_hidden != got_missing:
                        difference = describe(got_hidden, got_missing)
                        failures.append(f"{who} {hidden.method} {hidden.path} {hidden.data or ''}: {difference}")
                    leaked = leaks(hidden, raw_hidden)
                    if leaked:
                        failures.append(f"{who} {hidden.method} {hidden.path}: shows {leaked}")
        assert not failures, f"{len(failures)} differences:\n" + "\n".join(failures[:60])

    def test_answers_do_not_depend_on_hidden_data(self):
        requests, seen = [], set()
        for _route, builder, _paired, plain in self.cases():
            for who in self.channels(builder, world=True):
                for req in plain:
                    if (who, req.path, req.accept) not in seen:
                        seen.add((who, req.path, req.accept))
                        requests.append((who, req))
        with_hidden = self.ask_all(requests)
        with transaction.atomic():
            self.remove_hidden()
            without_hidden = self.ask_all(requests)
            transaction.set_rollback(True)
        failures = []
        for (who, req), got, expected in zip(requests, with_hidden, without_hidden, strict=True):
            leaked = leaks(req, got)
            if leaked:
                failures.append(f"{who} GET {req.path}: shows {leaked}")
            elif got != expected:
                failures.append(f"{who} GET {req.path}: differs with hidden data: {describe(got, expected)}")
        assert len(requests) > 200
        assert not failures, f"{len(failures)} differences:\n" + "\n".join(failures[:60])

    def ask_all(self, requests):
        # What the previous pass opened would show on the home page ("recently viewed"): each pass starts afresh.
        RecentView.objects.all().delete()
        clients = {}
        return [self.ask(clients.setdefault(who, self.client_for(who)), req) for who, req in requests]

    @classmethod
    def record_changes(cls):
        """The change log: one's own account's changes; the hidden ones' (of one's own customer too), hidden
        metadata, a hidden contact and customer, by the other tenant's user, at times nothing visible has."""
        mine = Actor("tenant-user", "RACKER")
        for account in (cls.mine_account, cls.hidden_account, cls.hidden_account_2):
            change_log(
                actor=mine if account is cls.mine_account else Actor("zyxowner", "RACKER"),
                object_type=ObjectType.ACCOUNT,
                object_key=account.key,
                action=Action.UPDATE,
                rcn=account.customer.rcn,
                account_key=account.key,
                before={"name": "Before"},
                after={"name": account.name},
            )
        hidden = Actor("zyxowner", "RACKER")
        change_log(
            actor=hidden,
            object_type=ObjectType.METADATA,
            object_key=f"{cls.hidden_account.key} {HIDDEN_KEY}",
            action=Action.DELETE,
            rcn=HIDDEN_RCN,
            account_key=cls.hidden_account.key,
            namespace="zyxns",
            before={"key": HIDDEN_KEY, "value": "zyxsecretvalue"},
            when=datetime(2031, 6, 1, tzinfo=UTC),
        )
        change_log(
            actor=hidden,
            object_type=ObjectType.CONTACT,
            object_key=HIDDEN_RPN,
            action=Action.UPDATE,
            rcn=HIDDEN_RCN,
            after={"lastName": "Zyxhidden"},
            when=datetime(2001, 6, 1, tzinfo=UTC),
        )
        change_log(
            actor=hidden,
            object_type=ObjectType.CUSTOMER,
            object_key=HIDDEN_RCN,
            action=Action.CREATE,
            rcn=HIDDEN_RCN,
            after={"name": "Zyxhidden Corp"},
        )

    def remove_hidden(self):
        Change.objects.exclude(account_key=f"{AccountType.CLOUD}/{MINE_ID}").delete()
        Account.objects.filter(pk__in=[self.hidden_account.pk, self.hidden_account_2.pk]).delete()
        Contact.objects.filter(pk=self.hidden_contact.pk).delete()
        Customer.objects.filter(pk=self.hidden_customer.pk).delete()
        get_user_model().objects.filter(pk=self.owner.pk).delete()


def filtersets():
    found = []
    for module in FILTERSET_MODULES:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, django_filters.FilterSet)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    assert {f.__name__ for f in found} >= set(FILTER_VALUES)
    return found


def describe(got, expected) -> str:
    parts = []
    for label, a, b in zip(("status", "type", "location", "body"), got, expected, strict=True):
        if a != b:
            if label == "body":
                at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
                parts.append(f"body at {at}: {a[max(0, at - 80) : at + 80]!r} vs {b[max(0, at - 80) : at + 80]!r}")
            else:
                parts.append(f"{label} {a!r} vs {b!r}")
    return "; ".join(parts)
