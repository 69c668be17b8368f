from django.apps import AppConfig

__all__ = ["MetadataConfig"]


class MetadataConfig(AppConfig):
    name = "metadata"
