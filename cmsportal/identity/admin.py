"""Administration of identity: users, groups, tenant grants, tokens and API keys, each written through
cmsportal.identity.services (a user's tokens end with their password: identity.signals)."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from cmsportal.admin import ServiceAdmin, refusal
from cmsportal.identity import services
from cmsportal.identity.access import can_view_all
from cmsportal.identity.models import ApiKey, TenantGrant, Token

# Tokens and API keys. Secrets are shown once, on the page that issues them, and never stored:
# the admin sees prefixes and dates, never a hash or a key. Staff without the global view see (and revoke)
# only their own: another user's token or key would let them act with that user's view.


__all__ = [
    "OwnOnlyUnlessViewAll",
    "ApiKeyAdmin",
    "TokenAdmin",
    "TenantGrantAdmin",
    "User",
    "PasswordChangeForm",
    "ServiceUserAdmin",
    "ServiceGroupAdmin",
]


class OwnOnlyUnlessViewAll:
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if can_view_all(request.user) else queryset.filter(user=request.user)


@admin.register(ApiKey)
class ApiKeyAdmin(OwnOnlyUnlessViewAll, ServiceAdmin):
    """Issue API keys for users (the key is shown once, on the page after saving), list and revoke them."""

    list_display = ("name", "user", "prefix", "created", "last_used", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created")
    list_select_related = ("user",)
    search_fields = ("name", "prefix", "user__username")
    raw_id_fields = ("user",)
    actions = ["revoke_keys"]
    issued_template = "admin/identity/apikey/issued.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name")
        return ("user", "name", "prefix", "created", "last_used", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("user", "prefix", "created", "last_used", "revoked_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            return form
        issuer = request.user

        class IssueForm(form):
            def clean_user(self):
                user = self.cleaned_data["user"]
                if not services.can_issue_apikey(issuer, user):
                    raise ValidationError("Only a superuser may issue an API key for another member of staff.")
                return user

        return IssueForm

    def save_model(self, request, obj, form, change):
        if change:
            with refusal():
                services.apikey_rename(key=obj, name=form.cleaned_data["name"])
            return
        _, plaintext = services.apikey_issue(obj.user, obj.name, instance=obj)
        # Kept on this request only, for the page that shows it; it never reaches a session or a cookie.
        request._cms_issued_api_key = plaintext

    def response_add(self, request, obj, post_url_continue=None):
        plaintext = getattr(request, "_cms_issued_api_key", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"API key “{obj}” issued for {obj.user}. Copy it now: it will not be shown again.",
            messages.SUCCESS,
        )
        response = TemplateResponse(
            request,
            self.issued_template,
            {**self.admin_site.each_context(request), "opts": self.opts, "key": obj, "plaintext": plaintext},
        )
        response["Cache-Control"] = "no-store"
        return response

    def delete_model(self, request, obj):
        services.apikey_delete(key=obj)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.apikey_revoke(key)
            revoked += 1
        self.message_user(request, f"{revoked} API key(s) revoked.", messages.SUCCESS)


@admin.register(Token)
class TokenAdmin(OwnOnlyUnlessViewAll, ServiceAdmin):
    """Tokens issued by POST /v2.0/tokens: read-only, with a revoke action."""

    list_display = ("user", "authenticated_by", "created", "expires", "last_used", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "authenticated_by", "created", "expires", "last_used", "revoked_at")
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.token_delete(token=obj)

    def has_revoke_permission(self, request):
        return request.user.has_perm("identity.change_token")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(token)
            revoked += 1
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)


# Tenant grants: which tenants' accounts a user may see (users with the global view permission see all).


@admin.register(TenantGrant)
class TenantGrantAdmin(ServiceAdmin):
    """Grant users the accounts of a tenant; search by username or tenant id.

    Only for holders of the global view (and superusers): whoever grants tenants decides who sees what, and a
    grant names a tenant whatever one's own view.
    """

    list_display = ("user", "tenant_id")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "tenant_id")
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        # Nothing, rather than a refusal, for an object named by its key: as if it did not exist.
        queryset = super().get_queryset(request)
        return queryset if can_view_all(request.user) else queryset.none()

    def has_module_permission(self, request):
        return super().has_module_permission(request) and can_view_all(request.user)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and can_view_all(request.user)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and can_view_all(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and can_view_all(request.user)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and can_view_all(request.user)

    def save_model(self, request, obj, form, change):
        with refusal():
            services.tenant_grant_save(grant=obj)

    def delete_model(self, request, obj):
        services.tenant_grant_delete(grant=obj)


# Django's own user and group admins, with their writes through the services.

User = get_user_model()


class PasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" page, setting the password through user_password_set."""

    def set_password_and_save(self, user, password_field_name="password1", commit=True):  # noqa: S107 (a field name)
        if not commit:
            return super().set_password_and_save(user, password_field_name, commit=False)
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data[password_field_name] if usable else None
        return services.user_password_set(user=user, password=password)


def _many(form, name):
    """A many-to-many field's chosen rows, or None when the form does not have the field."""
    return form.cleaned_data.get(name) if name in form.fields else None


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ServiceUserAdmin(ServiceAdmin, UserAdmin):
    change_password_form = PasswordChangeForm

    def save_model(self, request, obj, form, change):
        with refusal():
            services.user_save(user=obj, groups=_many(form, "groups"), permissions=_many(form, "user_permissions"))

    def delete_model(self, request, obj):
        services.user_delete(user=obj)


@admin.register(Group)
class ServiceGroupAdmin(ServiceAdmin, GroupAdmin):
    def save_model(self, request, obj, form, change):
        with refusal():
            services.group_save(group=obj, permissions=_many(form, "permissions"))

    def delete_model(self, request, obj):
        services.group_delete(group=obj)
