"""`manage.py demo_user`: the demo's sign-ins (created or brought up to date), printed every time."""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q

from accounts.models import Account
from cmsportal import demo
from cmsportal.changes.commands import recorded_as_command
from cmsportal.identity import services as identity
from metadata.choices import Access
from metadata.models import Namespace

__all__ = [
    "STAFF_USERNAME",
    "CUSTOMER_USERNAME",
    "DEFAULT_PASSWORD",
    "URL",
    "APPS",
    "demo_password",
    "restricted_groups",
    "demo_tenants",
    "Command",
]

STAFF_USERNAME = "demo"
CUSTOMER_USERNAME = "customer"
DEFAULT_PASSWORD = "demo-password-change-me"  # noqa: S105 (a documented demo default, overridable by env)
URL = "http://127.0.0.1:8000/"  # where `make run` serves unless HOST and PORT say otherwise (it passes --url)
# The staff user may add, change, delete and view every model of these apps.
APPS = ("accounts", "contacts", "metadata", "identity")


def demo_password() -> str:
    return os.environ.get("CMS_DEMO_PASSWORD") or DEFAULT_PASSWORD


def _user(username: str, password: str, **fields):
    User = get_user_model()
    user = User._default_manager.filter(username=username).first() or User(username=username)
    for name, value in fields.items():
        setattr(user, name, value)
    # Reset every run so that the password printed below is always the one that works.
    return identity.user_password_set(user=user, password=password)


def restricted_groups() -> list[Group]:
    """Reader and writer groups of every restricted namespace (and those the demo names)."""
    for name in demo.GROUPS:
        identity.group_ensure(name=name)
    restricted = Namespace.objects.exclude(access=Access.OPEN)
    return list(
        Group.objects.filter(
            Q(name__in=demo.GROUPS) | Q(readable_namespaces__in=restricted) | Q(writable_namespaces__in=restricted)
        ).distinct()
    )


def demo_tenants() -> list[str]:
    """One or two tenants of one demo customer: the first customer (by RCN) with two accounts, else any."""
    tenants = (
        Account.objects.filter(tenant_id__isnull=False)
        .order_by("customer__rcn", "type", "account_id")
        .values_list("customer_id", "tenant_id")
    )[:50]
    by_customer: dict[int, list[str]] = {}
    for customer_id, tenant_id in tenants:
        by_customer.setdefault(customer_id, []).append(tenant_id)
    for found in by_customer.values():
        if len(found) >= 2:
            return found[:2]
    return next(iter(by_customer.values()), [])[:2]


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo sign-ins 'demo' (staff) and 'customer' (tenant-scoped)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=URL, help=f"the address to sign in at, as printed (default {URL})")

    @transaction.atomic
    @recorded_as_command
    def handle(self, *args, url=URL, **options):
        url = url if url.endswith("/") else url + "/"
        password = demo_password()
        staff = _user(STAFF_USERNAME, password, is_staff=True, is_superuser=False, is_active=True)
        permissions = Permission.objects.filter(
            Q(content_type__app_label__in=APPS, codename__regex=r"^(add|change|delete|view)_")
            | Q(content_type__app_label="identity", codename="view_all_accounts")
        )
        identity.user_grant(user=staff, groups=restricted_groups(), permissions=permissions)

        customer = _user(CUSTOMER_USERNAME, password, is_staff=False, is_superuser=False, is_active=True)
        tenants = demo_tenants()
        for tenant_id in tenants:
            identity.tenant_grant_ensure(user=customer, tenant_id=tenant_id)

        self.stdout.write(self.style.SUCCESS(f"Sign in at {url}"))
        self.stdout.write(
            f"  staff:    username {STAFF_USERNAME}  password {password}  (sees every account; admin at {url}admin/)"
        )
        scope = ", ".join(tenants) if tenants else "no tenants yet (load data, then run demo_user again)"
        self.stdout.write(f"  customer: username {CUSTOMER_USERNAME}  password {password}  (sees tenants {scope})")
        if password == DEFAULT_PASSWORD:
            self.stdout.write("  Set CMS_DEMO_PASSWORD to choose another password.")
