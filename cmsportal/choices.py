"""Choices of the staff pages' own records: the kinds of recently viewed records, the lists with saved filters."""

from django.db import models

__all__ = ["RecentKind", "ListName"]


class RecentKind(models.TextChoices):
    """What a recently viewed record is (RecentView.kind)."""

    CUSTOMER = "customer"
    ACCOUNT = "account"
    CONTACT = "contact"


class ListName(models.TextChoices):
    """The browse lists whose filters can be saved, by the URL name of each list."""

    ACCOUNTS = "accounts:account_list", "Accounts"
    CUSTOMERS = "accounts:customer_list", "Customers"
    CONTACTS = "contacts:contact_list", "Contacts"
