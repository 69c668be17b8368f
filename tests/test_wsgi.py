"""The WSGI entry point: a server process leaves out DRF's optional imports the application never uses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
import cmsportal.wsgi
from django.test import Client
from django.urls import resolve

from cmsportal.wsgi import SERVER_OMITS

resolve("/v1/customer_accounts")
import drf_spectacular.openapi  # what a worker imports
import rest_framework.compat
assert Client().get("/v1/customer_accounts").status_code == 401
print(sorted(name for name in SERVER_OMITS if sys.modules.get(name) is not None))
print(rest_framework.compat.requests, rest_framework.compat.pygments)
"""


@pytest.mark.parametrize("name", ["requests", "pygments"])
def test_the_omitted_modules_are_installed_here(name):
    """Otherwise the test below would prove nothing: the test environment has them (the test extra)."""
    __import__(name)


def test_a_server_process_loads_neither_requests_nor_pygments():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cmsportal.settings", "DJANGO_DEBUG": "0"}
    env.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-W", "ignore", "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["[]", "None None"]
