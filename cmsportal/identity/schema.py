"""How `X-Auth-Token` authentication appears in the OpenAPI description (imported by the app's ready())."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
