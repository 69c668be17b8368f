"""Staff pages of customers and accounts: browse lists, detail pages and the actions on them."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from cmsportal import pages
from cmsportal.identity.access import actor_for, can_view_all, visible_accounts
from contacts.models import AccountContact, AccountContactRole
from metadata.models import Namespace, namespace_of
from metadata.services import can_write_namespace, readable_metadata

from . import services
from .filtersets import AccountFilterSet, CustomerFilterSet, order_columns
from .forms import CollectionsForm, MergeForm, MoveForm, NicknameForm, StatusForm
from .models import AccessPolicy, Account, AccountType, CollectionsStatus, FraudStatus, RCNChange

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
ACCOUNT_CSV_HEADER = [
    "type",
    "id",
    "number",
    "rcn",
    "name",
    "nickname",
    "status",
    "collectionsStatus",
    "accessPolicy",
    "tenantId",
    "domain",
    "serviceLevel",
]


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
    )


@login_required
@require_safe
def customer_export(request):
    return pages.list_export(
        request,
        filterset=_customer_filter(request),
        sort_keys=CUSTOMER_SORTS,
        filename="customers.csv",
        header=["rcn", "name"],
        row_values=lambda c: [c.rcn, c.name],
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
        .order_by("-id")[:DETAIL_ROWS]
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

    def describe(data):
        return [
            f"Every account and contact of {source.rcn} moves to {data['target']}.",
            f"{source.rcn} is then deleted; its page will redirect to {data['target']}.",
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
        return f"{source.rcn} was merged into {target.rcn}.", target.get_absolute_url()

    return pages.run_action(
        request,
        form=form,
        title=f"Merge {source.rcn} into another customer",
        subject=source,
        cancel_url=source.get_absolute_url(),
        describe=describe,
        perform=perform,
        danger=True,
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
        header=ACCOUNT_CSV_HEADER,
        row_values=lambda a: [
            a.type,
            a.account_id,
            a.number,
            a.customer.rcn,
            a.name,
            a.nickname,
            a.status,
            a.collections_status,
            a.access_policy,
            a.tenant_id,
            a.domain,
            a.service_level,
        ],
    )


def account_or_404(request, type, account_id):
    """The account `TYPE/ID` if the user may see it (the type matches case-insensitively), else 404."""
    return pages.get_visible_or_404(
        visible_accounts(request.user).select_related("customer"), type=type.upper(), account_id=account_id
    )


def metadata_groups(account, user):
    """Readable metadata grouped by namespace, each group saying whether `user` may change it."""
    entries = list(readable_metadata(account, user).order_by("key"))
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
    timeline = list(account.status_changes.order_by("-date", "-id")[:TIMELINE_ROWS])
    history = list(account.history.order_by("-id")[:DETAIL_ROWS])
    history.reverse()
    rcn_changes = list(account.rcn_changes.order_by("-id")[:DETAIL_ROWS])
    rcn_changes.reverse()
    user = request.user
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "links": links,
            "timeline": timeline,
            "history": history,
            "rcn_changes": rcn_changes,
            "metadata_groups": metadata_groups(account, user),
            "detail_rows": DETAIL_ROWS,
            "timeline_rows": TIMELINE_ROWS,
            "can_change": user.has_perm("accounts.change_account"),
            "can_add_metadata": user.has_perm("metadata.add_metadata"),
            "can_change_metadata": user.has_perm("metadata.change_metadata"),
            "can_delete_metadata": user.has_perm("metadata.delete_metadata"),
        },
    )


def _account_action(request, type, account_id, *, form_class, title, describe, perform, initial=None, danger=False):
    account = account_or_404(request, type, account_id)
    if not request.user.has_perm("accounts.change_account"):
        raise PermissionDenied
    form = form_class(request.POST or None, initial=initial(account) if initial else None)
    actor = actor_for(request.user)
    return pages.run_action(
        request,
        form=form,
        title=f"{title}: {account.key}",
        subject=account,
        cancel_url=account.get_absolute_url(),
        describe=lambda data: describe(account, data),
        perform=lambda data: (perform(account, actor, data), account.get_absolute_url()),
        danger=danger,
    )


def _label(choices, value):
    return dict(choices).get(value, value)


@login_required
@require_http_methods(["GET", "POST"])
def account_status(request, type, account_id):
    def describe(account, data):
        lines = []
        if data["status"]:
            lines.append(f"Status: {account.status or 'none'} → {data['status']}")
        if data["access_policy"]:
            lines.append(
                f"Access policy: {_label(AccessPolicy.choices, account.access_policy) or 'none'} → "
                f"{_label(AccessPolicy.choices, data['access_policy'])}"
            )
        if data["fraud_status"]:
            lines.append(f"Fraud status recorded: {_label(FraudStatus.choices, data['fraud_status'])}")
        return lines

    def perform(account, actor, data):
        services.account_status_change(
            account=account,
            actor=actor,
            status=data["status"] or None,
            access_policy=data["access_policy"] or None,
            fraud_status=data["fraud_status"] or None,
        )
        return f"Status of {account.key} changed; the change is in its status timeline and history."

    return _account_action(
        request,
        type,
        account_id,
        form_class=StatusForm,
        title="Change status",
        describe=describe,
        perform=perform,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_collections(request, type, account_id):
    def describe(account, data):
        old = _label(CollectionsStatus.choices, account.collections_status) or "none"
        return [f"Collections status: {old} → {_label(CollectionsStatus.choices, data['collections_status'])}"]

    def perform(account, actor, data):
        services.account_collections_status_change(
            account=account, actor=actor, collections_status=data["collections_status"]
        )
        return f"Collections status of {account.key} changed."

    return _account_action(
        request,
        type,
        account_id,
        form_class=CollectionsForm,
        title="Change collections status",
        describe=describe,
        perform=perform,
        initial=lambda a: {"collections_status": a.collections_status},
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_nickname(request, type, account_id):
    def describe(account, data):
        new = data["nickname"] or "(none)"
        return [f"Nickname: {account.nickname or '(none)'} → {new}"]

    def perform(account, actor, data):
        services.account_nickname_change(account=account, actor=actor, nickname=data["nickname"])
        return f"Nickname of {account.key} changed."

    return _account_action(
        request,
        type,
        account_id,
        form_class=NicknameForm,
        title="Change nickname",
        describe=describe,
        perform=perform,
        initial=lambda a: {"nickname": a.nickname},
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_move(request, type, account_id):
    def describe(account, data):
        return [f"Owner: {account.customer.rcn} → {data['rcn']}", "An RCN change is written to the account's trails."]

    def perform(account, actor, data):
        target = pages.visible_customers(request.user).filter(rcn=data["rcn"]).first()
        if target is None:
            raise ValidationError({"rcn": f"There is no customer {data['rcn']} that you can see."})
        services.account_move(account=account, actor=actor, customer=target)
        return f"{account.key} now belongs to {target.rcn}."

    return _account_action(
        request,
        type,
        account_id,
        form_class=MoveForm,
        title="Move to another customer",
        describe=describe,
        perform=perform,
        danger=True,
    )
