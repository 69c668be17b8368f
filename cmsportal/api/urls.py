"""Routes of the CMS API under /v1/: the documentation, each app's resources, and a fault for anything else."""

from django.urls import include, path

from . import views
from .routing import unknown_path

__all__ = ["urlpatterns"]

urlpatterns = [
    path("openapi.json", views.OpenAPIView.as_view(), name="api-openapi"),
    path("docs", views.DocsView.as_view(), name="api-docs"),
    path("", include("accounts.api.urls")),
    path("", include("contacts.api.urls")),
    path("", include("metadata.api.urls")),
    # Last: any other path is a notFound fault, never an HTML page.
    unknown_path(),
]
