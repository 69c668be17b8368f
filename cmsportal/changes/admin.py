"""Administration of webhooks: subscriptions (the secret shown once, at creation) and their deliveries, with
a resend action; every write through cmsportal.changes.outbox.

A subscription receives every matching change as recorded, restricted metadata values included, so only
staff who see every account and may read every namespace manage subscriptions or see deliveries.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.utils.html import format_html

from cmsportal.admin import ServiceAdmin, refusal
from cmsportal.identity.access import can_view_all
from metadata.services import unreadable_namespaces

from . import outbox
from .choices import Action, ObjectType
from .models import Delivery, DeliveryState, Subscription

__all__ = [
    "DeliveryAdmin",
    "SubscriptionAdmin",
    "SubscriptionAddForm",
    "SubscriptionForm",
    "WebhookPermissions",
    "may_manage_webhooks",
]


def may_manage_webhooks(request) -> bool:
    """Sees every account and reads every namespace: what a subscription is sent. Asked once per request."""
    answer = getattr(request, "_cms_may_manage_webhooks", None)
    if answer is None:
        user = request.user
        answer = can_view_all(user) and not unreadable_namespaces(user)
        request._cms_may_manage_webhooks = answer
    return answer


class WebhookPermissions:
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if may_manage_webhooks(request) else queryset.none()

    def has_module_permission(self, request):
        return super().has_module_permission(request) and may_manage_webhooks(request)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and may_manage_webhooks(request)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and may_manage_webhooks(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and may_manage_webhooks(request)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and may_manage_webhooks(request)


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    object_types = forms.MultipleChoiceField(
        choices=ObjectType.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="None: every type."
    )
    actions = forms.MultipleChoiceField(
        choices=Action.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="None: every action."
    )

    class Meta:
        model = Subscription
        fields = ("name", "url", "enabled", "object_types", "actions", "max_attempts")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["object_types"] = [v for v in self.instance.object_types.split(",") if v]
            self.initial["actions"] = [v for v in self.instance.actions.split(",") if v]

    def clean_object_types(self):
        return ",".join(sorted(self.cleaned_data["object_types"]))

    def clean_actions(self):
        return ",".join(sorted(self.cleaned_data["actions"]))


class SubscriptionAddForm(SubscriptionForm):
    signing_secret = forms.CharField(
        label="Secret",
        required=False,
        min_length=outbox.MIN_SECRET_LENGTH,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The key that signs each delivery, shared with the receiver. Empty: one is generated. "
        "It is shown once, on the next page, and never again.",
    )


@admin.register(Subscription)
class SubscriptionAdmin(WebhookPermissions, ServiceAdmin):
    """Webhook subscriptions: where matching changes are POSTed, signed with the subscription's secret."""

    list_display = ("name", "url", "enabled", "filters", "max_attempts", "pending", "dead", "created")
    list_filter = ("enabled",)
    search_fields = ("name", "url")
    created_template = "admin/changes/subscription/created.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SubscriptionForm if obj is not None else SubscriptionAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        fields = ("name", "url", "enabled", "object_types", "actions", "max_attempts")
        return (*fields, "signing_secret") if obj is None else (*fields, "masked_secret", "created")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("masked_secret", "created")

    @admin.display(description="Secret")
    def masked_secret(self, obj):
        return f"{obj.masked_secret} (shown once, at creation; make a new subscription for a new secret)"

    @admin.display(description="Filters")
    def filters(self, obj):
        return f"{obj.object_types or 'every type'}; {obj.actions or 'every action'}"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count("deliveries", filter=Q(deliveries__state=DeliveryState.PENDING)),
                dead_count=Count("deliveries", filter=Q(deliveries__state=DeliveryState.DEAD)),
            )
        )

    @admin.display(description="Pending", ordering="pending_count")
    def pending(self, obj):
        return obj.pending_count

    @admin.display(description="Dead", ordering="dead_count")
    def dead(self, obj):
        return obj.dead_count

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in SubscriptionForm.Meta.fields}
        with refusal():
            if change:
                outbox.subscription_update(subscription=obj, **values)
                return
            _, secret = outbox.subscription_create(
                instance=obj, secret=form.cleaned_data.get("signing_secret") or "", **values
            )
        # Kept on this request only, for the page that shows it once; it never reaches a session or a cookie.
        request._cms_subscription_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_cms_subscription_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request, f"Subscription “{obj}” created. Copy its secret now: it will not be shown again.", messages.SUCCESS
        )
        context = {**self.admin_site.each_context(request), "opts": self.opts, "subscription": obj, "secret": secret}
        response = TemplateResponse(request, self.created_template, context)
        response["Cache-Control"] = "no-store"
        return response

    def get_deleted_objects(self, objs, request):
        # A subscription's deliveries go with it (subscription_delete): deleting them needs no permission of its own.
        deleted, counts, needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, needed - {Delivery._meta.verbose_name}, protected

    def delete_model(self, request, obj):
        outbox.subscription_delete(subscription=obj)


@admin.register(Delivery)
class DeliveryAdmin(WebhookPermissions, ServiceAdmin):
    """The outbox: every delivery, pending, delivered or dead (the dead letters), and a resend action."""

    list_display = (
        "id",
        "subscription",
        "change_link",
        "event",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("state", "subscription")
    list_select_related = ("subscription", "change")
    search_fields = ("object_key",)
    fields = (
        "subscription",
        "change",
        "object_type",
        "object_key",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status",
        "last_error",
        "delivered_at",
    )
    readonly_fields = fields
    actions = ["resend_deliveries"]

    @admin.display(description="Change", ordering="change")
    def change_link(self, obj):
        return format_html("{} ({})", obj.change_id, obj.change)

    @admin.display(description="Event")
    def event(self, obj):
        return f"{obj.change.object_type}.{obj.change.action}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("changes.change_delivery") and may_manage_webhooks(request)

    @admin.action(description="Resend selected deliveries (attempts reset)", permissions=["resend"])
    def resend_deliveries(self, request, queryset):
        count = outbox.deliveries_resend(deliveries=queryset)
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)
