"""The README's API examples work verbatim against the demo data.

A server is set up the way `make run` sets it up (migrate, seed_demo --if-empty, demo_user, runserver) on a
database of its own (an SQLite file in a temporary directory) and a free port; every shell block of README.md
that calls the API is run with bash, in the README's order, as written: only the address
http://127.0.0.1:8000 becomes the test server's, and `$TOKEN` carries over from the block that sets it.
curl is told (by a .curlrc, not by editing the commands) to fail on an HTTP error, so a refused call fails
the test with its fault body.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from defusedxml import ElementTree

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTED = "http://127.0.0.1:8000"
BASH = shutil.which("bash")
CURL = shutil.which("curl")

pytestmark = pytest.mark.skipif(not (BASH and CURL), reason="needs bash and curl")


def code_blocks(markdown: str) -> list[str]:
    """The code blocks of `markdown`, dedented: fenced (```), and indented (four or more spaces, after a blank
    line; blank lines inside belong to the block when an indented line follows)."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    fenced = False
    previous_blank = True
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            if fenced:
                blocks.append(current)
                current, fenced = None, False
            else:
                if current:
                    blocks.append(current)
                current, fenced = [], True
            continue
        if fenced:
            current.append(line)
            continue
        blank = not line.strip()
        indented = line.startswith("    ")
        if current is not None:
            if indented or blank:
                current.append(line)
                continue
            blocks.append(current)
            current = None
        if indented and previous_blank:
            current = [line]
        previous_blank = blank
    if current:
        blocks.append(current)
    result = []
    for lines in blocks:
        margin = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
        result.append("\n".join(ln[margin:] for ln in lines).strip())
    return [block for block in result if block]


def api_examples(markdown: str) -> list[str]:
    return [block for block in code_blocks(markdown) if "curl " in block and DOCUMENTED in block]


def test_code_blocks_are_found_as_written():
    markdown = (
        "Text\n\n    curl -s http://x/a \\\n      -H 'A: b'\n\nMore\n\n```\nTOKEN=1\n```\n\n- item:\n\n      deep\n"
    )
    assert code_blocks(markdown) == ["curl -s http://x/a \\\n  -H 'A: b'", "TOKEN=1", "deep"]


# --- the server --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our test server)
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url} within {seconds} s")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A server as `make run` starts it, with the demo data loaded, on a free port; stopped afterwards."""
    home = tmp_path_factory.mktemp("readme")
    (home / ".curlrc").write_text("fail-with-body\nshow-error\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL", "CMS_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{home / 'db.sqlite3'}",
        DJANGO_SECRET_KEY="readme-examples-test",
        DJANGO_DEBUG="1",
        CURL_HOME=str(home),
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    python = sys.executable
    for command in (["migrate", "--noinput"], ["seed_demo", "--if-empty"], ["demo_user"]):
        subprocess.run(  # noqa: S603 (our own manage.py)
            [python, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/login/", server)
        yield {"base": base, "env": env}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run_block(block: str, server: dict, token: str) -> tuple[str, str]:
    """Run a README block with bash against the test server; its output, and $TOKEN afterwards."""
    script = "set -eo pipefail\n" + block.replace(DOCUMENTED, server["base"]) + '\nprintf "\\n@@TOKEN=%s" "${TOKEN-}"\n'
    result = subprocess.run(  # noqa: S603
        [BASH, "-c", script],
        cwd=ROOT,
        env={**server["env"], "TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, (
        f"this README example failed ({result.returncode}):\n{block}\n{result.stdout}\n{result.stderr}"
    )
    output, _, token_after = result.stdout.rpartition("\n@@TOKEN=")
    return output.strip(), token_after


def token_status(server: dict, token: str) -> int:
    url = server["base"] + "/v1/customer_accounts?limit=1"
    request = urllib.request.Request(url, headers={"X-Auth-Token": token})  # noqa: S310 (our test server)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our test server)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# Each example the README must keep, how to know it, and what its output must show.
def _token_of(output: str) -> str:
    return json.loads(output)["access"]["token"]["id"]


def check_password_token(output, token):
    assert _token_of(output)


def check_apikey_token(output, token):
    assert json.loads(output)["access"]["token"]["id"]


def check_token_variable(output, token):
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", token), token


def check_list(output, token):
    body = json.loads(output)
    assert len(body["customerAccount"]) == 2
    assert any(link["rel"] == "NEXT" for link in body["link"])


def check_xml(output, token):
    root = ElementTree.fromstring(output)
    assert root.tag.endswith("customerAccount") and root.get("id") == "10101" and root.get("type") == "CLOUD"


def check_metadata(output, token):
    detail = json.loads(output)
    assert detail["key"] == "support:level" and detail["value"] == "navigator"


EXAMPLES = [
    ("token by password", lambda b: "passwordCredentials" in b and "TOKEN=" not in b, check_password_token),
    ("token by API key", lambda b: "apiKeyCredentials" in b, check_apikey_token),
    ("token into $TOKEN", lambda b: "TOKEN=$(" in b, check_token_variable),
    ("list two accounts", lambda b: "customer_accounts?limit=2" in b, check_list),
    ("one account in XML", lambda b: "customer_accounts/CLOUD/10101.xml" in b, check_xml),
    ("set metadata, read its detail", lambda b: "-X PUT" in b and "metadata/support:level" in b, check_metadata),
    ("revoke the token", lambda b: "-X DELETE" in b and "/v2.0/tokens/$TOKEN" in b, None),
]


def test_the_readme_keeps_its_api_examples():
    blocks = api_examples(README.read_text(encoding="utf-8"))
    for name, recognise, _ in EXAMPLES:
        assert sum(1 for block in blocks if recognise(block)) == 1, f"README.md has no single example: {name}"


def test_the_readme_api_examples_work_verbatim_on_the_demo_data(demo_server):
    token = ""
    ran = []
    for block in api_examples(README.read_text(encoding="utf-8")):
        before = token
        output, token = run_block(block, demo_server, token)
        for name, recognise, check in EXAMPLES:
            if recognise(block):
                ran.append(name)
                if check:
                    check(output, token)
                if name == "revoke the token":
                    assert before and token_status(demo_server, before) == 401
    assert ran == [name for name, _, _ in EXAMPLES]
