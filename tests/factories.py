"""factory-boy factories for every model. Factories write rows directly (fixtures, not behaviour);
tests of behaviour go through the services."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from accounts.choices import AccessPolicy, AccountStatus, AccountType, CollectionsStatus
from accounts.models import Account, AccountHistory, Customer, RCNChange, StatusChange
from cmsportal import dates
from cmsportal.identity.models import TenantGrant
from contacts.models import AccountContact, AccountContactRole, Address, Contact, EmailAddress, PhoneNumber
from metadata.models import Metadata, Namespace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def view_all(self, create, extracted, **kwargs):
        """UserFactory(view_all=True) grants the global view permission."""
        if create and extracted:
            self.user_permissions.add(Permission.objects.get(codename="view_all_accounts"))
        if create:
            self.save()


class StaffFactory(UserFactory):
    """Staff: is_staff and the global view permission (pass view_all=False to leave it out)."""

    is_staff = True

    @factory.post_generation
    def view_all(self, create, extracted, **kwargs):
        if create and extracted is not False:
            self.user_permissions.add(Permission.objects.get(codename="view_all_accounts"))
        if create:
            self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("rcn",)

    rcn = factory.Sequence(lambda n: f"RCN-{n // 1000000 % 1000:03d}-{n // 1000 % 1000:03d}-{n % 1000:03d}")
    name = factory.Faker("company")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    customer = factory.SubFactory(CustomerFactory)
    type = AccountType.CLOUD
    account_id = factory.Sequence(lambda n: str(100000 + n))
    number = factory.LazyAttribute(lambda a: int(a.account_id) if a.account_id.isdigit() else None)
    name = factory.Faker("company")
    status = AccountStatus.ACTIVE
    tenant_id = factory.LazyAttribute(lambda a: a.account_id)
    domain = factory.LazyAttribute(lambda a: a.account_id)
    service_level = "managed"
    collections_status = CollectionsStatus.CURRENT
    access_policy = AccessPolicy.FULL
    last_updated_by = "factory"
    last_updated_date = factory.LazyFunction(dates.now)


class StatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusChange

    account = factory.SubFactory(AccountFactory)
    date = factory.LazyFunction(dates.now)
    status = AccountStatus.ACTIVE
    username = "factory"
    usertype = "SYSTEM"


class AccountHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountHistory

    account = factory.SubFactory(AccountFactory)
    change_type = "NEW"
    rcn = factory.LazyAttribute(lambda h: h.account.customer.rcn)
    updated_date = factory.LazyFunction(dates.now)
    account_status = AccountStatus.ACTIVE
    updated_by_username = "factory"
    updated_by_type = "SYSTEM"


class RCNChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RCNChange

    account = factory.SubFactory(AccountFactory)
    change_type = "NEW"
    username = "factory"
    rcn = factory.LazyAttribute(lambda h: h.account.customer.rcn)
    date = factory.LazyFunction(dates.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    contact_number = factory.Sequence(lambda n: f"RPN-{n // 1000000 % 1000:03d}-{n // 1000 % 1000:03d}-{n % 1000:03d}")
    customer = factory.SubFactory(CustomerFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    username = factory.Sequence(lambda n: f"contact{n}")
    last_updated_by = "factory"
    last_updated_date = factory.LazyFunction(dates.now)


class AccountContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountContact
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    contact = factory.SubFactory(ContactFactory, customer=factory.SelfAttribute("..account.customer"))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Fixtures keep the rule the services enforce: a contact holds roles only on its own customer's
        # accounts. A test about data that breaks it writes that row itself, and says why.
        account, contact = kwargs["account"], kwargs["contact"]
        if contact.customer_id is None or contact.customer_id != account.customer_id:
            raise ValueError(
                f"{contact.contact_number} is not a contact of {account.key}'s customer: "
                "a contact holds roles only on its own customer's accounts"
            )
        return super()._create(model_class, *args, **kwargs)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            for role in extracted if extracted is not None else ["TECHNICAL"]:
                AccountContactRole.objects.create(link=self, role=role)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    contact = factory.SubFactory(ContactFactory)
    street = factory.Faker("street_address")
    city = factory.Faker("city")
    state = factory.Faker("state")
    zipcode = factory.Faker("postcode")
    country = "US"
    primary = True


class EmailAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailAddress

    contact = factory.SubFactory(ContactFactory)
    address = factory.Sequence(lambda n: f"person{n}@example.com")
    primary = True


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    contact = factory.SubFactory(ContactFactory)
    number = factory.Sequence(lambda n: f"(210) 555-{n % 10000:04d}")
    country = "US"
    mask = "(###)-###-####"


class NamespaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Namespace
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"ns{n}")
    access = "OPEN"


class MetadataFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Metadata

    account = factory.SubFactory(AccountFactory)
    key = factory.Sequence(lambda n: f"support:key{n}")
    value = factory.Faker("word")
    created_by = "factory"
    created_date = factory.LazyFunction(dates.now)
    last_updated_by = "factory"
    last_updated_date = factory.LazyFunction(dates.now)


class TenantGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantGrant

    user = factory.SubFactory(UserFactory)
    tenant_id = factory.Sequence(lambda n: f"tenant{n}")
