"""gunicorn settings for cmsportal (`make serve`, the benchmark harness). Every value can be set from the environment.

GUNICORN_BIND        address to listen on (default 127.0.0.1:8000; `make serve` passes --bind HOST:PORT)
GUNICORN_WORKERS     worker processes (default 2 x CPU cores + 1)
GUNICORN_THREADS     threads per worker (default 2: a thread waits on PostgreSQL while the other answers)
GUNICORN_TIMEOUT     seconds before a silent worker is restarted (default 30)
GUNICORN_ACCESSLOG   access log file, "-" for stderr (default: off; one line per request costs throughput)
GUNICORN_LOGLEVEL    error log level (default info)
GUNICORN_CONTROL_SOCKET  path of gunicorn's runtime control socket (default: none; it is off)
GUNICORN_LIMIT_REQUEST_LINE        longest request line, bytes (default 8190, gunicorn's maximum; 0 = up to 1 MiB)
GUNICORN_LIMIT_REQUEST_FIELD_SIZE  longest header line, bytes (default 16384)

Requests gunicorn refuses itself (a request line or header over these limits, a malformed request line, a header
with bytes HTTP does not allow) are answered with a JSON fault body like the application's, not gunicorn's HTML page:
gunicorn cannot tell the path of a request it could not parse, so it cannot choose between a fault and a page.
"""

import json
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 2)
# With threads > 1 gunicorn uses the gthread worker; say so explicitly so the setting is visible.
worker_class = "gthread" if threads > 1 else "sync"
# Load Django once in the master: workers fork with the code already imported (fast start, shared memory).
# Database connections are opened lazily in each worker, after the fork, so none is shared.
preload_app = True
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak cannot grow without bound; jitter avoids all restarting together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Behind a TLS-terminating proxy on the same host, trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "cmsportal"
# The control socket is a runtime management interface at a fixed per-user path: off unless asked for,
# so that several servers (the benchmark runs two) do not contend for it.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")

# Long enough that Django, not gunicorn, answers any request line an API client or the staff pages can mean (a
# 255-character metadata key, a page of filters): a fault for an over-long identifier instead of gunicorn's 414.
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 16384)

# The fault names of cmsportal/api/faults.py for the statuses gunicorn answers itself.
_FAULT_NAMES = {403: "forbidden", 413: "overLimit", 500: "internalServerError", 503: "serviceUnavailable"}


def _write_fault(sock, status_int, reason, mesg):
    """gunicorn's own error answer, as a JSON fault body (`{"badRequest": {"code": 414, "message": ...}}`)."""
    from gunicorn import util

    name = _FAULT_NAMES.get(status_int, "badRequest" if status_int < 500 else "internalServerError")
    body = json.dumps({name: {"code": status_int, "message": f"{reason}: {mesg}" if mesg else reason}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def post_worker_init(worker):
    """Each worker answers the requests it refuses with a JSON fault (gunicorn writes them with util.write_error)."""
    from gunicorn import util

    util.write_error = _write_fault
