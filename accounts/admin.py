"""Admin of customers and accounts. Every save goes through accounts.services (and the contact and metadata
services for the inlines), so an edit here writes the same history as the same edit anywhere else."""

import hashlib
import re

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from cmsportal.admin import (
    ReadOnlyInline,
    ServiceAdmin,
    ServiceRefused,
    TenantScoped,
    action_form,
    adopt,
    formset_applied,
    refusal,
)
from cmsportal.identity.access import can_view_all, granted_tenants, visible_accounts, visible_customers
from contacts.admin import AccountLinkInline, save_contact_links
from contacts.models import AccountContact
from metadata.admin import MetadataInline, save_metadata_formset
from metadata.models import Metadata

from . import services
from .choices import AccessPolicy, AccountStatus, AccountType, CollectionsStatus, FraudStatus
from .models import Account, AccountHistory, Customer, RCNChange, StatusChange, rcn_validator

__all__ = [
    "ACCOUNT_KEY_RE",
    "StatusForm",
    "CollectionsForm",
    "CustomerChoiceForm",
    "MoveForm",
    "AccountAdminForm",
    "StatusChangeInline",
    "AccountHistoryInline",
    "RCNChangeInline",
    "AccountAdmin",
    "CustomerAccountInline",
    "CustomerAdminForm",
    "CustomerAdmin",
    "TrailAdmin",
    "StatusChangeAdmin",
    "AccountHistoryAdmin",
    "RCNChangeAdmin",
]

# `CLOUD/10101` or `CLOUD:10101` (any case) names one account.
ACCOUNT_KEY_RE = re.compile(r"^\s*([A-Za-z_]+)\s*[/:]\s*(\S+)\s*$")


def _run_all(modeladmin, request, queryset, change, done: str) -> bool:
    """Apply `change(item)` to every selected row in one transaction: all of them, or (on a refusal) none."""
    try:
        with transaction.atomic(), refusal():
            for item in queryset:
                change(item)
    except ServiceRefused as refused:
        modeladmin.message_user(request, f"Nothing changed: {refused}", messages.ERROR)
        return False
    modeladmin.message_user(request, done.format(count=queryset.count()), messages.SUCCESS)
    return True


def _taken_off(removed) -> str:
    return "Taken off, with their roles there: " + "; ".join(f"{r.account}: {r}" for r in removed) + "."


# --- actions with an intermediate form --------------------------------------------------------------------------------


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "(unchanged)"), *AccountStatus.choices], required=False)
    access_policy = forms.ChoiceField(choices=[("", "(unchanged)"), *AccessPolicy.choices], required=False)
    fraud_status = forms.ChoiceField(choices=[("", "(none)"), *FraudStatus.choices], required=False)
    # Optional here; its length is the service's to check (the staff pages' form also requires it for risky changes).
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Recorded with each status change."
    )

    def clean(self):
        data = super().clean()
        if not data.get("status") and not data.get("access_policy"):
            raise forms.ValidationError("Choose a status or an access policy.")
        return data


class CollectionsForm(forms.Form):
    collections_status = forms.ChoiceField(choices=CollectionsStatus.choices)


class CustomerChoiceForm(forms.Form):
    """A customer named by its RCN, among those `user` may see (`for_user` makes the form of one request)."""

    rcn = forms.CharField(label="RCN", validators=[rcn_validator], help_text="RCN-123-456-789")
    user = None

    @classmethod
    def for_user(cls, user):
        return type(cls.__name__, (cls,), {"user": user})

    def clean_rcn(self):
        rcn = self.cleaned_data["rcn"].strip()
        try:
            self.cleaned_data["customer"] = visible_customers(self.user).get(rcn=rcn)
        except Customer.DoesNotExist:
            raise forms.ValidationError(f"No customer {rcn}.") from None
        return rcn


class MoveForm(CustomerChoiceForm):
    """The customer to move the selected accounts to. Contacts of their old customer are taken off them:
    the first submission that would take any off lists them and asks to submit again to confirm."""

    shown = forms.CharField(label="", widget=forms.HiddenInput, required=False)
    accounts: list = []

    def clean(self):
        data = super().clean()
        customer = data.get("customer")
        if customer is None:
            return data
        leaving = [
            removed
            for account in self.accounts
            if account.customer_id != customer.pk
            for removed in services.roles_leaving(account, customer)
        ]
        lines = [f"{removed.account}: {removed}" for removed in leaving]
        # What the person saw: confirming a list they were not shown (it changed since) shows it again.
        digest = hashlib.sha256("\n".join([customer.rcn, *lines]).encode()).hexdigest()[:16]
        if lines and data.get("shown") != digest:
            self.data = self.data.copy()
            self.data["shown"] = digest
            raise forms.ValidationError(
                [
                    "These contacts stay with their customer and are taken off the accounts, with their roles there. "
                    "Submit again to move the accounts and take them off:",
                    *lines,
                ]
            )
        return data


# --- accounts ---------------------------------------------------------------------------------------------------------


class AccountAdminForm(forms.ModelForm):
    fraud_status = forms.ChoiceField(
        choices=[("", "(none)"), *FraudStatus.choices],
        required=False,
        help_text="Recorded with the status change this save makes (optional).",
    )

    class Meta:
        model = Account
        fields = (
            "customer",
            "type",
            "account_id",
            "number",
            "name",
            "nickname",
            "status",
            "collections_status",
            "access_policy",
            "tenant_id",
            "domain",
            "service_level",
            "parent_account_number",
        )

    user = None  # set per request by AccountAdmin.get_form

    def clean_tenant_id(self):
        tenant_id = self.cleaned_data.get("tenant_id")
        # Else a tenant-scoped user could hand an account to a tenant they cannot see.
        if (
            "tenant_id" in self.changed_data
            and tenant_id
            and not can_view_all(self.user)
            and not granted_tenants(self.user).filter(tenant_id=tenant_id).exists()
        ):
            raise forms.ValidationError("Choose one of the tenants granted to you.")
        return tenant_id

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            # The trails record values, not their absence: a set status can be changed but not cleared.
            for field in ("status", "collections_status", "access_policy"):
                if field in self.fields and self.initial.get(field) and not data.get(field):
                    self.add_error(field, "This can be changed but not cleared.")
        return data


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fields = ("date", "status", "collections_status", "access_policy", "fraud_status", "username", "usertype", "reason")
    verbose_name_plural = "status history (newest first)"


class AccountHistoryInline(ReadOnlyInline):
    model = AccountHistory
    fields = (
        "updated_date",
        "change_type",
        "rcn",
        "account_status",
        "collections_status",
        "nickname",
        "updated_by_username",
        "updated_by_type",
        "destination_updated_by_username",
        "destination_updated_by_type",
    )
    verbose_name_plural = "account history"


class RCNChangeInline(ReadOnlyInline):
    model = RCNChange
    fields = ("date", "change_type", "rcn", "username")
    verbose_name_plural = "customer (RCN) history"


@admin.register(Account)
class AccountAdmin(ServiceAdmin):
    """Accounts. A save calls the service for each kind of change (status, collections status, nickname,
    customer, other fields), so each writes its own history; adding calls account_create."""

    form = AccountAdminForm
    # What fits a 1366 px screen beside both sidebars (with css/admin-accounts.css); the rest is in the filters.
    list_display = ("key_display", "name", "customer", "status", "collections_status", "tenant_id")
    list_select_related = ("customer",)
    list_filter = ("type", "status", "collections_status", "access_policy", "service_level")
    search_fields = ("account_id", "type", "name", "nickname", "customer__rcn", "customer__name", "tenant_id", "domain")
    search_help_text = "TYPE/ID, id, number, RCN, tenant id, domain, account or customer name, nickname."
    autocomplete_fields = ("customer",)
    inlines = (AccountLinkInline, MetadataInline, StatusChangeInline, AccountHistoryInline, RCNChangeInline)
    actions = ("change_status", "change_collections_status", "move_to_customer")
    show_full_result_count = False

    class Media:
        css = {"all": ("css/admin-accounts.css",)}

    @admin.display(description="account", ordering="type")
    def key_display(self, obj):
        return obj.key

    def get_queryset(self, request):
        return visible_accounts(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        # Adding needs the global view: a key or a tenant outside one's view would otherwise be revealed
        # (an existing key is a form error) or the account would vanish from view on save.
        return super().has_add_permission(request) and can_view_all(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def get_fieldsets(self, request, obj=None):
        identity = ("customer", "type", "account_id", "number") if obj is None else ("customer", "number")
        return (
            (None, {"fields": (*identity, "name", "nickname")}),
            ("Status", {"fields": ("status", "collections_status", "access_policy", "fraud_status")}),
            ("Service", {"fields": ("tenant_id", "domain", "service_level", "parent_account_number")}),
            ("Changed", {"fields": ("created_by", "created_date", "last_updated_by", "last_updated_date")}),
        )

    def get_readonly_fields(self, request, obj=None):
        fixed = ("type", "account_id") if obj is not None else ()
        return (*fixed, "created_by", "created_date", "last_updated_by", "last_updated_date")

    def get_changeform_initial_data(self, request):
        initial = {
            "status": AccountStatus.ACTIVE,
            "collections_status": CollectionsStatus.CURRENT,
            "access_policy": AccessPolicy.FULL,
        }
        return initial | super().get_changeform_initial_data(request)

    def get_search_results(self, request, queryset, search_term):
        match = ACCOUNT_KEY_RE.match(search_term)
        if match and match.group(1).upper() in AccountType.values:
            return queryset.filter(type=match.group(1).upper(), account_id=match.group(2)), False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isascii() and term.isdigit() and len(term) < 19:
            results |= queryset.filter(number=int(term))
        return results, may_have_duplicates

    def save_model(self, request, obj, form, change):
        actor, data = self.actor(request), form.cleaned_data
        fraud_status = data.get("fraud_status") or None
        with refusal():
            if not change:
                created = services.account_create(
                    actor=actor,
                    customer=data["customer"],
                    type=data["type"],
                    account_id=data["account_id"],
                    name=data.get("name"),
                    nickname=data.get("nickname"),
                    status=data.get("status"),
                    collections_status=data.get("collections_status"),
                    access_policy=data.get("access_policy"),
                    fraud_status=fraud_status,
                    tenant_id=data.get("tenant_id"),
                    domain=data.get("domain"),
                    service_level=data.get("service_level"),
                    parent_account_number=data.get("parent_account_number"),
                    number=data.get("number"),
                )
                adopt(obj, created)
                return
            changed = set(form.changed_data)
            updates = {field: data[field] for field in services.UPDATABLE_FIELDS if field in changed}
            if updates:
                services.account_update(account=obj, actor=actor, **updates)
            if "customer" in changed:
                removed = services.account_move(account=obj, actor=actor, customer=data["customer"]).removed
                if removed:
                    transaction.on_commit(lambda: self.message_user(request, _taken_off(removed), messages.WARNING))
            if changed & {"status", "access_policy"} or fraud_status:
                services.account_status_change(
                    account=obj,
                    actor=actor,
                    status=data["status"] if "status" in changed or fraud_status else None,
                    access_policy=data["access_policy"] if "access_policy" in changed else None,
                    fraud_status=fraud_status,
                )
            if "collections_status" in changed:
                services.account_collections_status_change(
                    account=obj, actor=actor, collections_status=data["collections_status"]
                )
            if "nickname" in changed:
                services.account_nickname_change(account=obj, actor=actor, nickname=data["nickname"])
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        formset_applied(formset)
        if formset.model is Metadata:
            save_metadata_formset(request, formset)
        elif formset.model is AccountContact:
            save_contact_links(request, formset)
        # The history inlines are read-only: nothing to save.

    def delete_model(self, request, obj):
        # No service deletes accounts: the trails are the record of what happened to them.
        raise ServiceRefused("Accounts are not deleted; close them (status Closed) instead.")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Change status / access policy of selected accounts", permissions=["change"])
    def change_status(self, request, queryset):
        form, response = action_form(self, request, queryset, StatusForm, "Change status")
        if form is None:
            return response
        data, actor = form.cleaned_data, self.actor(request)
        _run_all(
            self,
            request,
            queryset,
            lambda account: services.account_status_change(
                account=account,
                actor=actor,
                status=data["status"] or None,
                access_policy=data["access_policy"] or None,
                fraud_status=data["fraud_status"] or None,
                reason=data["reason"],
            ),
            "Status changed on {count} account(s).",
        )
        return None

    @admin.action(description="Change collections status of selected accounts", permissions=["change"])
    def change_collections_status(self, request, queryset):
        form, response = action_form(self, request, queryset, CollectionsForm, "Change collections status")
        if form is None:
            return response
        actor, value = self.actor(request), form.cleaned_data["collections_status"]
        _run_all(
            self,
            request,
            queryset,
            lambda account: services.account_collections_status_change(
                account=account, actor=actor, collections_status=value
            ),
            "Collections status changed on {count} account(s).",
        )
        return None

    @admin.action(description="Move selected accounts to another customer", permissions=["change"])
    def move_to_customer(self, request, queryset):
        form_class = type(
            "MoveForm", (MoveForm.for_user(request.user),), {"accounts": list(queryset.select_related(None))}
        )
        form, response = action_form(self, request, queryset, form_class, "Move to customer")
        if form is None:
            return response
        actor, customer = self.actor(request), form.cleaned_data["customer"]
        removed = []
        moved = _run_all(
            self,
            request,
            queryset,
            lambda account: removed.extend(
                services.account_move(account=account, actor=actor, customer=customer).removed
            ),
            f"{{count}} account(s) moved to {customer.rcn}.",
        )
        if moved and removed:
            self.message_user(request, _taken_off(removed), messages.WARNING)
        return None


# --- customers --------------------------------------------------------------------------------------------------------


class CustomerAccountInline(TenantScoped, admin.TabularInline):
    """A customer's accounts the user may see, as links; accounts are edited on their own pages."""

    model = Account
    fields = ("type", "account_id", "name", "nickname", "status", "collections_status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return visible_accounts(request.user, super().get_queryset(request))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CustomerAdminForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ("rcn", "name")


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    """Customers: create and rename through the services; merge as an action.

    A tenant-scoped user (without the global view) sees a customer only through at least one visible account,
    and its account count counts those only; adding and deleting customers needs the global view (a customer
    without visible accounts is out of view, and a taken RCN would reveal a hidden one).
    """

    form = CustomerAdminForm
    list_display = ("rcn", "name", "account_count", "implicit")
    list_filter = ("implicit",)
    search_fields = ("rcn", "name")
    inlines = (CustomerAccountInline,)
    actions = ("merge_into_customer",)

    def get_queryset(self, request):
        # A correlated subquery rather than a JOIN + GROUP BY: the page's count query can then drop it.
        accounts = visible_accounts(request.user).filter(customer=OuterRef("pk")).order_by().values("customer")
        count = Coalesce(Subquery(accounts.annotate(n=Count("pk")).values("n")), 0)
        return visible_customers(request.user, super().get_queryset(request)).annotate(account_count=count)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and can_view_all(request.user)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and can_view_all(request.user)

    @admin.display(description="accounts", ordering="account_count")
    def account_count(self, obj):
        return obj.account_count

    def get_readonly_fields(self, request, obj=None):
        return ("rcn", "implicit") if obj is not None else ("implicit",)

    def save_model(self, request, obj, form, change):
        with refusal():
            if not change:
                adopt(obj, services.customer_create(rcn=form.cleaned_data["rcn"], name=form.cleaned_data.get("name")))
                return
            if "name" in form.changed_data:
                services.customer_rename(customer=obj, name=form.cleaned_data.get("name"))
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        with refusal():
            services.customer_delete(customer=obj)

    @admin.action(description="Merge selected customers into another customer", permissions=["change"])
    def merge_into_customer(self, request, queryset):
        form, response = action_form(
            self, request, queryset, CustomerChoiceForm.for_user(request.user), "Merge into customer"
        )
        if form is None:
            return response
        actor, target = self.actor(request), form.cleaned_data["customer"]
        if not can_view_all(request.user):
            # As on the staff pages: a merge moves every account, so it needs them all in view.
            involved = Account.objects.filter(customer__in=[target, *queryset])
            if involved.exclude(pk__in=visible_accounts(request.user).values("pk")).exists():
                self.message_user(
                    request,
                    "Nothing changed: only someone who can see every account of the customers may merge them.",
                    messages.ERROR,
                )
                return None
        _run_all(
            self,
            request,
            queryset,
            lambda source: services.customers_merge(source=source, target=target, actor=actor),
            f"{{count}} customer(s) merged into {target.rcn}.",
        )
        return None


# --- the trails on their own: searchable across accounts, never edited -----------------------------------------------


class TrailAdmin(admin.ModelAdmin):
    list_select_related = ("account",)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(account__in=visible_accounts(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(TrailAdmin):
    list_display = (
        "account",
        "date",
        "status",
        "collections_status",
        "access_policy",
        "fraud_status",
        "username",
        "usertype",
    )
    list_filter = ("status", "collections_status", "access_policy", "fraud_status", "usertype")
    search_fields = ("account__account_id", "username")


@admin.register(AccountHistory)
class AccountHistoryAdmin(TrailAdmin):
    list_display = (
        "account",
        "updated_date",
        "change_type",
        "rcn",
        "account_status",
        "collections_status",
        "nickname",
        "updated_by_username",
        "updated_by_type",
    )
    list_filter = ("change_type", "updated_by_type")
    search_fields = ("account__account_id", "rcn", "updated_by_username", "nickname")


@admin.register(RCNChange)
class RCNChangeAdmin(TrailAdmin):
    list_display = ("account", "date", "change_type", "rcn", "username")
    list_filter = ("change_type",)
    search_fields = ("account__account_id", "rcn", "username")
