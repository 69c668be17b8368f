from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "cmsportal.identity"
    label = "identity"
    verbose_name = "Identity and access"
