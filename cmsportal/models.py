"""What the staff pages keep for each person: the records they opened lately (shown on the home page) and
named saved filters of the browse lists. Navigation state, not customer data: neither has a history trail."""

from django.conf import settings
from django.db import models

from .choices import ListName, RecentKind

__all__ = ["ListName", "RecentView", "SavedFilter"]


class RecentView(models.Model):
    """One record (customer, account or contact) a user opened on its detail page, and when they last did.

    At most `cmsportal.services.RECENT_PER_KIND` rows are kept per user and kind (older ones are deleted as
    new ones come). `object_id` is the record's primary key; a record deleted since, or one the user can
    no longer see, is left out when the list is shown (pages.recently_viewed), never by a foreign key.
    """

    Kind = RecentKind

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    viewed = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "object_id"], name="recentview_uniq"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["customer", "account", "contact"]), name="recentview_kind"
            ),
        ]

    def __str__(self):
        return f"{self.user_id} viewed {self.kind} {self.object_id} at {self.viewed:%Y-%m-%d %H:%M:%S}"


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
