"""What the staff pages remember for each user: the records they opened lately (shown on the home page)."""

from django.conf import settings
from django.db import models


class RecentView(models.Model):
    """One record (customer, account or contact) a user opened on its detail page, and when they last did.

    Navigation state of the staff pages, not customer data: it has no history trail. At most
    `cmsportal.pages.RECENT_PER_KIND` rows are kept per user and kind (older ones are deleted as new
    ones come). `object_id` is the record's primary key; a record deleted since, or one the user can
    no longer see, is left out when the list is shown (pages.recently_viewed), never by a foreign key.
    """

    class Kind(models.TextChoices):
        CUSTOMER = "customer"
        ACCOUNT = "account"
        CONTACT = "contact"

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
