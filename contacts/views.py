"""Staff pages of contacts: the browse list (with CSV) and the contact's page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, Q
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_safe

from cmsportal import pages
from cmsportal.changes.choices import ObjectType
from cmsportal.changes.models import of_object
from cmsportal.changes.pages import changes_section
from cmsportal.identity.access import actor_for, visible_accounts

from . import services
from .choices import Role
from .filtersets import ContactFilterSet
from .forms import ADDRESSES, EMAILS, PHONES, ContactEditForm
from .models import AccountContact, AccountContactRole
from .representations import CONTACT

__all__ = ["ROLE_ACCOUNTS_SHOWN", "CONTACT_SORTS", "contact_list", "contact_export", "contact_detail", "contact_edit"]

# Accounts offered for roles on the edit page; a contact of a larger customer keeps its roles on the rest as they are.
ROLE_ACCOUNTS_SHOWN = 100

CONTACT_SORTS = {
    "rpn": pages.SortKey("RPN", ("contact_number",)),
    "name": pages.SortKey(
        "Name", ("last_name", "first_name", "contact_number"), frozenset({"last_name", "first_name"})
    ),
    "username": pages.SortKey("Username", ("username", "contact_number"), frozenset({"username"})),
}


def _contact_filter(request):
    from django import forms

    queryset = (
        pages.visible_contacts(request.user)
        .select_related("customer")
        .prefetch_related("email_addresses", "phone_numbers")
    )
    filterset = ContactFilterSet(request.GET, queryset=queryset, request=request)
    filterset.form.fields["role"].widget = forms.Select(choices=[("", "Any role")] + Role.choices)
    filterset.form.label_suffix = ""
    return filterset


@login_required
@require_safe
def contact_list(request):
    return pages.list_page(
        request,
        filterset=_contact_filter(request),
        sort_keys=CONTACT_SORTS,
        template="contacts/contact_list.html",
        list_name="contacts:contact_list",
    )


@login_required
@require_safe
def contact_export(request):
    return pages.list_export(
        request,
        filterset=_contact_filter(request),
        sort_keys=CONTACT_SORTS,
        filename="contacts.csv",
        header=CONTACT.csv_header,
        row_values=CONTACT.csv_row,
    )


@login_required
@require_safe
def contact_detail(request, contact_number):
    contact = pages.get_visible_or_404(
        pages.visible_contacts(request.user).select_related("customer"), contact_number=contact_number.upper()
    )
    pages.record_view(request.user, contact)
    links = list(
        AccountContact.objects.filter(contact=contact, account__in=visible_accounts(request.user))
        .select_related("account")
        .prefetch_related(Prefetch("roles", queryset=AccountContactRole.objects.order_by("id")))
        .order_by("account__type", "account__account_id")[:100]
    )
    return render(
        request,
        "contacts/contact_detail.html",
        {
            "contact": contact,
            "links": links,
            "addresses": list(contact.addresses.all()),
            "emails": list(contact.email_addresses.all()),
            "phones": list(contact.phone_numbers.all()),
            "changes": changes_section(
                request.user,
                query={"objectType": ObjectType.CONTACT, "key": contact.contact_number},
                where=of_object(contact.contact_number, ObjectType.CONTACT),
            ),
            "can_change": request.user.has_perm("contacts.change_contact"),
            "prefs": [
                ("Calls", contact.do_not_call),
                ("Email", contact.do_not_email),
                ("Mail", contact.do_not_mail),
                ("Fax", contact.do_not_fax),
                ("Surveys", contact.do_not_survey),
            ],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request, contact_number):
    """Edit everything about a contact on one page, confirmed with the list of what changes."""
    contact = pages.get_visible_or_404(
        pages.visible_contacts(request.user).select_related("customer"), contact_number=contact_number.upper()
    )
    if not request.user.has_perm("contacts.change_contact"):
        raise PermissionDenied
    # The customer's accounts the person can see, and any account the contact is on, so no role is out of reach.
    on_accounts = AccountContact.objects.filter(contact=contact).values("account_id")
    accounts = list(
        visible_accounts(request.user)
        .filter(Q(customer_id=contact.customer_id) | Q(pk__in=on_accounts))
        .order_by("type", "account_id")[: ROLE_ACCOUNTS_SHOWN + 1]
    )
    roles = {}
    for account_id, role in AccountContactRole.objects.filter(
        link__contact=contact, link__account__in=[a.pk for a in accounts[:ROLE_ACCOUNTS_SHOWN]]
    ).values_list("link__account_id", "role"):
        roles.setdefault(account_id, []).append(role)
    form = ContactEditForm(
        request.POST or None,
        contact=contact,
        accounts=accounts[:ROLE_ACCOUNTS_SHOWN],
        roles=roles,
        emails=contact.email_addresses.order_by("id"),
        phones=contact.phone_numbers.order_by("id"),
        addresses=contact.addresses.order_by("id"),
    )
    form.more_accounts = len(accounts) > ROLE_ACCOUNTS_SHOWN
    actor = actor_for(request.user)

    def perform(data):
        parts = form.changed_parts(data)
        groups = {group.prefix: group for group in (EMAILS, PHONES, ADDRESSES)}
        rows = {
            prefix: [{name: None if value == "" else value for name, value in row.items()} for row in parts[prefix]]
            for prefix in groups
            if prefix in parts
        }
        fields = {
            name: None if value == "" else value
            for name, value in parts.items()
            if name not in groups and name != "roles"
        }
        with transaction.atomic():
            services.contact_update(
                contact=contact,
                actor=actor,
                email_addresses=rows.get(EMAILS.prefix),
                phone_numbers=rows.get(PHONES.prefix),
                addresses=rows.get(ADDRESSES.prefix),
                **fields,
            )
            by_pk = {account.pk: account for account in form.accounts}
            for pk, new in parts.get("roles", {}).items():
                if new:
                    services.contact_set_roles(contact=contact, account=by_pk[pk], roles=new, actor=actor)
                else:
                    services.contact_remove_from_account(contact=contact, account=by_pk[pk], actor=actor)
        return f"{contact.contact_number} was updated.", contact.get_absolute_url()

    return pages.run_action(
        request,
        form=form,
        title=f"Edit {contact.full_name or contact.contact_number}",
        subject=contact,
        cancel_url=contact.get_absolute_url(),
        describe=form.changes,
        perform=perform,
        template="contacts/contact_edit.html",
    )
