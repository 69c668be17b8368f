"""Staff pages of metadata: add, edit and delete entries of an account, under the namespace policy."""

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from accounts.views import account_or_404
from cmsportal import pages
from cmsportal.identity.access import actor_for
from cmsportal.versions import StaleVersion

from . import services
from .forms import MetadataDeleteForm, MetadataForm
from .models import Metadata, namespace_of
from .services import readable_metadata

__all__ = ["metadata_add", "metadata_edit", "metadata_delete"]


def _require(request, permission):
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _readable_entry(request, account, key):
    """The entry `key` of `account` if it exists and its namespace is readable by the user, else 404."""
    if not key or not services.can_read_namespace(request.user, namespace_of(key)):
        raise Http404("No such metadata")
    entry = Metadata.objects.filter(account=account, key=key).first()
    if entry is None:
        raise Http404("No such metadata")
    return entry


def _current_value(account, key) -> str:
    entry = Metadata.objects.filter(account=account, key=key).first()
    return f"Its value is now {entry.value!r}." if entry else f"{key} no longer exists."


@login_required
@require_http_methods(["GET", "POST"])
def metadata_add(request, type, account_id):
    account = account_or_404(request, type, account_id)
    _require(request, "metadata.add_metadata")
    form = MetadataForm(request.POST or None)

    def perform(data):
        exists = ValidationError({"key": f"{account.key} already has {data['key']}; edit it instead."})
        if Metadata.objects.filter(account=account, key=data["key"]).exists():
            raise exists
        try:
            # "": only if there is no such entry yet, checked again under the service's lock.
            services.metadata_set(
                account=account,
                key=data["key"],
                value=data["value"],
                actor=actor_for(request.user),
                user=request.user,
                expected_version="",
            )
        except StaleVersion:
            raise exists from None
        return f"Metadata {data['key']} added to {account.key}.", account.get_absolute_url() + "#metadata"

    def check(data):
        if readable_metadata(account, request.user).filter(key=data["key"]).exists():
            edit = reverse("metadata:metadata_edit", args=[account.type, account.account_id])
            raise ValidationError(
                {
                    "key": format_html(
                        '{} already has {}: <a href="{}?key={}" data-testid="edit-instead">edit it instead</a>.',
                        account.key,
                        data["key"],
                        edit,
                        quote(data["key"], safe=""),
                    )
                }
            )

    return pages.run_action(
        request,
        form=form,
        title=f"Add metadata: {account.key}",
        subject=account,
        cancel_url=account.get_absolute_url(),
        describe=lambda data: [f"Add {data['key']} = {data['value']!r}"],
        perform=perform,
        check=check,
    )


@login_required
@require_http_methods(["GET", "POST"])
def metadata_edit(request, type, account_id):
    account = account_or_404(request, type, account_id)
    _require(request, "metadata.change_metadata")
    key = request.POST.get("key") if request.method == "POST" else request.GET.get("key")
    entry = _readable_entry(request, account, key)
    version = services.metadata_version(entry).tag
    form = MetadataForm(
        request.POST or None, initial={"key": entry.key, "value": entry.value, "version": version}, key_fixed=True
    )

    def perform(data):
        services.metadata_set(
            account=account,
            key=entry.key,
            value=data["value"],
            actor=actor_for(request.user),
            user=request.user,
            expected_version=data["version"] or None,
        )
        return f"Metadata {entry.key} of {account.key} changed.", account.get_absolute_url() + "#metadata"

    return pages.run_action(
        request,
        form=form,
        title=f"Edit metadata: {account.key}",
        subject=account,
        cancel_url=account.get_absolute_url(),
        describe=lambda data: [f"{entry.key}: {entry.value!r} → {data['value']!r}"],
        perform=perform,
        current=lambda: _current_value(account, entry.key),
        record=entry.key,
    )


@login_required
@require_http_methods(["GET", "POST"])
def metadata_delete(request, type, account_id):
    account = account_or_404(request, type, account_id)
    _require(request, "metadata.delete_metadata")
    key = request.POST.get("key") if request.method == "POST" else request.GET.get("key")
    entry = _readable_entry(request, account, key)
    form = MetadataDeleteForm(
        request.POST or None, initial={"key": entry.key, "version": services.metadata_version(entry).tag}
    )

    def perform(data):
        services.metadata_delete(
            account=account,
            key=entry.key,
            actor=actor_for(request.user),
            user=request.user,
            expected_version=data["version"] or None,
        )
        return f"Metadata {entry.key} deleted from {account.key}.", account.get_absolute_url() + "#metadata"

    return pages.run_action(
        request,
        form=form,
        title=f"Delete metadata: {account.key}",
        subject=account,
        cancel_url=account.get_absolute_url(),
        describe=lambda data: [f"Delete {entry.key} (value {entry.value!r})"],
        perform=perform,
        current=lambda: _current_value(account, entry.key),
        record=entry.key,
        danger=True,
    )
