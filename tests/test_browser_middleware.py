"""API calls with an X-Auth-Token and no cookie step over the middleware only browsers need
(cmsportal/browsermiddleware.py), and get exactly the answers they got through it: every route of /v1/,
with every method, answered (status, every header but the request id, body, cookies) the same both ways."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.sessions import middleware as sessions
from django.db import transaction
from django.test import RequestFactory
from rest_framework.test import APIClient

from cmsportal import browsermiddleware
from cmsportal.identity import services
from tests.factories import AccountContactFactory, MetadataFactory, NamespaceFactory, StaffFactory
from tests.test_security_headers import url_conf_paths

pytestmark = pytest.mark.django_db

API_PATHS = [path for path in url_conf_paths() if path.startswith("/v1/")]
METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE")
BROWSER_ONLY = {
    "cmsportal.browsermiddleware.WhiteNoiseMiddleware": "whitenoise.middleware.WhiteNoiseMiddleware",
    "cmsportal.browsermiddleware.SessionMiddleware": "django.contrib.sessions.middleware.SessionMiddleware",
    "cmsportal.browsermiddleware.AuthenticationMiddleware": "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cmsportal.browsermiddleware.MessageMiddleware": "django.contrib.messages.middleware.MessageMiddleware",
}


@pytest.fixture
def seeded():
    NamespaceFactory(name="support")
    link = AccountContactFactory()
    account, contact = link.account, link.contact
    MetadataFactory(account=account, key="support:level", value="gold")
    user = StaffFactory(username="browserless", is_superuser=True)
    _, token = services.token_issue(user, [services.PASSWORD])
    values = {"account": f"{account.type}/{account.account_id}", "contact": contact.contact_number}
    return token, values


def concrete(path: str, values: dict) -> list[str]:
    """The route's sample path as it is (mostly unknown objects), and with the seeded objects in it."""
    real = path.replace("/x/x", "/" + values["account"], 1)
    real = real.replace("/contacts/x", "/contacts/" + values["contact"]).replace(
        "/metadata/x", "/metadata/support:level"
    )
    return sorted({path, real})


def answer(path: str, method: str, token: str) -> tuple:
    """Everything the client sees of one call, made in a savepoint that is rolled back (a write is made anew by
    the other way of answering)."""
    client = APIClient()
    body = json.dumps({"meta": {"support:level": "platinum"}}) if method in ("PUT", "POST", "PATCH") else None
    with transaction.atomic():
        response = client.generic(
            method, path, data=body or "", content_type="application/json", HTTP_X_AUTH_TOKEN=token
        )
        transaction.set_rollback(True)
    headers = {name: value for name, value in response.headers.items() if name != "X-Request-Id"}
    # A CSRF secret (the docs page's cookie) and its masked token are new random values on every answer, and a
    # cookie's expiry date is now's (the two answers may fall in different seconds; its Max-Age is compared).
    cookies = sorted(
        (
            name,
            re.sub(
                r"expires=[^;]+",
                "expires=(now + Max-Age)",
                re.sub(r"^csrftoken=[^;]+", "csrftoken=(random)", morsel.OutputString()),
            ),
        )
        for name, morsel in response.cookies.items()
    )
    content = b"".join(response.streaming_content) if response.streaming else response.content
    content = re.sub(rb'data-csrf-token="[^"]+"', b'data-csrf-token="(random)"', content)
    return response.status_code, headers, content, cookies


def test_the_middleware_is_the_browsers_own_for_django_and_its_checks():
    assert [name for name in settings.MIDDLEWARE if name in BROWSER_ONLY] == list(BROWSER_ONLY)
    for ours, theirs in BROWSER_ONLY.items():
        module, _, name = theirs.rpartition(".")
        wrapped = getattr(__import__(module, fromlist=[name]), name)
        cls = getattr(browsermiddleware, ours.rpartition(".")[2])
        assert issubclass(cls, wrapped)
        # Each hook Django would register is stepped over for token calls too.
        for hook in ("process_view", "process_exception", "process_template_response"):
            assert hasattr(cls, hook) == hasattr(wrapped, hook)
            if hasattr(wrapped, hook):
                assert hook in vars(cls), (ours, hook)


def test_each_hook_of_a_wrapped_middleware_is_stepped_over_for_token_calls_only():
    # None of today's four has a view, exception or template-response hook; a later version may add one.
    calls = []

    class WithEveryHook:
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            calls.append("call")
            return self.get_response(request)

        def process_view(self, request, view_func, view_args, view_kwargs):
            calls.append("view")
            return "from the view hook"

        def process_exception(self, request, exception):
            calls.append("exception")
            return "from the exception hook"

        def process_template_response(self, request, response):
            calls.append("template")
            return "changed " + response

    middleware = browsermiddleware._browser_only(WithEveryHook)(lambda request: "answer")
    token_call = RequestFactory().get("/v1/customer_accounts", HTTP_X_AUTH_TOKEN="t")
    page = RequestFactory().get("/v1/customer_accounts", HTTP_X_AUTH_TOKEN="t", HTTP_COOKIE="a=1")
    hooks = (
        lambda request: middleware(request),
        lambda request: middleware.process_view(request, None, (), {}),
        lambda request: middleware.process_exception(request, ValueError()),
        lambda request: middleware.process_template_response(request, "response"),
    )
    assert [hook(token_call) for hook in hooks] == ["answer", None, None, "response"]
    assert calls == []
    assert [hook(page) for hook in hooks] == [
        "answer",
        "from the view hook",
        "from the exception hook",
        "changed response",
    ]
    assert calls == ["call", "view", "exception", "template"]


def test_every_route_and_method_answers_the_same_either_way(seeded, monkeypatch):
    token, values = seeded
    assert len(API_PATHS) > 20
    checked = 0
    for route in API_PATHS:
        for path in concrete(route, values):
            for method in METHODS:
                stepped_over = answer(path, method, token)
                with monkeypatch.context() as through:
                    through.setattr(browsermiddleware, "is_token_call", lambda request: False)
                    full = answer(path, method, token)
                assert stepped_over == full, (method, path)
                checked += 1
    assert checked == len(METHODS) * sum(len(concrete(route, values)) for route in API_PATHS)


def test_only_token_calls_without_a_cookie_under_v1_step_over_it(seeded, monkeypatch):
    token, values = seeded
    seen = []
    process_request = sessions.SessionMiddleware.process_request

    def spied(self, request):
        seen.append(request.path_info)
        return process_request(self, request)

    monkeypatch.setattr(sessions.SessionMiddleware, "process_request", spied)
    account = f"/v1/customer_accounts/{values['account']}"
    client = APIClient()
    assert client.get(account, HTTP_X_AUTH_TOKEN=token).status_code == 200
    assert seen == []
    client.cookies["anything"] = "1"  # a browser's call: through every middleware
    assert client.get(account, HTTP_X_AUTH_TOKEN=token).status_code == 200
    assert APIClient().get(account).status_code == 401  # no token
    assert APIClient().get("/", HTTP_X_AUTH_TOKEN=token).status_code in (200, 302)  # not the API
    assert seen == [account, account, "/"]
