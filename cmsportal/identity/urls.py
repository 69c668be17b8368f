"""Routes of identity under /v2.0/."""

from cmsportal.api.routing import api_path, unknown_path
from cmsportal.identity import views

__all__ = ["urlpatterns"]

urlpatterns = [
    *api_path("tokens", views.TokensView.as_view(), "identity-tokens"),
    *api_path(r"tokens/(?P<token_id>[^/]+?)", views.TokenDetailView.as_view(), "identity-token-detail"),
    # Last: any other path is a notFound fault.
    unknown_path(),
]
