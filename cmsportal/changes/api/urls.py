"""Route of the change feed (under /v1/, included by cmsportal/urls.py before the API's own routes).

As every resource (`cmsportal.api.routing.api_path`): the path with a format suffix, which overrides
Accept, then without; the feed's suffixes are the API's `.json` and `.xml` and its own `.atom`.
"""

from django.urls import re_path

from . import views

__all__ = ["urlpatterns"]

feed = views.ChangeFeedView.as_view()

urlpatterns = [
    re_path(r"^changes\.(?P<format>json|xml|atom)$", feed, name="api-change-feed-suffixed"),
    re_path(r"^changes$", feed, name="api-change-feed"),
]
