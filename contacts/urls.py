"""Staff pages of the contacts app."""

from django.urls import path  # noqa: F401

app_name = "contacts"
urlpatterns = []
