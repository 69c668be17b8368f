"""Admin of metadata and namespace policies. Entries are written with metadata_set / metadata_delete as the
signed-in user, so a namespace's policy holds in the admin exactly as in the API."""

from django import forms
from django.contrib import admin

from cmsportal.admin import ServiceAdmin, TenantScoped, adopt, refusal
from cmsportal.identity.access import actor_for, can_view_all, visible_accounts

from . import services
from .choices import Access
from .models import Metadata, Namespace, namespace_of

__all__ = [
    "MetadataInlineFormSet",
    "MetadataInline",
    "save_metadata_formset",
    "NamespaceAccessFilter",
    "MetadataForm",
    "MetadataAdmin",
    "NamespaceAdmin",
]


def _may_write(user, key: str) -> bool:
    namespace = namespace_of(key)
    return services.can_read_namespace(user, namespace) and services.can_write_namespace(user, namespace)


def _refusal_message(key: str) -> str:
    return f"You may not change metadata in the namespace {namespace_of(key)!r}."


# --- metadata of an account: the inline on the account page ---------------------------------------------------------


class MetadataInlineFormSet(forms.BaseInlineFormSet):
    """Checks the namespace policy for every entry added, changed or deleted (as form errors)."""

    user = None  # set per request by MetadataInline.get_formset

    def clean(self):
        super().clean()
        refused = []
        for form in self.forms:
            removing = form in self.deleted_forms
            if not removing and not form.has_changed():
                continue
            old_key = form.initial.get("key")
            new_key = None if removing else form.cleaned_data.get("key")
            if removing:
                # Errors on a form being deleted are ignored by the formset: report them on the formset.
                if old_key and not _may_write(self.user, old_key):
                    refused.append(_refusal_message(old_key))
                continue
            for key in {old_key if old_key != new_key else None, new_key} - {None}:
                if not _may_write(self.user, key):
                    form.add_error("key", _refusal_message(key))
                    break
        if refused:
            raise forms.ValidationError(refused)


class MetadataInline(TenantScoped, admin.TabularInline):
    model = Metadata
    formset = MetadataInlineFormSet
    extra = 0
    fields = ("key", "value", "last_updated_by", "last_updated_date")
    readonly_fields = ("last_updated_by", "last_updated_date")

    def get_queryset(self, request):
        # Read-restricted entries the user may not read are not shown at all (as in the API).
        return super().get_queryset(request).exclude(namespace__in=services.unreadable_namespaces(request.user))

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("widgets", {"value": forms.Textarea(attrs={"rows": 1, "cols": 60})})
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user
        return formset


def save_metadata_formset(request, formset) -> None:
    """Apply a metadata inline through metadata_set / metadata_delete, as the signed-in user."""
    actor, user, account = actor_for(request.user), request.user, formset.instance
    deleted = {id(form) for form in formset.deleted_forms}
    with refusal():
        for form in formset.deleted_forms:
            if form.instance.pk:
                services.metadata_delete(account=account, key=form.initial["key"], actor=actor, user=user)
        for form in formset.forms:
            if id(form) in deleted or not form.has_changed() or not form.cleaned_data:
                continue
            key, old_key = form.cleaned_data["key"], form.initial.get("key")
            if form.instance.pk and old_key and old_key != key:
                services.metadata_delete(account=account, key=old_key, actor=actor, user=user)
            services.metadata_set(account=account, key=key, value=form.cleaned_data["value"], actor=actor, user=user)


# --- metadata entries on their own -----------------------------------------------------------------------------------


class NamespaceAccessFilter(admin.SimpleListFilter):
    """Entries by the policy of their namespace; a namespace without a policy is open."""

    title = "namespace access"
    parameter_name = "access"

    def lookups(self, request, model_admin):
        return Access.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value not in Access.values:
            return queryset
        if value == Access.OPEN:
            closed = Namespace.objects.exclude(access=Access.OPEN).values("name")
            return queryset.exclude(namespace__in=closed)
        return queryset.filter(namespace__in=Namespace.objects.filter(access=value).values("name"))


class MetadataForm(forms.ModelForm):
    class Meta:
        model = Metadata
        fields = ("account", "key", "value")

    user = None

    def clean(self):
        data = super().clean()
        key = data.get("key") or self.instance.key
        if key and not _may_write(self.user, key):
            self.add_error("key" if "key" in self.fields else None, _refusal_message(key))
        return data


@admin.register(Metadata)
class MetadataAdmin(ServiceAdmin):
    """Metadata entries; read-restricted ones only for their readers, changes only for a namespace's writers.

    Only entries of accounts the user may see; the account of a new entry is chosen among those (ServiceAdmin's
    scoped choices), so a hidden account's key is refused like a missing one.
    """

    form = MetadataForm
    list_display = ("account", "key", "short_value", "namespace", "last_updated_by", "last_updated_date")
    list_select_related = ("account",)
    list_filter = (NamespaceAccessFilter, "namespace")
    search_fields = ("key", "value", "account__account_id", "account__customer__rcn")
    autocomplete_fields = ("account",)
    readonly_fields = ("namespace", "created_by", "created_date", "last_updated_by", "last_updated_date")

    @admin.display(description="value")
    def short_value(self, obj):
        return obj.value if len(obj.value) <= 60 else obj.value[:59] + "…"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).exclude(namespace__in=services.unreadable_namespaces(request.user))
        if not can_view_all(request.user):
            queryset = queryset.filter(account__in=visible_accounts(request.user))
        return queryset

    def get_readonly_fields(self, request, obj=None):
        # Account and key are the entry's identity: change the value, or delete and add another.
        return (("account", "key") if obj is not None else ()) + self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def _may_write_namespace(self, request, namespace: str) -> bool:
        # Asked many times while one page renders: remember the answer for the request.
        cache = request.__dict__.setdefault("_cms_writable_namespaces", {})
        if namespace not in cache:
            cache[namespace] = services.can_write_namespace(request.user, namespace)
        return cache[namespace]

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self._may_write_namespace(request, obj.namespace))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self._may_write_namespace(request, obj.namespace))

    def save_model(self, request, obj, form, change):
        key = obj.key if change else form.cleaned_data["key"]
        account = obj.account if change else form.cleaned_data["account"]
        with refusal():
            entry, _ = services.metadata_set(
                account=account, key=key, value=form.cleaned_data["value"], actor=self.actor(request), user=request.user
            )
        adopt(obj, entry)
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        with refusal():
            services.metadata_delete(account=obj.account, key=obj.key, actor=self.actor(request), user=request.user)


@admin.register(Namespace)
class NamespaceAdmin(ServiceAdmin):
    """Namespace policies: who may read and write the metadata of a namespace (namespace_save / namespace_delete)."""

    list_display = ("name", "access", "reader_groups", "writer_groups")
    list_filter = ("access",)
    search_fields = ("name", "readers__name", "writers__name")
    filter_horizontal = ("readers", "writers")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("readers", "writers")

    @admin.display(description="readers")
    def reader_groups(self, obj):
        return ", ".join(group.name for group in obj.readers.all()) or "—"

    @admin.display(description="writers")
    def writer_groups(self, obj):
        return ", ".join(group.name for group in obj.writers.all()) or "—"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusal():
            services.namespace_save(namespace=obj, readers=data.get("readers"), writers=data.get("writers"))

    def delete_model(self, request, obj):
        with refusal():
            services.namespace_delete(namespace=obj)
