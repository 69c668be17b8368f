"""The identity endpoints under /v2.0/: get a token (POST /v2.0/tokens), revoke one (DELETE /v2.0/tokens/{id})."""

import logging

from django.urls import get_script_prefix
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cmsportal import dates
from cmsportal.api.schema import FAULTS
from cmsportal.api.views import CMSView
from cmsportal.identity import services
from cmsportal.identity.authentication import TokenAuthentication
from cmsportal.identity.parsers import IdentityJSONParser, IdentityTextXMLParser, IdentityXMLParser
from cmsportal.identity.schema import TOKEN_REQUEST, TOKEN_REQUEST_XML
from cmsportal.identity.shapes import ACCESS
from cmsportal.identity.throttling import FailedSignInThrottle, SignInLimited

__all__ = [
    "PASSWORD_CREDENTIALS",
    "APIKEY_CREDENTIALS",
    "BAD_CREDENTIALS",
    "MAX_CREDENTIAL_LENGTH",
    "logger",
    "parse_auth_request",
    "access_document",
    "ACCESS_EXAMPLE",
    "TokensView",
    "TokenDetailView",
]

PASSWORD_CREDENTIALS = "passwordCredentials"  # noqa: S105 (a key of the request body)
APIKEY_CREDENTIALS = "RAX-KSKEY:apiKeyCredentials"
BAD_CREDENTIALS = "Unable to authenticate user with credentials provided."
MAX_CREDENTIAL_LENGTH = 4096

logger = logging.getLogger("django.request")


def _credential(credentials: dict, kind: str, field: str) -> str:
    value = credentials.get(field)
    if not isinstance(value, str) or not value:
        raise exceptions.ParseError(f"{kind}.{field} is required and must be a non-empty string.")
    if len(value) > MAX_CREDENTIAL_LENGTH:
        raise exceptions.ParseError(f"{kind}.{field} is longer than {MAX_CREDENTIAL_LENGTH} characters.")
    # Text no database can hold (NUL, lone surrogates) would fail a query: refuse it here.
    if "\x00" in value:
        raise exceptions.ParseError(f"{kind}.{field} contains a NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise exceptions.ParseError(f"{kind}.{field} is not valid Unicode text.") from None
    return value


def parse_auth_request(data) -> tuple[str, str, str]:
    """(kind, username, secret) from an identity v2.0 request body; ParseError (400) if it is not one."""
    auth = data.get("auth") if isinstance(data, dict) else None
    if not isinstance(auth, dict):
        raise exceptions.ParseError('The body must be {"auth": {...credentials...}}.')
    kinds = [kind for kind in (PASSWORD_CREDENTIALS, APIKEY_CREDENTIALS) if kind in auth]
    if len(kinds) != 1:
        raise exceptions.ParseError(f'"auth" must hold exactly one of {PASSWORD_CREDENTIALS}, {APIKEY_CREDENTIALS}.')
    kind = kinds[0]
    credentials = auth[kind]
    if not isinstance(credentials, dict):
        raise exceptions.ParseError(f"{kind} must be an object.")
    username = _credential(credentials, kind, "username")
    secret = _credential(credentials, kind, "password" if kind == PASSWORD_CREDENTIALS else "apiKey")
    return kind, username, secret


def access_document(request, token, plaintext: str) -> dict:
    """The identity v2.0 `access` answer for a freshly issued token."""
    user = token.user
    return {
        "access": {
            "token": {
                "id": plaintext,
                "expires": dates.format_date(token.expires),
                "RAX-AUTH:authenticatedBy": list(token.authenticated_by),
            },
            "user": {
                "id": str(user.pk),
                "name": user.get_username(),
                "roles": [{"name": role} for role in services.user_roles(user)],
            },
            "serviceCatalog": [
                {
                    "name": "customerService",
                    "type": "rax:customer",
                    "endpoints": [{"publicURL": request.build_absolute_uri(f"{get_script_prefix()}v1")}],
                }
            ],
        }
    }


ACCESS_EXAMPLE = {
    "access": {
        "token": {"id": "…", "expires": "2015-04-22T18:00:00.000Z", "RAX-AUTH:authenticatedBy": ["PASSWORD"]},
        "user": {"id": "42", "name": "jane", "roles": [{"name": "customer"}]},
        "serviceCatalog": [
            {
                "name": "customerService",
                "type": "rax:customer",
                "endpoints": [{"publicURL": "https://cms.example.com/v1"}],
            }
        ],
    }
}


def _fault(status: int, description: str) -> OpenApiResponse:
    return OpenApiResponse(FAULTS[status].response, description=description)


class TokensView(CMSView):
    """POST /v2.0/tokens: exchange a username and a password or API key for a token.

    Needs no prior authentication, so it has no authentication classes and hence no CSRF check: a token
    client has no session to forge.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [IdentityJSONParser, IdentityXMLParser, IdentityTextXMLParser]
    xml_shape = ACCESS

    def get_authenticate_header(self, request):
        # Without authentication classes DRF would turn the 401 for bad credentials into a 403.
        return TokenAuthentication().authenticate_header(request)

    @extend_schema(
        operation_id="tokens_create",
        tags=["identity"],
        summary="Get a token",
        request={"application/json": TOKEN_REQUEST, "application/xml": TOKEN_REQUEST_XML},
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The token and the service catalog."),
            400: _fault(400, "badRequest: the body is not identity v2.0 credentials."),
            401: _fault(401, "unauthorized: the username, password or API key is wrong."),
            413: _fault(413, "overLimit: too many failed attempts (see Retry-After), or a body over the size limit."),
            414: FAULTS[414],
            415: _fault(415, "unsupportedMediaType: the body is neither JSON nor XML."),
        },
        examples=[
            OpenApiExample(
                "Password",
                request_only=True,
                value={"auth": {PASSWORD_CREDENTIALS: {"username": "jane", "password": "…"}}},
            ),
            OpenApiExample(
                "API key", request_only=True, value={"auth": {APIKEY_CREDENTIALS: {"username": "jane", "apiKey": "…"}}}
            ),
            OpenApiExample("Access", response_only=True, value=ACCESS_EXAMPLE),
        ],
    )
    def post(self, request, *args, **kwargs):
        kind, username, secret = parse_auth_request(request.data)
        try:
            if kind == PASSWORD_CREDENTIALS:
                # authenticate() counts the attempt (cmsportal/identity/backends.py), as on the sign-in pages.
                user = services.password_check(request._request, username, secret)
                method = services.PASSWORD
            else:
                attempt = FailedSignInThrottle().attempt(request._request, username)
                user = services.apikey_check(username, secret)
                method = services.APIKEY
                if user is not None:
                    attempt.succeeded()
        except SignInLimited as limited:
            raise exceptions.Throttled(wait=limited.wait, detail="Too many failed attempts to authenticate.") from None
        if user is None:
            raise exceptions.AuthenticationFailed(BAD_CREDENTIALS)
        token, plaintext = services.token_issue(user, [method])
        return Response(access_document(request, token, plaintext), status=status.HTTP_200_OK)


class TokenDetailView(CMSView):
    """DELETE /v2.0/tokens/{tokenId}: revoke a token. Your own needs no more than being signed in; another's, staff."""

    @extend_schema(
        operation_id="tokens_delete",
        tags=["identity"],
        summary="Revoke a token",
        responses={
            204: OpenApiResponse(description="Revoked."),
            400: FAULTS[400],
            401: _fault(401, "unauthorized: no valid X-Auth-Token or session."),
            403: _fault(403, "forbidden: another user's token, and the caller is not staff."),
            404: _fault(404, "notFound: no such token, or it has already expired or been revoked."),
            414: FAULTS[414],
        },
    )
    def delete(self, request, token_id, *args, **kwargs):
        token = services.token_find(token_id)
        if token is None:
            raise exceptions.NotFound("No such token.")
        if not services.can_revoke_token(request.user, token):
            raise exceptions.PermissionDenied("Only staff may revoke another user's token.")
        services.token_revoke(token)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400:
            # Django would log the path of a failed request, and this path holds a token: log it without.
            logger.warning(
                "%s: %s %stokens/<token>",
                response.reason_phrase,
                request.method,
                request.path[: request.path.rfind("tokens/")],
                extra={"status_code": response.status_code, "request": request._request},
            )
            response._has_been_logged = True
        return response
