"""Staff pages of customers and accounts: browse lists, detail pages and the actions on them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from cmsportal import pages
from cmsportal.changes.pages import changes_section
from cmsportal.identity.access import actor_for, can_view_all, visible_accounts
from contacts.models import AccountContact, AccountContactRole
from metadata.models import Namespace, namespace_of
from metadata.services import can_write_namespace, readable_metadata, unreadable_namespaces

from . import services
from .choices import AccessPolicy, AccountType, CollectionsStatus, FraudStatus
from .filtersets import LIST_KEY, AccountFilterSet, CustomerFilterSet, order_columns
from .forms import (
    BULK_LIMIT,
    BulkCollectionsForm,
    BulkStatusForm,
    CollectionsForm,
    MergeForm,
    MoveForm,
    NicknameForm,
    StatusForm,
)
from .models import Account, RCNChange
from .representations import ACCOUNT, CUSTOMER

__all__ = [
    "DETAIL_ROWS",
    "TIMELINE_ROWS",
    "CUSTOMER_SORTS",
    "ACCOUNT_SORTS",
    "customer_list",
    "customer_export",
    "customer_detail",
    "customer_merge",
    "account_list",
    "account_export",
    "account_or_404",
    "metadata_groups",
    "account_detail",
    "NOTHING_CHANGES",
    "account_status",
    "account_collections",
    "account_nickname",
    "account_move",
    "BULK_ACTIONS",
    "account_bulk",
]

DETAIL_ROWS = 100
TIMELINE_ROWS = 50

CUSTOMER_SORTS = {
    "rcn": pages.SortKey("RCN", ("rcn",)),
    "name": pages.SortKey("Name", ("name", "rcn"), frozenset({"name"})),
}
ACCOUNT_SORTS = {
    "key": pages.SortKey("Account", ("type", "account_id")),
    "number": pages.SortKey("Number", ("number", "type", "account_id"), frozenset({"number"})),
    "tenant": pages.SortKey("Tenant", ("tenant_id", "type", "account_id"), frozenset({"tenant_id"})),
    "status": pages.SortKey("Status", ("status", "type", "account_id"), frozenset({"status"})),
}


# --- customers -----------------------------------------------------------------------------------


def _customer_filter(request):
    filterset = CustomerFilterSet(request.GET, queryset=pages.visible_customers(request.user), request=request)
    filterset.form.fields["accountType"].widget = forms.Select(choices=[("", "Any type")] + AccountType.choices)
    filterset.form.label_suffix = ""
    return filterset


@login_required
@require_safe
def customer_list(request):
    return pages.list_page(
        request,
        filterset=_customer_filter(request),
        sort_keys=CUSTOMER_SORTS,
        template="accounts/customer_list.html",
        list_name="accounts:customer_list",
    )


@login_required
@require_safe
def customer_export(request):
    return pages.list_export(
        request,
        filterset=_customer_filter(request),
        sort_keys=CUSTOMER_SORTS,
        filename="customers.csv",
        header=CUSTOMER.csv_header,
        row_values=CUSTOMER.csv_row,
    )


def _customer_or_404(request, rcn):
    return pages.get_visible_or_404(pages.visible_customers(request.user), rcn=rcn.upper())


@login_required
@require_safe
def customer_detail(request, rcn):
    customer = pages.visible_customers(request.user).filter(rcn=rcn.upper()).first()
    if customer is None:
        survivor = pages.merged_into(request.user, rcn.upper())
        if survivor:
            return redirect("accounts:customer_detail", survivor)
        raise Http404("No such customer")
    pages.record_view(request.user, customer)
    accounts = list(
        visible_accounts(request.user).filter(customer=customer).order_by("type", "account_id")[:DETAIL_ROWS]
    )
    contacts = list(
        pages.visible_contacts(request.user)
        .filter(customer=customer)
        .prefetch_related("email_addresses")
        .order_by("contact_number")[:DETAIL_ROWS]
    )
    rcn_changes = list(
        RCNChange.objects.filter(account__in=visible_accounts(request.user).filter(customer=customer))
        .select_related("account")
        .newest_first()[:DETAIL_ROWS]
    )
    return render(
        request,
        "accounts/customer_detail.html",
        {
            "customer": customer,
            "accounts": accounts,
            "accounts_more": len(accounts) >= DETAIL_ROWS,
            "contacts": contacts,
            "contacts_more": len(contacts) >= DETAIL_ROWS,
            "rcn_changes": rcn_changes,
            "changes": changes_section(request.user, query={"rcn": customer.rcn}, rcn=customer.rcn),
            "can_merge": request.user.has_perm("accounts.change_customer"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_merge(request, rcn):
    source = _customer_or_404(request, rcn)
    if not request.user.has_perm("accounts.change_customer"):
        raise PermissionDenied
    form = MergeForm(request.POST or None)

    def target_of(data):
        return pages.visible_customers(request.user).filter(rcn=data["target"]).first()

    def check(data):
        if data["target"] == source.rcn:
            raise ValidationError({"target": "A customer cannot be merged into itself: choose another customer."})
        if target_of(data) is None:
            raise ValidationError({"target": f"There is no customer {data['target']} that you can see."})

    def describe(data):
        target = target_of(data)
        # Counted within the person's view (a merge by someone who cannot see them all is refused anyway).
        accounts = visible_accounts(request.user).filter(customer=source).count()
        contacts = pages.visible_contacts(request.user).filter(customer=source).count()

        def named(customer):
            return f"{customer.rcn} ({customer.name})" if customer.name else customer.rcn

        return [
            f"Every account and contact of {named(source)} moves to {named(target)}: "
            f"{accounts} account{'s' if accounts != 1 else ''} and {contacts} contact{'s' if contacts != 1 else ''}.",
            f"{source.rcn} is then deleted; its page will redirect to {target.rcn}.",
        ]

    def perform(data):
        target = pages.visible_customers(request.user).filter(rcn=data["target"]).first()
        if target is None:
            raise ValidationError({"target": f"There is no customer {data['target']} that you can see."})
        if not can_view_all(request.user):
            hidden = Account.objects.filter(customer__in=[source, target]).exclude(
                pk__in=visible_accounts(request.user).values("pk")
            )
            if hidden.exists():
                raise PermissionDenied("Only someone who can see every account of both customers may merge them.")
        services.customers_merge(source=source, target=target, actor=actor_for(request.user))
        return f"{source.rcn} was merged into {target.rcn}.", f"{target.get_absolute_url()}#accounts"

    return pages.run_action(
        request,
        form=form,
        title=f"Merge {source.rcn} into another customer",
        subject=source,
        cancel_url=source.get_absolute_url(),
        describe=describe,
        perform=perform,
        danger=True,
        check=check,
    )


# --- accounts ------------------------------------------------------------------------------------


def _account_filter(request):
    queryset = visible_accounts(request.user).select_related("customer")
    filterset = AccountFilterSet(request.GET, queryset=queryset, request=request)
    field = filterset.form.fields["accountType"]
    field.widget = forms.Select(choices=[("", "Any type")] + AccountType.choices)
    for name in ("status", "collectionsStatus", "accessPolicy"):
        choice = filterset.form.fields[name]
        choice.empty_label = "Any"
        choice.choices = [c for c in choice.choices if c[0] != ""]
    filterset.form.label_suffix = ""
    return filterset


@login_required
@require_safe
def account_list(request):
    filterset = _account_filter(request)
    return pages.list_page(
        request,
        filterset=filterset,
        sort_keys=ACCOUNT_SORTS,
        template="accounts/account_list.html",
        columns=order_columns,
        list_name="accounts:account_list",
    )


@login_required
@require_safe
def account_export(request):
    filterset = _account_filter(request)
    return pages.list_export(
        request,
        filterset=filterset,
        sort_keys=ACCOUNT_SORTS,
        columns=order_columns,
        filename="accounts.csv",
        header=ACCOUNT.csv_header,
        row_values=ACCOUNT.csv_row,
    )


def account_or_404(request, type, account_id):
    """The account `TYPE/ID` if the user may see it (the type matches case-insensitively), else 404."""
    return pages.get_visible_or_404(
        visible_accounts(request.user).select_related("customer"), type=type.upper(), account_id=account_id
    )


def metadata_groups(account, user, hidden=None):
    """Readable metadata grouped by namespace, each group saying whether `user` may change it (`hidden`: the
    user's unreadable namespaces, when the caller has read them already)."""
    entries = list(readable_metadata(account, user, hidden).order_by("key"))
    names = sorted({namespace_of(e.key) for e in entries})
    policies = {p.name: p for p in Namespace.objects.filter(name__in=names).prefetch_related("readers", "writers")}
    groups = []
    for name in names:
        policy = policies.get(name)
        groups.append(
            {
                "name": name,
                "policy": policy,
                "writable": can_write_namespace(user, name, policy or Namespace(name=name)),
                "entries": [e for e in entries if namespace_of(e.key) == name],
            }
        )
    return groups


@login_required
@require_safe
def account_detail(request, type, account_id):
    account = account_or_404(request, type, account_id)
    if account.type != type:
        return redirect(account)
    pages.record_view(request.user, account)
    links = list(
        AccountContact.objects.filter(account=account)
        .select_related("contact")
        .prefetch_related(
            Prefetch("roles", queryset=AccountContactRole.objects.order_by("id")),
            "contact__email_addresses",
            "contact__phone_numbers",
        )
        .order_by("contact__contact_number")[:DETAIL_ROWS]
    )
    # Every trail newest first, the latest rows of each (by date, ties in the order written).
    timeline = list(account.status_changes.newest_first()[:TIMELINE_ROWS])
    history = list(account.history.newest_first()[:DETAIL_ROWS])
    rcn_changes = list(account.rcn_changes.newest_first()[:DETAIL_ROWS])
    user = request.user
    # The metadata section and the changes section both leave out what the user may not read: one query.
    hidden = unreadable_namespaces(user)
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "links": links,
            "timeline": timeline,
            "history": history,
            "rcn_changes": rcn_changes,
            "metadata_groups": metadata_groups(account, user, hidden),
            "changes": changes_section(user, query={"account": account.key}, hidden=hidden, account_key=account.key),
            "detail_rows": DETAIL_ROWS,
            "timeline_rows": TIMELINE_ROWS,
            "can_change": user.has_perm("accounts.change_account"),
            "can_add_metadata": user.has_perm("metadata.add_metadata"),
            "can_change_metadata": user.has_perm("metadata.change_metadata"),
            "can_delete_metadata": user.has_perm("metadata.delete_metadata"),
        },
    )


def _account_action(
    request,
    type,
    account_id,
    *,
    form_class,
    title,
    describe,
    perform,
    initial=None,
    danger=False,
    check=None,
    facts=None,
    section,
):
    """One account's action; `section`: the id of the account page's section the change shows in (the redirect
    goes there and the success message is shown in it)."""
    account = account_or_404(request, type, account_id)
    if not request.user.has_perm("accounts.change_account"):
        raise PermissionDenied
    # The form carries the version it was opened on; the service refuses it if the account changed since.
    opened_on = {"version": services.account_version(account).tag}
    form = form_class(request.POST or None, initial={**(initial(account) if initial else {}), **opened_on})
    actor = actor_for(request.user)
    return pages.run_action(
        request,
        form=form,
        title=f"{title}: {account.key}",
        subject=account,
        cancel_url=account.get_absolute_url(),
        describe=lambda data: describe(account, data),
        perform=lambda data: (
            perform(account, actor, data, data.get("version") or None),
            f"{account.get_absolute_url()}#{section}",
        ),
        danger=danger,
        check=(lambda data: _unless_stale(account, opened_on, data, check)) if check else None,
        facts=facts(account) if facts else None,
    )


def _unless_stale(account, opened_on, data, check):
    """The first-step checks judge the account as it is now: on a form opened on an older version, the
    service's report of the newer change (who, when) says more than a check against it would."""
    if data.get("version") and data["version"] != opened_on["version"]:
        return
    check(account, data)


NOTHING_CHANGES = "Nothing would change: "


def _check_status(account, data):
    if data["status"] in ("", account.status) and data["access_policy"] in ("", account.access_policy):
        raise ValidationError(
            NOTHING_CHANGES + f"the status is already {account.status or 'none'} and the access policy "
            f"{_label(AccessPolicy.choices, account.access_policy) or 'none'}."
        )
    _check_reason([account], data)


def _check_reason(accounts, data):
    """A risky change (services.status_change_risks) of any of `accounts` needs a reason; the service checks too."""
    if services.clean_reason(data.get("reason")) is not None:
        return
    risky = {}
    for account in accounts:
        for risk in services.status_change_risks(account, data["status"] or None, data["access_policy"] or None):
            risky.setdefault(risk, []).append(account.key)
    if not risky:
        return
    if len(accounts) == 1:
        raise ValidationError({"reason": services.reason_missing_message(list(risky))})
    said = [f"{risk} ({', '.join(keys[:5])}{' and more' if len(keys) > 5 else ''})" for risk, keys in risky.items()]
    raise ValidationError({"reason": services.reason_missing_message(said)})


def _state_facts(account) -> list[tuple[str, str]]:
    """What the status form changes, as the account stands now (shown above the form's fields)."""
    return [
        ("Status", account.status or "none"),
        ("Collections status", _label(CollectionsStatus.choices, account.collections_status) or "none"),
        ("Access policy", _label(AccessPolicy.choices, account.access_policy) or "none"),
    ]


def _check_collections(account, data):
    if data["collections_status"] == account.collections_status:
        current = _label(CollectionsStatus.choices, account.collections_status)
        raise ValidationError({"collections_status": NOTHING_CHANGES + f"it is already {current}."})


def _check_nickname(account, data):
    if (data["nickname"] or None) == (account.nickname or None):
        raise ValidationError({"nickname": NOTHING_CHANGES + "that is the nickname already."})


def _label(choices, value):
    return dict(choices).get(value, value)


# What a status or collections change does to one account, said and done the same way for one account and for a
# bulk selection.


def _status_changes(account, data) -> list[str]:
    changes = []
    if data["status"]:
        changes.append(f"status: {account.status or 'none'} → {data['status']}")
    if data["access_policy"]:
        old = _label(AccessPolicy.choices, account.access_policy) or "none"
        changes.append(f"access policy: {old} → {_label(AccessPolicy.choices, data['access_policy'])}")
    return changes


def _change_status(account, actor, data, version=None):
    services.account_status_change(
        account=account,
        actor=actor,
        status=data["status"] or None,
        access_policy=data["access_policy"] or None,
        fraud_status=data["fraud_status"] or None,
        expected_version=version,
        reason=data.get("reason"),
        reason_required=True,
    )


def _reason_line(data) -> list[str]:
    reason = services.clean_reason(data.get("reason"))
    return [f"Reason recorded with the change: {reason}"] if reason else []


def _collections_change(account, data) -> str:
    old = _label(CollectionsStatus.choices, account.collections_status) or "none"
    return f"{old} → {_label(CollectionsStatus.choices, data['collections_status'])}"


def _change_collections(account, actor, data, version=None):
    services.account_collections_status_change(
        account=account, actor=actor, collections_status=data["collections_status"], expected_version=version
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_status(request, type, account_id):
    def describe(account, data):
        lines = [f"{what[0].upper()}{what[1:]}" for what in _status_changes(account, data)]
        if data["fraud_status"]:
            lines.append(f"Fraud status recorded: {_label(FraudStatus.choices, data['fraud_status'])}")
        return lines + _reason_line(data)

    def perform(account, actor, data, version):
        _change_status(account, actor, data, version)
        return f"Status of {account.key} changed; the change is in its status timeline and history."

    return _account_action(
        request,
        type,
        account_id,
        form_class=StatusForm,
        title="Change status",
        describe=describe,
        perform=perform,
        check=_check_status,
        facts=_state_facts,
        section="status",
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_collections(request, type, account_id):
    def describe(account, data):
        return [f"Collections status: {_collections_change(account, data)}"]

    def perform(account, actor, data, version):
        _change_collections(account, actor, data, version)
        return f"Collections status of {account.key} changed."

    return _account_action(
        request,
        type,
        account_id,
        form_class=CollectionsForm,
        title="Change collections status",
        describe=describe,
        perform=perform,
        check=_check_collections,
        initial=lambda a: {"collections_status": a.collections_status},
        facts=lambda a: [("Collections status", _label(CollectionsStatus.choices, a.collections_status) or "none")],
        section="status",
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_nickname(request, type, account_id):
    def describe(account, data):
        new = data["nickname"] or "(none)"
        return [f"Nickname: {account.nickname or '(none)'} → {new}"]

    def perform(account, actor, data, version):
        services.account_nickname_change(
            account=account, actor=actor, nickname=data["nickname"], expected_version=version
        )
        return f"Nickname of {account.key} changed."

    return _account_action(
        request,
        type,
        account_id,
        form_class=NicknameForm,
        title="Change nickname",
        describe=describe,
        perform=perform,
        check=_check_nickname,
        initial=lambda a: {"nickname": a.nickname},
        section="summary",
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_move(request, type, account_id):
    def describe(account, data):
        lines = [f"Owner: {account.customer.rcn} → {data['rcn']}", "An RCN change is written to the account's trails."]
        target = pages.visible_customers(request.user).filter(rcn=data["rcn"]).first()
        leaving = services.roles_leaving(account, target) if target and target.pk != account.customer_id else []
        if leaving:
            lines.append(
                f"These contacts of {account.customer.rcn} stay with it and are taken off {account.key}, "
                "with their roles here:"
            )
            lines += [str(removed) for removed in leaving]
        return lines

    def perform(account, actor, data, version):
        target = pages.visible_customers(request.user).filter(rcn=data["rcn"]).first()
        if target is None:
            raise ValidationError({"rcn": f"There is no customer {data['rcn']} that you can see."})
        moved = services.account_move(account=account, actor=actor, customer=target, expected_version=version)
        message = f"{account.key} now belongs to {target.rcn}."
        if moved.removed:
            message += " Taken off it, with their roles: " + "; ".join(str(r) for r in moved.removed) + "."
        return message

    return _account_action(
        request,
        type,
        account_id,
        form_class=MoveForm,
        title="Move to another customer",
        describe=describe,
        perform=perform,
        danger=True,
        check=lambda account, data: _check_move(request, account, data),
        section="summary",
    )


def _check_move(request, account, data):
    target = pages.visible_customers(request.user).filter(rcn=data["rcn"]).first()
    if target is None:
        raise ValidationError({"rcn": f"There is no customer {data['rcn']} that you can see."})
    if target.pk == account.customer_id:
        raise ValidationError({"rcn": f"{account.key} already belongs to {target.rcn}: choose another customer."})


# --- bulk actions on the account list -----------------------------------------------------------


def _selected_accounts(request, keys):
    """The visible accounts named by `keys` (`TYPE/ID`), in list order; what is not visible is left out."""
    pairs = []
    for key in keys[:BULK_LIMIT]:
        type_, _, account_id = key.partition("/")
        if type_ and account_id:
            pairs.append(Q(type=type_.upper(), account_id=account_id))
    if not pairs:
        return []
    condition = pairs[0]
    for pair in pairs[1:]:
        condition |= pair
    return list(visible_accounts(request.user).filter(condition).select_related("customer").order_by(*LIST_KEY))


BULK_ACTIONS = {
    "status": ("Change status", BulkStatusForm),
    "collections": ("Change collections status", BulkCollectionsForm),
}


@login_required
@require_http_methods(["POST"])
def account_bulk(request):
    """Act on the accounts selected on the list: a CSV of them, or a status change confirmed for all at once."""
    keys = request.POST.getlist("selected")
    action = request.POST.get("action", "")
    back = request.POST.get("back", "")
    list_url = reverse("accounts:account_list") + (back if back.startswith("?") else "")
    if len(keys) > BULK_LIMIT:
        messages.error(request, f"Select at most {BULK_LIMIT} accounts at a time.")
        return redirect(list_url)
    accounts = _selected_accounts(request, keys)
    if not accounts:
        messages.error(request, "Select at least one account first.")
        return redirect(list_url)
    if action == "csv":
        return pages.csv_response("accounts-selected.csv", ACCOUNT.csv_header, accounts, ACCOUNT.csv_row)
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose what to do with the selected accounts.")
        return redirect(list_url)
    if not request.user.has_perm("accounts.change_account"):
        raise PermissionDenied
    title, form_class = BULK_ACTIONS[action]
    found = [a.key for a in accounts]
    if "start" in request.POST:
        # Coming from the list: show the form with the selection, nothing to validate yet.
        form = form_class(keys=found, initial={"selected": found, "action": action, "back": back})
    else:
        # The selection carried on is what the person may see and still exists; the rest drops out silently.
        data = request.POST.copy()
        data.setlist("selected", found)
        form = form_class(data, keys=found)
    form.accounts = accounts
    actor = actor_for(request.user)

    def describe(data):
        lines = []
        for account in accounts:
            if action == "status":
                lines.append(f"{account.key}: {', '.join(_status_changes(account, data))}")
            else:
                lines.append(f"{account.key}: collections status: {_collections_change(account, data)}")
        if action == "status" and data["fraud_status"]:
            lines.append(f"Fraud status recorded on each: {_label(FraudStatus.choices, data['fraud_status'])}")
        return lines + (_reason_line(data) if action == "status" else [])

    def perform(data):
        with transaction.atomic():
            for account in accounts:
                (_change_status if action == "status" else _change_collections)(account, actor, data)
        noun = "account" if len(accounts) == 1 else "accounts"
        done = "Status" if action == "status" else "Collections status"
        return f"{done} of {len(accounts)} {noun} changed; each change is in the account's history.", reverse(
            "accounts:account_list"
        ) + form.cleaned_data.get("back", "")

    return pages.run_action(
        request,
        form=form,
        title=f"{title}: {len(accounts)} selected account{'s' if len(accounts) != 1 else ''}",
        subject="Accounts",
        cancel_url=list_url,
        describe=describe,
        perform=perform,
        template="accounts/bulk_action.html",
        check=(lambda data: _check_reason(accounts, data)) if action == "status" else None,
    )
