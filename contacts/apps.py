from django.apps import AppConfig

__all__ = ["ContactsConfig"]


class ContactsConfig(AppConfig):
    name = "contacts"
