"""Contacts (RPN): people of a customer, with addresses, emails, phones and roles per account."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower, Replace
from django.urls import reverse

from accounts.models import Account, Customer

from . import phones
from .choices import Role

__all__ = [
    "RPN_RE",
    "rpn_validator",
    "PHONE_SEPARATORS",
    "phone_digits_expression",
    "phone_digits",
    "Contact",
    "AccountContact",
    "AccountContactRole",
    "Address",
    "EmailAddress",
    "PhoneNumberQuerySet",
    "PhoneNumber",
]

RPN_RE = r"^RPN-\d{3}-\d{3}-\d{3}$"
rpn_validator = RegexValidator(RPN_RE, "An RPN looks like RPN-123-456-789.")

# Characters people put between the digits of a phone number; stripped for matching.
PHONE_SEPARATORS = (" ", "-", "(", ")", "+", ".", "/")


def phone_digits_expression(field: str = "number"):
    """SQL expression of a phone number without separators (portable: no regexp on SQLite)."""
    expression = models.F(field)
    for separator in PHONE_SEPARATORS:
        expression = Replace(expression, models.Value(separator), models.Value(""))
    return expression


def phone_digits(text: str) -> str:
    """Python twin of phone_digits_expression, for the text people type."""
    return "".join(ch for ch in text if ch.isdigit())


class Contact(models.Model):
    """A person of one customer, on one or more of its accounts with roles on each."""

    contact_number = models.CharField("RPN", max_length=15, unique=True, validators=[rpn_validator])
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="contacts", null=True, blank=True)
    first_name = models.CharField(max_length=150, null=True, blank=True)
    last_name = models.CharField(max_length=150, null=True, blank=True)
    title = models.CharField(max_length=64, null=True, blank=True)
    suffix = models.CharField(max_length=32, null=True, blank=True)
    username = models.CharField(max_length=150, null=True, blank=True)
    do_not_fax = models.BooleanField(default=False)
    do_not_call = models.BooleanField(default=False)
    do_not_email = models.BooleanField(default=False)
    do_not_mail = models.BooleanField(default=False)
    do_not_survey = models.BooleanField(default=False)
    last_updated_by = models.CharField(max_length=150, null=True, blank=True)
    last_updated_date = models.DateTimeField(null=True, blank=True)
    accounts = models.ManyToManyField(Account, through="AccountContact", related_name="contacts")

    class Meta:
        ordering = ["contact_number"]
        indexes = [
            models.Index(fields=["username"], name="contact_username_idx"),
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
        ]

    def __str__(self):
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return f"{self.contact_number} {name}".strip()

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.title, self.first_name, self.last_name, self.suffix) if part)

    def get_absolute_url(self):
        return reverse("contacts:contact_detail", args=[self.contact_number])


class AccountContact(models.Model):
    """A contact's place on one account; the roles held there are AccountContactRole rows."""

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="contact_links",
        db_index=False,  # accountcontact_uniq
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="account_links",
        db_index=False,  # accountcontact_contact_idx
    )

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["account", "contact"], name="accountcontact_uniq")]
        indexes = [models.Index(fields=["contact", "account"], name="accountcontact_contact_idx")]

    def __str__(self):
        return f"{self.contact.contact_number} on {self.account.key}"


class AccountContactRole(models.Model):
    """One role a contact holds on one account."""

    link = models.ForeignKey(
        AccountContact,
        on_delete=models.CASCADE,
        related_name="roles",
        db_index=False,  # accountcontactrole_uniq
    )
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        ordering = ["link", "id"]
        constraints = [
            models.UniqueConstraint(fields=["link", "role"], name="accountcontactrole_uniq"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accountcontactrole_valid"),
        ]
        indexes = [models.Index(fields=["role", "link"], name="accountcontactrole_role_idx")]

    def __str__(self):
        return self.role


class Address(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="addresses")
    street = models.CharField(max_length=255, null=True, blank=True)
    city = models.CharField(max_length=128, null=True, blank=True)
    state = models.CharField(max_length=128, null=True, blank=True)
    zipcode = models.CharField(max_length=32, null=True, blank=True)
    country = models.CharField(max_length=64, null=True, blank=True)
    primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["contact", "id"]
        verbose_name_plural = "addresses"

    def __str__(self):
        return ", ".join(p for p in (self.street, self.city, self.state, self.zipcode, self.country) if p)


class EmailAddress(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="email_addresses")
    address = models.CharField(max_length=254)
    address_lower = models.GeneratedField(
        expression=Lower("address"), output_field=models.CharField(max_length=254), db_persist=True
    )
    primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["contact", "id"]
        indexes = [models.Index(fields=["address_lower"], name="email_lower_idx")]

    def __str__(self):
        return self.address


class PhoneNumberQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.set_normalized()
        return super().bulk_create(objs, *args, **kwargs)


class PhoneNumber(models.Model):
    """A contact's phone number, kept exactly as given, with its normalised search key beside it."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phone_numbers")
    number = models.CharField(max_length=64)
    digits = models.GeneratedField(
        expression=phone_digits_expression("number"),
        output_field=models.CharField(max_length=64),
        db_persist=True,
    )
    normalized = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="Search key (contacts.phones.search_key): E.164 when the number parses, else its digits. "
        "Derived from number and country on every save, bulk_create and import.",
    )
    country = models.CharField(max_length=64, null=True, blank=True)
    mask = models.CharField(max_length=64, null=True, blank=True)
    sms_verify = models.BooleanField(default=False)
    primary = models.BooleanField(default=False)

    objects = PhoneNumberQuerySet.as_manager()

    class Meta:
        ordering = ["contact", "id"]
        indexes = [
            models.Index(fields=["digits"], name="phone_digits_idx"),
            # Pattern operators: one index for equality and for LIKE 'prefix%' whatever the collation.
            models.Index(fields=["normalized"], name="phone_normalized_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.number

    def set_normalized(self) -> None:
        self.normalized = phones.search_key(self.number, self.country)

    def save(self, *args, **kwargs):
        # A derived column, like `digits`, but computed in Python (phonenumbers), so filled here.
        self.set_normalized()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"number", "country"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "normalized"}
        super().save(*args, **kwargs)

    @property
    def display(self) -> str:
        """The number as the pages show it (international format when it parses)."""
        return phones.display(self.number, self.country)
