"""Sign-in, home and search pages."""

from django.contrib.auth import views as auth_views
from django.urls import path

from cmsportal import views
from cmsportal.identity.signin import SignInView

__all__ = ["urlpatterns"]

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("search/", views.search, name="search"),
    path("search/suggest", views.suggest, name="search_suggest"),
    path("search/customers", views.customer_suggest, name="customer_suggest"),
    path("saved-filters/", views.saved_filter_save, name="saved_filter_save"),
    path("saved-filters/<int:pk>/delete/", views.saved_filter_delete, name="saved_filter_delete"),
    path("login/", SignInView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
