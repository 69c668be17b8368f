from django.apps import AppConfig

__all__ = ["CmsportalConfig"]


class CmsportalConfig(AppConfig):
    name = "cmsportal"
    verbose_name = "cmsportal"
