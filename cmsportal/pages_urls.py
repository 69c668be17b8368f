"""Sign-in, home and search pages."""

from django.contrib.auth import views as auth_views
from django.urls import path

from cmsportal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("search/", views.search, name="search"),
    path("search/suggest", views.suggest, name="search_suggest"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
