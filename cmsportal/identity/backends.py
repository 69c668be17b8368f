"""The authentication backend: Django's, with every username and password check counted by the sign-in limits.

Every password sign-in goes through `django.contrib.auth.authenticate()` (the staff sign-in page, the
admin's, POST /v2.0/tokens), so limiting it here is one mechanism for all of them, and for any form added
later. A check over the limit raises SignInLimited, which the sign-in forms and the token endpoint turn
into their own answer (429 with a message, 413 overLimit); a check without a request (a script calling
authenticate()) has no client address and is not limited.

It also saves the signed-in pages round trips on every request: the session's user is read together with
whether it holds the global view permission (what `visible_accounts` asks first, one query instead of
three), and a page that checks other permissions reads the user's own and its groups' in one query
instead of two. The session's user query is compiled once per connection (cmsportal/api/precompiled.py):
built by the ORM on every request, it cost more CPU than the rest of a signed-in search.
"""

from functools import cache

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Q

from cmsportal.identity.throttling import FailedSignInThrottle

__all__ = ["LimitedModelBackend"]


@cache
def _user_by_pk():
    """The user with this primary key, annotated with whether it holds the global view permission."""
    from django.contrib.auth import get_user_model

    from cmsportal.api.precompiled import PrecompiledQuery
    from cmsportal.identity.access import view_all_exists

    model = get_user_model()
    return model, PrecompiledQuery(
        lambda pk: model._default_manager.annotate(cms_view_all=view_all_exists()).filter(pk=pk).order_by(),
        model,
        placeholders=[-(2**31) + 19],
        annotations=["cms_view_all"],
    )


class LimitedModelBackend(ModelBackend):
    def get_user(self, user_id):
        from cmsportal.identity.access import remember_view_all

        model, query = _user_by_pk()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None  # not a key a session of ours holds
        if isinstance(pk, int):
            low, high = connections[router.db_for_read(model)].ops.integer_field_range(
                model._meta.pk.get_internal_type()
            )
            if not (low is None or low <= pk) or not (high is None or pk <= high):
                return None  # no row can hold it
        found = query.fetch(pk)
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
