"""Staff pages of the metadata app."""

from django.urls import path  # noqa: F401

app_name = "metadata"
urlpatterns = []
