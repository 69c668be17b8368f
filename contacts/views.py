"""Staff pages of contacts: the browse list (with CSV) and the contact's page."""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.views.decorators.http import require_safe

from cmsportal import pages
from cmsportal.identity.access import visible_accounts

from .filtersets import ContactFilterSet
from .models import AccountContact, AccountContactRole, Role

CONTACT_SORTS = {
    "rpn": pages.SortKey("RPN", ("contact_number",)),
    "name": pages.SortKey(
        "Name", ("last_name", "first_name", "contact_number"), frozenset({"last_name", "first_name"})
    ),
    "username": pages.SortKey("Username", ("username", "contact_number"), frozenset({"username"})),
}
CONTACT_CSV_HEADER = ["contactNumber", "rcn", "firstName", "lastName", "username", "emailAddresses", "phoneNumbers"]


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
        request, filterset=_contact_filter(request), sort_keys=CONTACT_SORTS, template="contacts/contact_list.html"
    )


@login_required
@require_safe
def contact_export(request):
    return pages.list_export(
        request,
        filterset=_contact_filter(request),
        sort_keys=CONTACT_SORTS,
        filename="contacts.csv",
        header=CONTACT_CSV_HEADER,
        row_values=lambda c: [
            c.contact_number,
            c.customer.rcn if c.customer else None,
            c.first_name,
            c.last_name,
            c.username,
            " ".join(e.address for e in c.email_addresses.all()),
            " ".join(p.number for p in c.phone_numbers.all()),
        ],
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
            "prefs": [
                ("Calls", contact.do_not_call),
                ("Email", contact.do_not_email),
                ("Mail", contact.do_not_mail),
                ("Fax", contact.do_not_fax),
                ("Surveys", contact.do_not_survey),
            ],
        },
    )
