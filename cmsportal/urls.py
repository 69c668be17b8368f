"""Every route block of cmsportal, in one place."""

from django.contrib import admin
from django.urls import include, path

from cmsportal import views
from cmsportal.admin import view_on_site
from cmsportal.identity.signin import admin_login

__all__ = ["urlpatterns", "handler404", "handler500"]

urlpatterns = [
    # For load balancers: no authentication, no session, no data
    path("healthz", views.healthz, name="healthz"),
    # The CMS REST API and identity; the change feed before the API's catch-all for unknown paths. First: no
    # other route starts with v1/ or v2.0/, and the API's requests, the most frequent, then try no staff route.
    path("v1/", include("cmsportal.changes.api.urls")),
    path("v1/", include("cmsportal.api.urls")),
    path("v2.0/", include("cmsportal.identity.urls")),
    # Staff pages
    path("", include("cmsportal.pages_urls")),
    path("", include("accounts.urls")),
    path("", include("contacts.urls")),
    path("", include("metadata.urls")),
    path("", include("cmsportal.changes.urls")),
    # Administration: the admin's own sign-in page, answering 429 when the limit holds; "view on site"
    # before the admin's own redirect, which would follow any object, hidden or not
    path("admin/login/", admin_login),
    path("admin/r/<path:content_type_id>/<path:object_id>/", admin.site.admin_view(view_on_site)),
    path("admin/", admin.site.urls),
]

handler404 = "cmsportal.views.page_not_found"
handler500 = "cmsportal.views.server_error"
