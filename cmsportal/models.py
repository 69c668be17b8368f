"""What the staff pages keep per person: named saved filters of the browse lists."""

from django.conf import settings
from django.db import models

__all__ = ["ListName", "SavedFilter"]


class ListName(models.TextChoices):
    """The browse lists whose filters can be saved, by the URL name of each list."""

    ACCOUNTS = "accounts:account_list", "Accounts"
    CUSTOMERS = "accounts:customer_list", "Customers"
    CONTACTS = "contacts:contact_list", "Contacts"


class SavedFilter(models.Model):
    """A person's named set of filters (and sort) of one list, kept as the list's query string.

    The query string is re-applied to the list as the person sees it at the time, through the same
    FilterSet and the same tenant scope: a saved filter never widens what anyone sees.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    list_name = models.CharField(max_length=64, choices=ListName.choices)
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "list_name", "name"], name="savedfilter_user_list_name_uniq")
        ]

    def __str__(self):
        return f"{self.name} ({self.get_list_name_display()})"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse(self.list_name) + (f"?{self.query}" if self.query else "")
