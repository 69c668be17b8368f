"""How `X-Auth-Token` authentication appears in the OpenAPI description (imported by the app's ready())."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

__all__ = ["TokenAuthenticationScheme", "TOKEN_REQUEST", "TOKEN_REQUEST_XML"]


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cmsportal.identity.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Token",
            "description": "A token from POST /v2.0/tokens (password or API key credentials).",
        }


def _credentials(secret: str) -> dict:
    return {
        "type": "object",
        "required": ["username", secret],
        "properties": {"username": {"type": "string", "minLength": 1}, secret: {"type": "string", "minLength": 1}},
    }


def _auth(kind: str, secret: str) -> dict:
    return {
        "type": "object",
        "required": [kind],
        "properties": {kind: _credentials(secret)},
    }


# The body of POST /v2.0/tokens: {"auth": {...}} holding exactly one kind of credentials (as views.parse_auth_request
# reads it). The XML form carries the same as attributes of <passwordCredentials> or <apiKeyCredentials> in <auth>.
TOKEN_REQUEST = {
    "type": "object",
    "required": ["auth"],
    "properties": {
        "auth": {
            "oneOf": [
                _auth("passwordCredentials", "password"),
                _auth("RAX-KSKEY:apiKeyCredentials", "apiKey"),
            ]
        }
    },
}
TOKEN_REQUEST_XML = {
    "type": "object",
    "xml": {"name": "auth", "namespace": "http://docs.openstack.org/identity/api/v2.0"},
    "description": '<auth><passwordCredentials username="..." password="..."/></auth>, or <apiKeyCredentials '
    'username="..." apiKey="..."/> in the RAX-KSKEY namespace.',
}
