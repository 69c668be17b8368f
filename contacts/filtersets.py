"""FilterSet of contacts, used by both the staff list page and the API (contacts of an account).

Every filter is computed over what the request's user may see: a contact's roles on accounts outside the
user's view, and a customer outside it, never make a contact match.
"""

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q

from cmsportal.identity.access import visible_customers, visible_links

from . import phones
from .choices import Role
from .models import AccountContact, AccountContactRole, Contact, EmailAddress, PhoneNumber, phone_digits

__all__ = ["ContactFilterSet"]


class ContactFilterSet(django_filters.FilterSet):
    """`account`, when given, is the account whose roles `role` refers to (the API's contacts of an account)."""

    role = django_filters.CharFilter(method="filter_role", label="Role")
    username = django_filters.CharFilter(field_name="username", label="Username")
    emailAddress = django_filters.CharFilter(method="filter_email", label="Email address")
    phone = django_filters.CharFilter(method="filter_phone", label="Phone")
    rcn = django_filters.CharFilter(method="filter_rcn", label="RCN")
    q = django_filters.CharFilter(method="filter_q", label="Name or RPN contains")

    class Meta:
        model = Contact
        fields = []

    def __init__(self, *args, account=None, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)

    def _user(self):
        return getattr(self.request, "user", None)

    def filter_role(self, qs, name, value):
        role = value.strip().upper()
        if role not in Role.values:
            raise ValidationError({"role": f"Unknown role {value!r}; expected one of {Role.values}."})
        if self.account is not None:
            links = AccountContact.objects.filter(account=self.account)
        else:
            links = visible_links(self._user())
        roles = AccountContactRole.objects.filter(link__contact=OuterRef("pk"), role=role, link__in=links)
        return qs.filter(Exists(roles))

    def filter_rcn(self, qs, name, value):
        return qs.filter(customer__in=visible_customers(self._user()).filter(rcn=value.strip()))

    def filter_email(self, qs, name, value):
        emails = EmailAddress.objects.filter(contact=OuterRef("pk"), address_lower=value.strip().lower())
        return qs.filter(Exists(emails))

    def filter_phone(self, qs, name, value):
        digits = phone_digits(value)
        if not digits:
            return qs
        # However the number is typed: its digits, or its search key (country code or not).
        same = Q(digits=digits) | Q(normalized=phones.search_key(value))
        return qs.filter(Exists(PhoneNumber.objects.filter(same, contact=OuterRef("pk"))))

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(contact_number__icontains=value) | Q(first_name__icontains=value) | Q(last_name__icontains=value)
        )
