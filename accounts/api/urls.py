"""Routes of accounts and their trails (under /v1/, included by cmsportal/api/urls.py)."""

from cmsportal.api.routing import ACCOUNT, api_path

from . import views

__all__ = ["urlpatterns"]

urlpatterns = [
    *api_path("customer_accounts", views.AccountListView.as_view(), "api-account-list"),
    *api_path(ACCOUNT, views.AccountDetailView.as_view(), "api-account-detail"),
    *api_path(f"{ACCOUNT}/status_history", views.StatusHistoryView.as_view(), "api-account-status-history"),
    # The reference prints this one path in the singular once; both spellings work.
    *api_path(
        ACCOUNT.replace("customer_accounts", "customer_account", 1) + "/status_history",
        views.StatusHistorySingularView.as_view(),
        "api-account-status-history-singular",
    ),
    *api_path(f"{ACCOUNT}/customer_history", views.CustomerHistoryView.as_view(), "api-account-customer-history"),
    *api_path(f"{ACCOUNT}/history", views.AccountHistoryView.as_view(), "api-account-history"),
]
