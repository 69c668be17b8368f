"""The middleware only a browser needs, stepped over by API calls that carry an X-Auth-Token and no cookie.

Sessions, the authentication of a session, messages and WhiteNoise's static files serve the staff pages
and the browsable parts of the site. An API call under /v1/ that authenticates with an X-Auth-Token and
sends no cookie uses none of them: it has no session to load, DRF authenticates the token itself (a
request with an X-Auth-Token header is never authenticated by a session,
cmsportal/identity/authentication.py), nothing adds messages to an API answer, and no static file lives
under /v1/. Each class here is a subclass of the Django (or WhiteNoise) middleware of the same name,
which for such a call passes the request straight on. CSRF protection is not among them: it stays
Django's own on every request (the API's views are exempt from it; `check --deploy` looks for it).

Any other request (a page, /admin/, /v2.0/, an API call with a cookie or without a token) goes through
each of them as before. `tests/test_browser_middleware.py` sends every API route through both ways and
compares the answers, headers and cookies included.
"""

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from whitenoise import middleware as whitenoise

__all__ = [
    "API_PREFIX",
    "is_token_call",
    "SessionMiddleware",
    "AuthenticationMiddleware",
    "MessageMiddleware",
    "WhiteNoiseMiddleware",
]

API_PREFIX = "/v1/"


def is_token_call(request) -> bool:
    """An API call under /v1/ with an X-Auth-Token header and no cookie (none, or an empty Cookie header)."""
    meta = request.META
    return "HTTP_X_AUTH_TOKEN" in meta and not meta.get("HTTP_COOKIE") and request.path_info.startswith(API_PREFIX)


class _BrowserOnly:
    """Mixed in before a middleware class: token calls go straight on, every other request through it."""

    def __call__(self, request):
        if is_token_call(request):
            return self.get_response(request)
        return super().__call__(request)


# The hooks Django installs when a middleware class has them, each with what it answers for a request it leaves
# alone: no view or exception handling of its own (None), the template response unchanged.
_HOOKS = {
    "process_view": lambda args: None,
    "process_exception": lambda args: None,
    "process_template_response": lambda args: args[0],
}


def _hook_stepping_over_token_calls(original, unchanged):
    def hook(self, request, *args):
        if is_token_call(request):
            return unchanged(args)
        return original(self, request, *args)

    hook.__name__ = original.__name__
    return hook


def _browser_only(wrapped: type) -> type:
    """A subclass of the middleware class `wrapped` (so that Django's checks still find it) that steps over
    token calls, in each of its hooks as well as around the view."""
    namespace = {
        "__module__": __name__,
        "__doc__": f"{wrapped.__module__}.{wrapped.__qualname__}, but for token calls.",
    }
    for name, unchanged in _HOOKS.items():
        if hasattr(wrapped, name):
            namespace[name] = _hook_stepping_over_token_calls(getattr(wrapped, name), unchanged)
    return type(wrapped.__name__, (_BrowserOnly, wrapped), namespace)


SessionMiddleware = _browser_only(sessions.SessionMiddleware)
AuthenticationMiddleware = _browser_only(auth.AuthenticationMiddleware)
MessageMiddleware = _browser_only(messages.MessageMiddleware)
WhiteNoiseMiddleware = _browser_only(whitenoise.WhiteNoiseMiddleware)
