from django.apps import AppConfig


class CmsportalConfig(AppConfig):
    name = "cmsportal"
    verbose_name = "cmsportal"
