"""Admin of contacts: their addresses, emails, phones and roles per account, all saved through contacts.services."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, Q
from django.utils.html import format_html

from cmsportal.admin import ServiceAdmin, TenantScoped, adopt, formset_applied, refusal
from cmsportal.identity.access import actor_for, can_view_all, visible_contacts, visible_links

from . import services
from .choices import Role
from .models import AccountContact, AccountContactRole, Address, Contact, EmailAddress, PhoneNumber, phone_digits

# --- roles of a contact on an account: one inline, used on both the contact and the account ----------------------


__all__ = [
    "AccountContactForm",
    "FixedLabel",
    "save_contact_links",
    "AccountContactInline",
    "ContactLinkInline",
    "AccountLinkInline",
    "AddressInline",
    "EmailAddressInline",
    "PhoneNumberInline",
    "CHILDREN",
    "RoleListFilter",
    "ContactAdmin",
]


class AccountContactForm(forms.ModelForm):
    """A contact's place on an account, with the roles held there as one multiple-choice field."""

    roles = forms.MultipleChoiceField(choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = AccountContact
        fields = ("account", "contact", "roles")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # .all() reads the inline's prefetch; no query per row.
            self.initial["roles"] = [role.role for role in self.instance.roles.all()]
            # The other end of an existing link is fixed (remove the row and add another to change it);
            # showing it as text, from the inline's select_related, saves a query per row.
            for name in ("account", "contact"):
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].widget = FixedLabel(getattr(self.instance, name))

    def clean(self):
        data = super().clean()
        # A contact holds roles only on its own customer's accounts (the service says so too; saying it
        # here puts the reason beside the row). Rows left as they were, or removed, are not judged.
        if self.has_changed() and not data.get("DELETE"):
            account, contact = self._end(data, "account"), self._end(data, "contact")
            if account is not None and contact is not None:
                error = services.same_customer_error(contact, account)
                if error:
                    raise forms.ValidationError(error)
        return data

    def _end(self, data, name):
        """The account or contact of this row: chosen in it, or the page's own object (the inline's parent)."""
        if data.get(name) is not None:
            return data[name]
        try:
            return getattr(self.instance, name)
        except ObjectDoesNotExist:
            return None


class FixedLabel(forms.Widget):
    """Shows an object as text (a disabled field's value), without querying for it."""

    def __init__(self, obj):
        super().__init__()
        self.obj = obj

    def render(self, name, value, attrs=None, renderer=None):
        return format_html("<span>{}</span>", self.obj)


def save_contact_links(request, formset):
    """Apply an AccountContact inline through the services: set roles, or take the contact off the account."""
    actor = actor_for(request.user)
    deleted = {id(form) for form in formset.deleted_forms}
    with refusal():
        for form in formset.deleted_forms:
            if form.instance.pk:
                link = AccountContact.objects.select_related("account", "contact").get(pk=form.instance.pk)
                services.contact_remove_from_account(contact=link.contact, account=link.account, actor=actor)
        for form in formset.forms:
            if id(form) in deleted or not form.has_changed() or not form.cleaned_data:
                continue
            data = form.cleaned_data
            account = data.get("account") or formset.instance
            contact = data.get("contact") or formset.instance
            if form.instance.pk:
                old = AccountContact.objects.select_related("account", "contact").get(pk=form.instance.pk)
                if (old.account_id, old.contact_id) != (account.pk, contact.pk):
                    services.contact_remove_from_account(contact=old.contact, account=old.account, actor=actor)
            services.contact_set_roles(contact=contact, account=account, roles=data.get("roles") or [], actor=actor)


class AccountContactInline(TenantScoped, admin.TabularInline):
    """Contacts of an account (on the account page) or accounts of a contact (on the contact page).

    Only places on accounts the user may see: a contact's places on hidden accounts are neither shown nor
    changed, and an account or contact outside the view cannot be chosen (refused like a missing one).
    """

    model = AccountContact
    form = AccountContactForm
    extra = 0
    autocomplete_fields = ("account", "contact")

    def get_queryset(self, request):
        links = visible_links(request.user, super().get_queryset(request))
        return links.select_related("account", "contact").prefetch_related("roles")


class ContactLinkInline(AccountContactInline):
    """On the contact page: the accounts the contact is on."""

    fields = ("account", "roles")
    verbose_name = "account and roles"
    verbose_name_plural = "accounts and roles"


class AccountLinkInline(AccountContactInline):
    """On the account page: its contacts."""

    fields = ("contact", "roles")
    verbose_name = "contact and roles"
    verbose_name_plural = "contacts and roles"


# --- the contact ---------------------------------------------------------------------------------------------------


class AddressInline(TenantScoped, admin.TabularInline):
    model = Address
    extra = 0
    fields = ("street", "city", "state", "zipcode", "country", "primary")


class EmailAddressInline(TenantScoped, admin.TabularInline):
    model = EmailAddress
    extra = 0
    fields = ("address", "primary")


class PhoneNumberInline(TenantScoped, admin.TabularInline):
    model = PhoneNumber
    extra = 0
    fields = ("number", "country", "mask", "sms_verify", "primary")


# Which contact_update argument each child inline feeds.
CHILDREN = {
    Address: ("addresses", services.ADDRESS_FIELDS),
    EmailAddress: ("email_addresses", services.EMAIL_FIELDS),
    PhoneNumber: ("phone_numbers", services.PHONE_FIELDS),
}


class RoleListFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() not in Role.values:
            return queryset
        # Roles held on accounts the user may see only.
        roles = AccountContactRole.objects.filter(
            link__contact=OuterRef("pk"), role=self.value(), link__in=visible_links(request.user)
        )
        return queryset.filter(Exists(roles))


@admin.register(Contact)
class ContactAdmin(ServiceAdmin):
    """Contacts; every save is contact_create / contact_update / contact_set_roles / contact_remove_from_account.

    A tenant-scoped user (without the global view) sees the contacts on accounts they may see, as the staff pages
    and the API do, and only their places on those accounts. Adding and deleting contacts need the global view
    (a taken RPN would reveal a hidden contact; deleting takes a contact off accounts out of view too).
    """

    list_display = ("contact_number", "first_name", "last_name", "username", "customer", "last_updated_date")
    list_select_related = ("customer",)
    list_filter = (RoleListFilter, "do_not_call", "do_not_email", "do_not_mail")
    search_fields = (
        "contact_number",
        "first_name",
        "last_name",
        "username",
        "customer__rcn",
        "customer__name",
        "email_addresses__address",
    )
    search_help_text = "RPN, name, username, RCN, customer name, email address or phone number (digits)."
    autocomplete_fields = ("customer",)
    inlines = (AddressInline, EmailAddressInline, PhoneNumberInline, ContactLinkInline)
    fieldsets = (
        (None, {"fields": ("contact_number", "customer", ("title", "first_name", "last_name", "suffix"), "username")}),
        (
            "Notification preferences",
            {"fields": (("do_not_fax", "do_not_call", "do_not_email", "do_not_mail", "do_not_survey"),)},
        ),
        ("Changed", {"fields": ("last_updated_by", "last_updated_date")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # RPN and customer are the contact's identity; no service moves a contact to another customer.
        fixed = ("contact_number", "customer") if obj is not None else ()
        return (*fixed, "last_updated_by", "last_updated_date")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        digits = phone_digits(search_term)
        # A term that is mostly digits may be a phone number typed in any format.
        if len(digits) >= 4 and len(digits) * 2 >= len(search_term.strip()):
            # Stored numbers may lack the country code the term has (+1 210... vs 210...): match its tails too.
            tails = [digits[i:] for i in range(1, len(digits) - 6)]
            phones = PhoneNumber.objects.filter(
                Q(digits__contains=digits) | Q(digits__in=tails), contact=OuterRef("pk")
            )
            results |= queryset.filter(Exists(phones))
        return results, may_have_duplicates

    def save_model(self, request, obj, form, change):
        actor = self.actor(request)
        data = form.cleaned_data
        with refusal():
            if not change:
                fields = {name: data[name] for name in services.CONTACT_FIELDS if name in data}
                created = services.contact_create(
                    actor=actor, contact_number=data["contact_number"], customer=data["customer"], **fields
                )
                adopt(obj, created)
                return
            changed = {name: data[name] for name in services.CONTACT_FIELDS if name in form.changed_data}
            if changed:
                services.contact_update(contact=obj, actor=actor, **changed)
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        formset_applied(formset)
        if formset.model is AccountContact:
            save_contact_links(request, formset)
            return
        argument, fields = CHILDREN[formset.model]
        if not formset.has_changed():
            return
        deleted = {id(f) for f in formset.deleted_forms}
        rows = [
            {name: child.cleaned_data.get(name) for name in fields}
            for child in formset.forms
            if id(child) not in deleted and child.cleaned_data and (child.instance.pk or child.has_changed())
        ]
        with refusal():
            services.contact_update(contact=formset.instance, actor=self.actor(request), **{argument: rows})

    def delete_model(self, request, obj):
        with refusal():
            services.contact_delete(contact=obj, actor=self.actor(request))

    def get_queryset(self, request):
        return visible_contacts(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and can_view_all(request.user)

    def has_delete_permission(self, request, obj=None):
        # Deleting takes the contact off every account, in view or not; refusing only contacts with places out of
        # view would tell which have them.
        return super().has_delete_permission(request, obj) and can_view_all(request.user)
