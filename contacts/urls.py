"""Staff pages of the contacts app."""

from django.urls import path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "contacts"
urlpatterns = [
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/export.csv", views.contact_export, name="contact_export"),
    path("contacts/<str:contact_number>/", views.contact_detail, name="contact_detail"),
    path("contacts/<str:contact_number>/edit/", views.contact_edit, name="contact_edit"),
]
