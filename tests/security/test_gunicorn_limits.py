"""A served instance (gunicorn with gunicorn.conf.py): long request lines and headers reach Django, which answers a
fault; what gunicorn still refuses itself (past its limits, malformed headers) is a JSON fault too, never its HTML.

The server runs on a free port of 127.0.0.1 with a throwaway SQLite database; every request here is answered before
any query (no token: 401), so no migration is needed.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring as safe_xml

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('gunicorn')}/db.sqlite3",
        "DJANGO_SECRET_KEY": "test-only-secret-key-for-the-served-instance",
        "DJANGO_DEBUG": "0",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        "GUNICORN_LOGLEVEL": "warning",
    }
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [*command, "cmsportal.wsgi"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start within 60 s")
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(port, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one raw HTTP/1.1 request."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return status, headers, body


def _dechunk(data: bytes) -> bytes:
    body = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return body
        body, data = body + data[:size], data[size + 2 :]


def _get(port, target: str, *extra: str, accept="application/json") -> tuple[int, dict[str, str], bytes]:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", f"Accept: {accept}", "Connection: close", *extra]
    return _request(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def _json_fault(status, headers, body):
    assert headers["content-type"].startswith("application/json"), (headers, body[:300])
    assert b"<html" not in body.lower(), body[:300]
    [(name, fault)] = json.loads(body).items()
    assert fault["code"] == status
    assert b"<html" not in body.lower()
    return name, fault


def test_a_long_request_line_reaches_django(server):
    """A 6,000-byte request line (over gunicorn's default 4,094): Django answers, in the negotiated XML."""
    status, headers, body = _get(server, "/v1/customer_accounts/CLOUD/" + "9" * 6000, accept="application/xml")
    assert status == 401
    assert headers["content-type"].startswith("application/xml")
    assert safe_xml(body).get("code") == "401"


def test_a_request_line_past_the_limit_is_a_json_fault(server):
    status, headers, body = _get(server, "/v1/customer_accounts?domain=" + "x" * 9000)
    assert status == 414
    name, fault = _json_fault(status, headers, body)
    assert name == "badRequest"


def test_a_long_header_reaches_django(server):
    status, headers, body = _get(server, "/v1/customer_accounts", "X-Long: " + "y" * 12000, accept="application/xml")
    assert status == 401
    assert safe_xml(body).get("code") == "401"


def test_a_header_past_the_limit_is_a_json_fault(server):
    status, headers, body = _get(server, "/v1/customer_accounts", "X-Long: " + "y" * 20000)
    assert status == 431
    _json_fault(status, headers, body)


@pytest.mark.parametrize("value", ["a\x00b", "a\x01b", "a\x7fb"])
def test_a_bad_header_byte_is_a_fault(server, value):
    status, headers, body = _get(server, "/v1/customer_accounts", f"X-Bad: {value}")
    assert 400 <= status < 500
    _json_fault(status, headers, body)


def test_a_bad_request_line_is_a_json_fault(server):
    status, headers, body = _request(server, b"GET /v1/customer_accounts HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    assert status == 400
    _json_fault(status, headers, body)


def test_nul_in_the_path_is_django_s_fault(server):
    status, headers, body = _get(server, "/v1/customer_accounts/CLOUD/a%00b")
    assert status == 400
    name, fault = _json_fault(status, headers, body)
    assert "NUL" in fault["message"]
