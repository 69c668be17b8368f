"""Security headers on every answer: a Content-Security-Policy, and no caching of the API's answers.

Django 5.2 has no Content-Security-Policy of its own. The policy is one fixed string (no nonces: no page
has an inline script or style; JavaScript and CSS come from static/), so a few lines here do what a
package would, with nothing more to pin. `CMS_CONTENT_SECURITY_POLICY` replaces the policy; an answer
that already carries the header keeps its own.

Answers under /v1/ and /v2.0/ hold customer data or tokens: `Cache-Control: private, no-store`, so no
shared cache or browser keeps them. The two documentation paths describe the public contract and are
left cacheable.
"""

from django.conf import settings
from django.utils.cache import patch_cache_control

__all__ = ["DEFAULT_POLICY", "API_PREFIXES", "PUBLIC_API_PATHS", "content_security_policy", "SecurityHeadersMiddleware"]

DEFAULT_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
API_PREFIXES = ("/v1/", "/v2.0/")
PUBLIC_API_PATHS = ("/v1/docs", "/v1/openapi.json")


def content_security_policy() -> str:
    return getattr(settings, "CMS_CONTENT_SECURITY_POLICY", None) or DEFAULT_POLICY


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy()
        path = request.path_info
        if path.startswith(API_PREFIXES) and path not in PUBLIC_API_PATHS:
            patch_cache_control(response, private=True, no_store=True)
        return response
