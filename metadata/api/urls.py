"""Routes of the metadata of an account (under /v1/, included by cmsportal/api/urls.py)."""

from cmsportal.api.routing import ACCOUNT, api_path

from . import views

__all__ = ["urlpatterns"]

urlpatterns = [
    *api_path(f"{ACCOUNT}/metadata", views.MetadataListView.as_view(), "api-metadata-list"),
    # Before the entry route: a key may contain "/", and ".../detail" names the detail.
    *api_path(f"{ACCOUNT}/metadata/(?P<key>.+?)/detail", views.MetadataDetailView.as_view(), "api-metadata-detail"),
    *api_path(f"{ACCOUNT}/metadata/(?P<key>.+?)", views.MetadataKeyView.as_view(), "api-metadata-entry"),
]
