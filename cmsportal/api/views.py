"""Base class of the CMS API views, the fault for unknown paths, and the API's documentation views.

The documentation (`/v1/openapi.json`, `/v1/docs`) is readable without a token: it describes the
public contract and holds no customer data, and the interactive reference lets a reader paste a
token (Authorize) before trying calls. Every other path under /v1/ requires authentication.
"""

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from .negotiation import IgnoreAcceptNegotiation
from .renderers import FAULT

__all__ = ["CMSView", "UnknownPathView", "OpenAPIView", "DocsView"]


class CMSView(APIView):
    """A CMS API resource: declares its XML shape; OPTIONS is not offered (405, like any other method).

    `plain_json`: its documents hold only strings, integers, booleans, null, lists and objects (no floats,
    which orjson writes differently from DRF's encoder), so CMSJSONRenderer writes them with orjson."""

    metadata_class = None
    xml_shape = None
    plain_json = True


@extend_schema(exclude=True)
class UnknownPathView(APIView):
    """Any path under /v1/ (or /v2.0/) that names no resource: 404 `notFound`, for every method."""

    authentication_classes = []
    permission_classes = [AllowAny]
    metadata_class = None
    xml_shape = FAULT

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound("There is no resource at this path.")


class OpenAPIView(SpectacularJSONAPIView):
    """The OpenAPI 3 description of the API, as JSON, whatever the client accepts."""

    authentication_classes = []
    permission_classes = [AllowAny]
    content_negotiation_class = IgnoreAcceptNegotiation


class DocsView(SpectacularSwaggerView):
    """The interactive reference (Swagger UI), served from the application's own static files.

    Our template starts Swagger UI from a static script (static/js/docs.js) rather than drf-spectacular's
    inline one, which the Content-Security-Policy would block.
    """

    template_name = "api/docs.html"

    authentication_classes = []
    permission_classes = [AllowAny]
    content_negotiation_class = IgnoreAcceptNegotiation
    url_name = "api-openapi"
