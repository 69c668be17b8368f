"""Shared admin machinery: every admin save goes through the services, and a refusal is a message, never a 500.

`ServiceAdmin` writes nothing itself: its save_model and delete_model refuse (ImproperlyConfigured) until a
subclass calls a service, save_related leaves many-to-many fields to save_model's service and sends every
inline to save_formset (which refuses a changed inline it is not given a service for), and delete_queryset
(the bulk "delete selected") runs delete_model for each selected row in the user's view, all or none.
tests/test_admin_services.py runs every registered admin's writes and checks each ran inside a service.

`ServiceAdmin.changeform_view`, `delete_view` and `changelist_view` (actions, bulk delete) run their
changes in one transaction; when a service
refuses (ValidationError, PermissionDenied), `refusal()` turns it into `ServiceRefused`, the whole
request rolls back, and the page comes back with the reason as an error message. Model forms check
what they can beforehand, so most refusals are ordinary form errors.

Tenant scope: `TenantScoped` (mixed into `ServiceAdmin`, `ReadOnlyInline` and the apps' inlines) makes every
foreign-key and many-to-many choice of a form (selects, autocompletes' initial values, raw id fields) a choice
among what the user may see (`cmsportal.identity.access.scope_related`), so a hidden row's key is refused exactly
like a missing one. Querysets of the admins themselves are scoped in each app's admin.py.

History: `ServiceAdmin.history_view` shows the object's change records (`CHANGE_KEYS` names each model's
object type and key in the change log), newest first, scoped by `visible_changes` and redacted by `Redactor`.

`action_form()` renders the intermediate page of an admin action that needs input (a status, a
target customer) and returns the bound, valid form once it is submitted.
"""

import contextlib

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse

from cmsportal import versions
from cmsportal.changes.access import Redactor, visible_changes
from cmsportal.changes.choices import ObjectType
from cmsportal.changes.models import of_object
from cmsportal.identity.access import actor_for, scope_related
from cmsportal.resources import declaration_of

__all__ = [
    "ServiceRefused",
    "describe",
    "refusal",
    "adopt",
    "formset_applied",
    "TenantScoped",
    "view_on_site",
    "ServiceAdmin",
    "ReadOnlyInline",
    "action_form",
    "CHANGE_KEYS",
    "VERSION_FIELD",
    "version_of",
    "HISTORY_LIMIT",
    "object_changes",
]

# The edit page's version of the object it shows (see ServiceAdmin).
VERSION_FIELD = "_cms_version"


def version_of(obj) -> str | None:
    """The version of a declared resource's object (a digest of its declared representation); None for models
    without a declaration."""
    try:
        resource = declaration_of(type(obj))
    except KeyError:
        return None
    return versions.digest(resource.snapshot(obj))


# Each model's object type and key in the change log (as its services record them), by model label.
CHANGE_KEYS = {
    "accounts.Customer": (ObjectType.CUSTOMER, lambda obj: obj.rcn),
    "accounts.Account": (ObjectType.ACCOUNT, lambda obj: obj.key),
    "contacts.Contact": (ObjectType.CONTACT, lambda obj: obj.contact_number),
    "metadata.Metadata": (ObjectType.METADATA, lambda obj: f"{obj.account.key} {obj.key}"),
    "metadata.Namespace": (ObjectType.NAMESPACE, lambda obj: obj.name),
    "identity.TenantGrant": (ObjectType.TENANT_GRANT, lambda obj: f"{obj.user.get_username()} {obj.tenant_id}"),
    "identity.Token": (ObjectType.TOKEN, lambda obj: f"{obj.user.get_username()} {obj.pk}"),
    "identity.ApiKey": (ObjectType.API_KEY, lambda obj: f"{obj.user.get_username()} {obj.pk}"),
    "auth.User": (ObjectType.USER, lambda obj: obj.get_username()),
    "auth.Group": (ObjectType.GROUP, lambda obj: obj.name),
}
# The most records a History page shows (the change log pages have them all).
HISTORY_LIMIT = 200


def object_changes(user, obj):
    """The change records of `obj` that `user` may see, newest first, each with its before/after rows
    (key, before, after), values redacted where the user may not read them."""
    object_type, key_of = CHANGE_KEYS[obj._meta.label]
    changes = list(
        visible_changes(user).filter(of_object(key_of(obj), object_type)).order_by("-txid", "-id")[:HISTORY_LIMIT]
    )
    redactor = Redactor(user)
    for change in changes:
        before, after = redactor.values(change)
        before, after = before or {}, after or {}
        change.diff = [(key, before.get(key), after.get(key)) for key in sorted({**before, **after})]
    return changes


class ServiceRefused(Exception):
    """A service said no; carries the human-readable reason."""


def describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
        return " ".join(error.messages)
    return str(error) or "You may not make this change."


@contextlib.contextmanager
def refusal():
    """Turn a service's ValidationError/PermissionDenied into ServiceRefused."""
    try:
        yield
    except (ValidationError, PermissionDenied) as error:
        raise ServiceRefused(describe(error)) from error


def adopt(obj, created) -> None:
    """Make the admin's unsaved instance the row a service created, so the admin carries on with it."""
    for field in type(created)._meta.concrete_fields:
        if not getattr(field, "generated", False):
            setattr(obj, field.attname, getattr(created, field.attname))
    obj._state.adding = False
    obj._state.db = created._state.db


def formset_applied(formset) -> None:
    """Tell the admin's change log what a formset applied through the services did (it reads these lists)."""
    deleted = {id(form) for form in formset.deleted_forms}
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.initial_forms:
        if id(form) in deleted:
            formset.deleted_objects.append(form.instance)
        elif form.has_changed():
            formset.changed_objects.append((form.instance, form.changed_data))
    for form in formset.extra_forms:
        if id(form) not in deleted and form.has_changed():
            formset.new_objects.append(form.instance)


class TenantScoped:
    """For model admins and inlines: foreign-key and many-to-many choices only among what the user may see."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = scope_related(db_field.remote_field.model, request.user)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = scope_related(db_field.remote_field.model, request.user)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def view_on_site(request, content_type_id, object_id):
    """The admin's "view on site" redirect, for an object the user may see only (else 404, as for a missing one)."""
    try:
        model = ContentType.objects.get_for_id(int(content_type_id)).model_class()
    except (ContentType.DoesNotExist, ValueError):
        model = None
    if model is not None:
        scoped = scope_related(model, request.user)
        if scoped is not None:
            try:
                found = scoped.filter(pk=object_id).exists()
            except (ValueError, ValidationError):
                found = False
            if not found:
                raise Http404("No such object.")
    return contenttype_views.shortcut(request, content_type_id, object_id)


class ServiceAdmin(TenantScoped, admin.ModelAdmin):
    """A ModelAdmin whose saves call services; a refused save rolls back and shows the reason.

    An edit page of a declared resource carries the version of the object it showed (VERSION_FIELD, a digest of
    its declared representation, as the staff pages' forms carry theirs); a save whose object has changed since
    is refused, so one administrator's edit never silently undoes another's.
    """

    change_form_template = "admin/cms_change_form.html"

    def actor(self, request):
        return actor_for(request.user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            self.message_user(request, f"Not saved: {refused}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """The version the page shows: the one its form was opened with (a re-shown form keeps it: its object
        already holds the posted values), else that of the object the page was opened on."""
        if change and obj is not None:
            given = request.POST.get(VERSION_FIELD) if request.method == "POST" else None
            context["cms_version"] = given or version_of(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_form(self, request, form, change):
        """Before any service runs (in the admin's transaction): the object, locked, must still be the version the
        form was opened with. A post without a version (not from the page) is not checked."""
        given = request.POST.get(VERSION_FIELD) if change else None
        if given:
            current = self.model._default_manager.select_for_update().filter(pk=form.instance.pk).first()
            if current is not None and version_of(current) not in (None, given):
                raise ServiceRefused(
                    f"this {self.model._meta.verbose_name} was changed by someone else after you opened it. The page "
                    "now shows it as it is: make your change again. Its History shows what changed."
                )
        return super().save_form(request, form, change)

    def changelist_view(self, request, extra_context=None):
        # Actions (bulk delete included) run here; they make their changes in one transaction.
        try:
            return super().changelist_view(request, extra_context)
        except ServiceRefused as refused:
            self.message_user(request, f"Nothing changed: {refused}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # The writes: a subclass that may add, change or delete calls its services here. The defaults refuse, so an
    # admin that forgets one fails loudly (as does tests/test_admin_services.py) instead of writing past them.

    def save_model(self, request, obj, form, change):
        raise ImproperlyConfigured(f"{type(self).__name__}.save_model must save through a service.")

    def delete_model(self, request, obj):
        raise ImproperlyConfigured(f"{type(self).__name__}.delete_model must delete through a service.")

    def save_related(self, request, form, formsets, change):
        """The inlines' formsets, each through save_formset; many-to-many fields are save_model's to pass on
        to its service (form.save_m2m() would write them directly)."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        formset_applied(formset)
        if formset.new_objects or formset.changed_objects or formset.deleted_objects:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.save_formset must save {formset.model.__name__} through a service."
            )

    def delete_queryset(self, request, queryset):
        """Bulk delete: delete_model for each row the user may see (so the services run), all or none."""
        chosen = list(queryset.order_by().values_list("pk", flat=True))
        with transaction.atomic():
            rows = self.get_queryset(request).filter(pk__in=chosen)
            if isinstance(self.list_select_related, list | tuple):
                rows = rows.select_related(*self.list_select_related)
            for obj in rows:
                self.delete_model(request, obj)

    def history_view(self, request, object_id, extra_context=None):
        """The object's change records (see `object_changes`); Django's own page, with its "no history" line,
        when there are none."""
        if self.model._meta.label not in CHANGE_KEYS:  # the change log's own configuration: not in it
            return super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            return super().history_view(request, object_id, extra_context)
        changes = object_changes(request.user, obj)
        if not changes:
            return super().history_view(request, object_id, extra_context)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change history: {obj}",
            "subtitle": None,
            "changes": changes,
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/change_history.html", context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:
            self.message_user(request, f"Not deleted: {refused}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyInline(TenantScoped, admin.TabularInline):
    """A history trail: shown, never added to, changed or deleted here."""

    extra = 0
    can_delete = False
    show_change_link = False
    classes = ["collapse"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def action_form(modeladmin, request, queryset, form_class: type[forms.Form], title: str):
    """The intermediate page of an action: (form, None) when submitted and valid, else (None, response)."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            return form, None
    else:
        form = form_class()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
    }
    return None, TemplateResponse(request, "admin/cms_action.html", context)
