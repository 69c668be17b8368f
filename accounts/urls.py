"""Staff pages of the accounts app."""

from django.urls import path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "accounts"
urlpatterns = [
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/export.csv", views.customer_export, name="customer_export"),
    path("customers/<str:rcn>/", views.customer_detail, name="customer_detail"),
    path("customers/<str:rcn>/merge/", views.customer_merge, name="customer_merge"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/export.csv", views.account_export, name="account_export"),
    path("accounts/bulk/", views.account_bulk, name="account_bulk"),
    path("accounts/<str:type>/<str:account_id>/", views.account_detail, name="account_detail"),
    path("accounts/<str:type>/<str:account_id>/status/", views.account_status, name="account_status"),
    path("accounts/<str:type>/<str:account_id>/collections/", views.account_collections, name="account_collections"),
    path("accounts/<str:type>/<str:account_id>/nickname/", views.account_nickname, name="account_nickname"),
    path("accounts/<str:type>/<str:account_id>/move/", views.account_move, name="account_move"),
]
