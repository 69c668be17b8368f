from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "cmsportal.identity"
    label = "identity"
    verbose_name = "Identity and access"

    def ready(self):
        # Registers the X-Auth-Token security scheme with drf-spectacular.
        from cmsportal.identity import schema  # noqa: F401
