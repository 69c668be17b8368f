"""Routes of identity under /v2.0/."""

urlpatterns = []
