"""The authentication backend: Django's, with every username and password check counted by the sign-in limits.

Every password sign-in goes through `django.contrib.auth.authenticate()` (the staff sign-in page, the
admin's, POST /v2.0/tokens), so limiting it here is one mechanism for all of them, and for any form added
later. A check over the limit raises SignInLimited, which the sign-in forms and the token endpoint turn
into their own answer (429 with a message, 413 overLimit); a check without a request (a script calling
authenticate()) has no client address and is not limited.
"""

from django.contrib.auth.backends import ModelBackend

from cmsportal.identity.throttling import FailedSignInThrottle

__all__ = ["LimitedModelBackend"]


class LimitedModelBackend(ModelBackend):
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
