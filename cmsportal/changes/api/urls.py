"""Route of the change feed (under /v1/, included by cmsportal/urls.py before the API's own routes)."""

from django.urls import re_path

from cmsportal.api.routing import api_path

from . import views

urlpatterns = [
    # `.atom` besides the API's `.json` and `.xml`: the suffix overrides Accept.
    re_path(r"^changes\.(?P<format>atom)$", views.ChangeFeedView.as_view(), name="api-change-feed-atom"),
    *api_path("changes", views.ChangeFeedView.as_view(), "api-change-feed"),
]
