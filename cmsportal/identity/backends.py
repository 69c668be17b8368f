"""The authentication backend: Django's, with every username and password check counted by the sign-in limits.

Every password sign-in goes through `django.contrib.auth.authenticate()` (the staff sign-in page, the
admin's, POST /v2.0/tokens), so limiting it here is one mechanism for all of them, and for any form added
later. A check over the limit raises SignInLimited, which the sign-in forms and the token endpoint turn
into their own answer (429 with a message, 413 overLimit); a check without a request (a script calling
authenticate()) has no client address and is not limited.

It also saves the signed-in pages round trips on every request: the session's user is read together with
whether it holds the global view permission (what `visible_accounts` asks first, one query instead of
three), and a page that checks other permissions reads the user's own and its groups' in one query
instead of two.
"""

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from cmsportal.identity.throttling import FailedSignInThrottle

__all__ = ["LimitedModelBackend"]


class LimitedModelBackend(ModelBackend):
    def get_user(self, user_id):
        from django.contrib.auth import get_user_model

        from cmsportal.identity.access import remember_view_all, view_all_exists

        found = list(
            get_user_model()._default_manager.annotate(cms_view_all=view_all_exists()).filter(pk=user_id).order_by()[:1]
        )
        if not found or not self.user_can_authenticate(found[0]):
            return None
        user = found[0]
        remember_view_all(user, user.cms_view_all)
        return user

    def get_all_permissions(self, user_obj, obj=None):
        """Django's answer, read in one query (the user's own permissions and its groups', as one set)."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            from django.contrib.auth import get_user_model
            from django.contrib.auth.models import Group, Permission

            users = get_user_model().user_permissions.through.objects.filter(user_id=user_obj.pk)
            groups = Group.permissions.through.objects.filter(group__user=user_obj.pk)
            perms = Permission.objects.filter(
                Q(pk__in=users.values("permission_id")) | Q(pk__in=groups.values("permission_id"))
            ).values_list("content_type__app_label", "codename")
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in perms}
        return user_obj._perm_cache

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        name = username if username is not None else kwargs.get(self._username_field())
        attempt = FailedSignInThrottle().attempt(request, name if isinstance(name, str) else None)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            attempt.succeeded()
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
