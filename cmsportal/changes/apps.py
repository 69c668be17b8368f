from django.apps import AppConfig

__all__ = ["ChangesConfig"]


class ChangesConfig(AppConfig):
    name = "cmsportal.changes"
    label = "changes"
    verbose_name = "Change log"
    default_auto_field = "django.db.models.BigAutoField"
