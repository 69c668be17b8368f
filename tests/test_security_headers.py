"""Security headers: a Content-Security-Policy on every page, no inline script or style in any template,
no caching of the API's answers, and a deployment configuration that `check --deploy` finds nothing in."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from cmsportal.headers import DEFAULT_POLICY
from cmsportal.identity import services
from tests.factories import AccountFactory, StaffFactory

ROOT = Path(settings.BASE_DIR)
POLICY = DEFAULT_POLICY


def _sample(route: str) -> str:
    """A concrete path for a route or regex of the URL conf: every parameter filled with a plain value."""
    path = route.replace("(?P<format>json|xml)", "json")
    path = re.sub(r"\(\?:[^)]*\)\?", "", path)
    path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", lambda m: m.group(2).split("|")[0] if "|" in m.group(2) else "x", path)
    path = re.sub(r"<(?:\w+:)?\w+>", "1", path)
    path = path.replace(".*?", "x").replace("^", "").replace("$", "").replace("\\", "")
    return "/" + path


def url_conf_paths() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield _sample(route)

    return sorted(set(walk(get_resolver().url_patterns)))


PATHS = url_conf_paths()


def test_every_route_of_the_url_conf_is_enumerated():
    assert len(PATHS) > 100
    assert {"/", "/login/", "/admin/login/", "/v1/docs", "/v2.0/tokens", "/v1/customer_accounts"} <= set(PATHS)
    assert not [path for path in PATHS if re.search(r"[<>()?^$\\]", path)]


@pytest.fixture
def staff_client(client, db):
    client.force_login(StaffFactory(username="staff-headers", is_superuser=True))
    return client


@pytest.mark.django_db
def test_every_page_has_the_content_security_policy(client, staff_client):
    AccountFactory()
    from django.test import Client

    anonymous = Client()
    missing = []
    for path in PATHS:
        for who, c in (("anonymous", anonymous), ("staff", staff_client)):
            response = c.get(path)
            if response.get("Content-Security-Policy") != POLICY:
                missing.append((who, path, response.status_code))
    assert not missing


@pytest.mark.django_db
def test_error_pages_and_redirects_have_it_too(client):
    for path in ("/no-such-page/", "/customers/", "/admin/"):
        response = client.get(path)
        assert response.status_code in (302, 404)
        assert response["Content-Security-Policy"] == POLICY


def test_the_policy_forbids_inline_script_and_style():
    directives = dict(part.strip().split(" ", 1) for part in POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in POLICY


TEMPLATE_FILES = sorted((ROOT / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_handlers_or_styles(template):
    text = template.read_text()
    for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
        assert not pattern.search(text), f"{template}: {pattern.pattern}"


def test_templates_were_found():
    assert len(TEMPLATE_FILES) > 10


def test_static_javascript_writes_no_inline_handlers_or_style_attributes():
    for script in (ROOT / "static").rglob("*.js"):
        text = script.read_text()
        assert not re.search(r"""['"<]\s*\w*\s*on[a-z]+\s*=\s*['"]""", text), script
        assert "style=" not in text, script


@pytest.mark.django_db
def test_api_docs_page_starts_swagger_ui_from_a_static_script(client):
    response = client.get("/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    # The one main landmark is the one Swagger UI renders (main#operations); the page adds none around it.
    assert "<main" not in page and 'href="/"' in page
    assert '<script src="/static/js/docs.js"' in page
    assert not INLINE_SCRIPT.search(page) and not STYLE_ELEMENT.search(page) and not HANDLER.search(page)
    assert 'data-schema-url="/v1/openapi.json"' in page
    assert response["Content-Security-Policy"] == POLICY


# Caching


@pytest.mark.django_db
def test_authenticated_api_answers_are_not_stored(client):
    staff = StaffFactory(username="api-headers")
    token = services.token_issue(staff, [services.PASSWORD])[1]
    response = client.get("/v1/customer_accounts", HTTP_X_AUTH_TOKEN=token)
    assert response.status_code == 200
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}


@pytest.mark.django_db
def test_token_answers_are_not_stored(client):
    StaffFactory(username="tok-headers")
    body = {"auth": {"passwordCredentials": {"username": "tok-headers", "password": "correct horse battery staple"}}}
    response = client.post("/v2.0/tokens", body, content_type="application/json")
    assert response.status_code == 200
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    response = client.post("/v2.0/tokens", {"auth": {}}, content_type="application/json")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_public_api_description_stays_cacheable(client):
    for path in ("/v1/openapi.json", "/v1/docs"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.get("Cache-Control", "")


# Deployment


def _run_manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CMS_"))}
    environment.update(env)
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_finds_nothing_with_https():
    result = _run_manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_HTTPS="1", DJANGO_SECRET_KEY=secrets.token_urlsafe(60)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PRINT_HSTS = (
    "from django.conf import settings as s; "
    "print('HSTS', s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"
)


def _hsts(**env):
    result = _run_manage("shell", "-c", PRINT_HSTS, **env)
    line = next((line for line in result.stdout.splitlines() if line.startswith("HSTS ")), None)
    assert line, result.stdout + result.stderr
    return line.split()[1:]


def test_hsts_include_subdomains_and_preload_are_on_by_default_with_https_and_settable():
    key = secrets.token_urlsafe(60)
    assert _hsts(DJANGO_HTTPS="1", DJANGO_SECRET_KEY=key) == ["31536000", "True", "True"]
    off = {"DJANGO_HSTS_INCLUDE_SUBDOMAINS": "0", "DJANGO_HSTS_PRELOAD": "0"}
    assert _hsts(DJANGO_HTTPS="1", DJANGO_SECRET_KEY=key, **off) == ["31536000", "False", "False"]
