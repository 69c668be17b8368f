from django.apps import AppConfig

__all__ = ["IdentityConfig"]


class IdentityConfig(AppConfig):
    name = "cmsportal.identity"
    label = "identity"
    verbose_name = "Identity and access"

    def ready(self):
        from django.contrib import admin

        # schema registers the X-Auth-Token security scheme with drf-spectacular; signals make password
        # changes and deactivation revoke the user's API tokens.
        from cmsportal.identity import schema, signals  # noqa: F401
        from cmsportal.identity.signin import LimitedAdminAuthenticationForm

        # The admin's sign-in form counts failures like every other sign-in (cmsportal/identity/throttling.py).
        admin.site.login_form = LimitedAdminAuthenticationForm
