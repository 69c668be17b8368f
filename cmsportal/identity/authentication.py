"""`X-Auth-Token` authentication for the CMS API."""

from django.urls import get_script_prefix
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from cmsportal import replicas
from cmsportal.identity import services, tokencache

__all__ = ["INVALID_TOKEN", "identity_url", "TokenAuthentication"]

INVALID_TOKEN = "The X-Auth-Token is not valid: it is unknown, expired or revoked."  # noqa: S105 (a message, not a secret)


def identity_url(request) -> str:
    """The absolute URL of the identity service (`<base>/v2.0`), where clients get tokens."""
    return request.build_absolute_uri(f"{get_script_prefix()}v2.0")


class TokenAuthentication(BaseAuthentication):
    """Authenticates a request by its `X-Auth-Token` header.

    No header: None, so that the next class (the session of staff signed in to the pages) may apply.
    A header naming no valid token: 401, never a silent fall-back to the session.
    """

    keyword = "Keystone"

    def authenticate(self, request):
        if "HTTP_X_AUTH_TOKEN" not in request.META:
            return None
        plaintext = request.META["HTTP_X_AUTH_TOKEN"].strip()
        token = services.token_lookup(plaintext)
        if token is None and replicas.reads_on_replica() and not tokencache.enabled():
            # A token issued a moment ago may not have reached the replica yet: the primary knows it. (With
            # tokens remembered, token_lookup has read the primary already.)
            with replicas.reading_from_primary():
                token = services.token_lookup(plaintext)
        if token is None:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        return token.user, token

    def authenticate_header(self, request):
        # What OpenStack services answer: where to get a token.
        return f'{self.keyword} uri="{identity_url(request)}"'
