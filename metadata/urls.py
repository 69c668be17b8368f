"""Staff pages of the metadata app: entries are changed from their account's page."""

from django.urls import path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "metadata"
urlpatterns = [
    path("accounts/<str:type>/<str:account_id>/metadata/add/", views.metadata_add, name="metadata_add"),
    path("accounts/<str:type>/<str:account_id>/metadata/edit/", views.metadata_edit, name="metadata_edit"),
    path("accounts/<str:type>/<str:account_id>/metadata/delete/", views.metadata_delete, name="metadata_delete"),
]
