"""Routes of the contacts of an account (under /v1/, included by cmsportal/api/urls.py)."""

from cmsportal.api.routing import ACCOUNT, api_path

from . import views

__all__ = ["urlpatterns"]

urlpatterns = [
    *api_path(f"{ACCOUNT}/contacts", views.ContactListView.as_view(), "api-contact-list"),
    *api_path(f"{ACCOUNT}/contacts/(?P<contactNumber>[^/]+?)", views.ContactDetailView.as_view(), "api-contact-detail"),
]
