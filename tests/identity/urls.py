"""The project's routes plus one small API view, so that authentication is tested on its own."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from cmsportal.urls import urlpatterns as project_urlpatterns


class WhoAmI(APIView):
    """Answers who the caller is and how they authenticated (default authentication and permissions)."""

    def get(self, request):
        return Response({"user": request.user.get_username(), "token": request.auth is not None})

    def post(self, request):
        return Response({"user": request.user.get_username()})


urlpatterns = [path("v1/test-whoami", WhoAmI.as_view()), *project_urlpatterns]
