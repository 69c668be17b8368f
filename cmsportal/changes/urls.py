"""Staff pages of the change log."""

from django.urls import path

from . import views

__all__ = ["urlpatterns", "app_name"]

app_name = "changes"
urlpatterns = [
    path("changes/", views.change_list, name="change_list"),
    path("changes/export.csv", views.change_export, name="change_export"),
]
