"""Routes of the CMS API under /v1/."""

urlpatterns = []
