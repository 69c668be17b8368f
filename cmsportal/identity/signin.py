"""The staff sign-in page and the admin's, under the sign-in limits (cmsportal/identity/throttling.py).

Both forms check the password with `authenticate()`, whose backend counts the attempt. When the limit
holds, the form says so, with the wait and without saying whether the username exists, and the page is
answered with 429 Too Many Requests and Retry-After.
"""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from cmsportal.identity.throttling import SignInLimited

__all__ = [
    "LimitedFormMixin",
    "LimitedAuthenticationForm",
    "LimitedAdminAuthenticationForm",
    "limited_status",
    "SignInView",
    "admin_login",
]


class LimitedFormMixin:
    retry_after: int | None = None

    def clean(self):
        try:
            return super().clean()
        except SignInLimited as limited:
            self.retry_after = limited.wait
            raise ValidationError(str(limited), code="too_many_failures") from None


class LimitedAuthenticationForm(LimitedFormMixin, AuthenticationForm):
    pass


class LimitedAdminAuthenticationForm(LimitedFormMixin, AdminAuthenticationForm):
    pass


def limited_status(response):
    """429 and Retry-After when the page's form was refused by the limit."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    wait = getattr(form, "retry_after", None)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


class SignInView(auth_views.LoginView):
    authentication_form = LimitedAuthenticationForm

    def form_invalid(self, form):
        return limited_status(super().form_invalid(form))


def admin_login(request, extra_context=None):
    """The admin site's login view (its form is the limited one, set in IdentityConfig.ready), answering 429."""
    from django.contrib import admin

    return limited_status(admin.site.login(request, extra_context=extra_context))
