"""Webhooks end to end: the outbox written with the change, the worker POSTing to a real receiver on loopback
(which checks every signature with the documented example), order per object, retries with backoff, dead
letters and the admin's resend, filters, and (on PostgreSQL) two workers at once."""

import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmsportal import dates
from cmsportal.changes import outbox
from cmsportal.changes.delivery import Worker, backoff, body_of, post, sign
from cmsportal.changes.models import ACCOUNT_KEYED, Change, Delivery, DeliveryState, Subscription, account_key_of
from cmsportal.changes.services import change_record
from cmsportal.identity.access import Actor
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a shared secret of some length"


def documented_examples() -> list[str]:
    """The signature check of docs/WEBHOOKS.md (exactly one), and any copy of it in README.md."""
    found = []
    for name, required in (("docs/WEBHOOKS.md", True), ("README.md", False)):
        text = (ROOT / name).read_text(encoding="utf-8")
        blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify_delivery" in b]
        assert len(blocks) == 1 or (not required and not blocks), f"{name}: {len(blocks)} verify_delivery examples"
        found += blocks
    return found


def load(example: str):
    namespace: dict = {}
    exec(compile(example, "example", "exec"), namespace)  # noqa: S102 (the documentation's own example)
    return namespace["verify_delivery"]


VERIFIERS = [load(example) for example in documented_examples()]


class Receiver:
    """An HTTP server on loopback that records every POST, checks its signature with every documented example,
    and answers as its script says (a status, "close" to drop the connection, "slow" to answer too late)."""

    def __init__(self):
        self.received: list[dict] = []
        self.script: list = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    behaviour = receiver.script.pop(0) if receiver.script else 204
                    if receiver.rule is not None:
                        behaviour = receiver.rule(json.loads(body)) or behaviour
                    receiver.received.append(
                        {
                            "headers": self.headers,
                            "body": body,
                            "verified": [verify(SECRET, self.headers, body) for verify in VERIFIERS],
                            "answer": behaviour,
                        }
                    )
                if behaviour == "close":
                    self.close_connection = True
                    return
                if behaviour == "slow":
                    time.sleep(1.5)
                    behaviour = 204
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(behaviour)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.delay = 0.0
        self.rule = None  # payload -> an answer, before the script's
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks?src=cms"

    def bodies(self) -> list[dict]:
        return [json.loads(item["body"]) for item in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def subscribe(receiver, name="hooks", **values) -> Subscription:
    return outbox.subscription_create(name=name, url=receiver.url, secret=SECRET, **values)[0]


def record(key="CLOUD/100001", object_type="account", action="update", n=0) -> Change:
    with transaction.atomic():
        return change_record(
            object_type=object_type,
            object_key=key,
            account_key=account_key_of(object_type, key) if object_type in ACCOUNT_KEYED else None,
            action=action,
            before={"n": n},
            after={"n": n + 1},
            actor=Actor.system(),
        )


def worker(**options) -> Worker:
    return Worker(**{"connect_timeout": 2, "read_timeout": 2, "concurrency": 4, **options})


def make_due():
    Delivery.objects.filter(state=DeliveryState.PENDING).update(next_attempt_at=dates.now() - timedelta(seconds=1))


# --- signing and the documented check --------------------------------------------------------------------------


def test_a_delivery_is_signed_and_the_documented_check_accepts_it(db, receiver):
    subscription = subscribe(receiver)
    change = record()
    assert worker().drain() == 1
    [got] = receiver.received
    assert got["verified"] == [True] * len(VERIFIERS) and VERIFIERS
    headers, body = got["headers"], got["body"]
    delivery = Delivery.objects.get()
    assert headers["X-Cms-Event"] == "account.update"
    assert headers["X-Cms-Delivery"] == str(delivery.pk)
    assert headers["Content-Type"] == "application/json"
    timestamp = headers["X-Cms-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 30
    assert headers["X-Cms-Signature"] == sign(SECRET, timestamp, body)
    payload = receiver.bodies()[0]
    assert payload["event"] == "account.update" and payload["subscription"] == subscription.name
    assert payload["delivery"] == str(delivery.pk) and payload["attempt"] == 1
    assert payload["change"]["id"] == str(change.pk) and payload["change"]["after"] == {"n": 1}
    assert delivery.state == DeliveryState.DELIVERED and delivery.last_status == 204 and delivery.delivered_at

    # The documented check refuses a changed body, another secret, a replay later on, and a missing header.
    for verify in VERIFIERS:
        assert not verify(SECRET, headers, body.replace(b'"n":1', b'"n":2'))
        assert not verify("another secret entirely", headers, body)
        assert not verify(SECRET, headers, body, now=int(timestamp) + 301)
        assert verify(SECRET, headers, body, now=int(timestamp) + 299)
        assert not verify(SECRET, {"X-Cms-Signature": headers["X-Cms-Signature"]}, body)


def test_the_payload_and_signature_are_the_documented_ones(db, receiver):
    """What the worker signs: the timestamp, a dot, the body (so the timestamp cannot be swapped)."""
    import hashlib
    import hmac

    subscribe(receiver)
    record()
    delivery = Delivery.objects.select_related("change", "subscription").get()
    body = body_of(delivery)
    expected = hmac.new(SECRET.encode(), b"1780000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1780000000", body) == f"sha256={expected}"
    assert sign(SECRET, "1780000001", body) != sign(SECRET, "1780000000", body)


# --- the outbox --------------------------------------------------------------------------------------------------


def test_a_change_that_rolls_back_leaves_no_delivery(db, receiver):
    subscribe(receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        change_record(
            object_type="account", object_key="CLOUD/1", account_key="CLOUD/1", action="update", actor=Actor.system()
        )
        assert Delivery.objects.count() == 1  # written in the change's transaction...
        raise RuntimeError("the change fails")
    assert Delivery.objects.count() == 0 and Change.objects.count() == 0  # ...and gone with it
    assert worker().drain() == 0 and receiver.received == []


@pytest.mark.parametrize("subscriptions", [0, 1, 5])
def test_the_outbox_costs_one_statement_whatever_the_subscriptions(db, receiver, subscriptions):
    """On PostgreSQL the change and its deliveries are one statement (a WITH of two INSERTs); elsewhere the
    deliveries are one INSERT ... SELECT after the change's."""
    for number in range(subscriptions):
        subscribe(receiver, name=f"hooks-{number}")
    subscribe(receiver, name="off", enabled=False)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        change = change_record(
            object_type="account", object_key="CLOUD/1", account_key="CLOUD/1", action="update", actor=Actor.system()
        )
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "WITH"))]
    if connection.vendor == "postgresql":
        assert len(writes) == 1
        assert (
            f"INSERT INTO {Change._meta.db_table}" in writes[0]
            and f"INSERT INTO {Delivery._meta.db_table}" in writes[0]
        )
    else:
        assert len(writes) == 2 and Delivery._meta.db_table in writes[1]
    assert Delivery.objects.count() == subscriptions
    assert set(Delivery.objects.values_list("change_id", flat=True)) == ({change.id} if subscriptions else set())
    stored = Change.objects.get()
    assert (stored.id, stored.txid, stored.object_key, stored.action) == (change.id, change.txid, "CLOUD/1", "update")


def test_filters_by_object_type_and_action(db, receiver):
    everything = subscribe(receiver, name="everything")
    accounts = subscribe(receiver, name="accounts", object_types=["account"])
    deletes = subscribe(receiver, name="deletes", actions=["delete", "merge"])
    grants = subscribe(receiver, name="grants", object_types=["tenant_grant", "api_key"], actions=["role_add"])
    disabled = subscribe(receiver, name="disabled", enabled=False)
    record(object_type="account", action="update")
    record(object_type="customer", key="RCN-1", action="delete")
    record(object_type="tenant_grant", key="u t", action="role_add")
    record(object_type="api_key", key="u k", action="issue")
    got = {
        s.name: sorted(Delivery.objects.filter(subscription=s).values_list("change__object_type", "change__action"))
        for s in (everything, accounts, deletes, grants, disabled)
    }
    assert got == {
        "everything": [
            ("account", "update"),
            ("api_key", "issue"),
            ("customer", "delete"),
            ("tenant_grant", "role_add"),
        ],
        "accounts": [("account", "update")],
        "deletes": [("customer", "delete")],
        "grants": [("tenant_grant", "role_add")],
        "disabled": [],
    }


def test_a_disabled_subscription_s_deliveries_wait(db, receiver):
    subscription = subscribe(receiver)
    record(n=0)
    outbox.subscription_update(subscription=subscription, enabled=False)
    record(n=1)  # not queued: the subscription is disabled
    assert worker().drain() == 0 and receiver.received == []
    outbox.subscription_update(subscription=subscription, enabled=True)
    assert worker().drain() == 1
    assert [body["change"]["before"] for body in receiver.bodies()] == [{"n": 0}]


def test_subscriptions_are_checked(db):
    with pytest.raises(ValidationError, match="url"):
        outbox.subscription_create(name="ftp", url="ftp://example.com/hooks", secret=SECRET)
    with pytest.raises(ValidationError, match="url"):
        outbox.subscription_create(name="file", url="file:///etc/passwd", secret=SECRET)
    with pytest.raises(ValidationError, match="secret"):
        outbox.subscription_create(name="short", url="https://example.com/", secret="short")
    with pytest.raises(ValidationError, match="object_types"):
        outbox.subscription_create(name="odd", url="https://example.com/", object_types=["planet"])
    subscription, secret = outbox.subscription_create(name="ok", url="https://example.com/")
    assert len(secret) >= 40 and subscription.secret == secret and subscription.masked_secret == f"…{secret[-4:]}"
    with pytest.raises(ValidationError, match="actions"):
        outbox.subscription_update(subscription=subscription, actions=["explode"])
    with pytest.raises(TypeError):
        outbox.subscription_update(subscription=subscription, secret="x" * 20)


# --- order, retries, dead letters ---------------------------------------------------------------------------------


def test_an_object_s_deliveries_go_out_in_order_and_wait_for_a_failing_one(db, receiver):
    subscribe(receiver)
    for n in range(3):
        record(key="CLOUD/1", n=n)
        record(key="CLOUD/2", n=n)
    # CLOUD/1's first change fails, once.
    first = Delivery.objects.filter(object_key="CLOUD/1").order_by("id").first()
    receiver.rule = lambda body: 500 if body["delivery"] == str(first.pk) and body["attempt"] == 1 else None
    worker(concurrency=4).drain()

    def sent(key, bodies):
        return [(b["change"]["before"]["n"], b["attempt"]) for b in bodies if b["change"]["objectKey"] == key]

    # CLOUD/1 waits behind its failed first change; CLOUD/2 goes out, in order.
    assert sent("CLOUD/1", receiver.bodies()) == [(0, 1)]
    assert sent("CLOUD/2", receiver.bodies()) == [(0, 1), (1, 1), (2, 1)]
    make_due()
    worker(concurrency=4).drain()
    assert sent("CLOUD/1", receiver.bodies()[4:]) == [(0, 2), (1, 1), (2, 1)]
    assert len(receiver.received) == 7
    assert all(all(item["verified"]) for item in receiver.received)
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED}


def test_a_failing_receiver_is_retried_with_backoff_then_recovers(db, receiver, caplog):
    caplog.set_level("INFO", logger="cmsportal.changes.delivery")
    subscribe(receiver)
    record()
    receiver.script = [500, "close", "slow"]
    hooks = worker(backoff_base=10, backoff_cap=25, read_timeout=0.5)

    def attempt():
        before = dates.now()
        hooks.drain()
        delivery = Delivery.objects.get()
        return delivery, (delivery.next_attempt_at - before).total_seconds()

    delivery, wait = attempt()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert "500" in delivery.last_error and 5 - 1 <= wait <= 10 + 1
    assert hooks.drain() == 0  # not due yet: nothing is sent
    make_due()
    delivery, wait = attempt()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 2, None)
    assert "Disconnected" in delivery.last_error and 10 - 1 <= wait <= 20 + 1
    make_due()
    delivery, wait = attempt()  # the receiver answers after the read timeout: a failure
    assert (delivery.state, delivery.attempts) == ("pending", 3) and "timed out" in delivery.last_error
    assert 12.5 - 1 <= wait <= 25 + 1  # capped
    make_due()
    delivery, _ = attempt()
    assert (delivery.state, delivery.attempts, delivery.last_status, delivery.last_error) == ("delivered", 4, 204, "")
    assert [body["attempt"] for body in receiver.bodies()] == [1, 2, 3, 4]
    # One line per attempt: what happened, and when it is tried again.
    lines = [r.getMessage() for r in caplog.records if r.name == "cmsportal.changes.delivery"]
    assert len(lines) == 4 and all(f"delivery {delivery.pk} " in line for line in lines)
    assert "attempt 1/8: HTTP 500" in lines[0] and "retry in" in lines[0]
    assert "attempt 4/8: delivered (HTTP 204" in lines[3]
    assert {body["delivery"] for body in receiver.bodies()} == {str(delivery.pk)}


def test_no_answer_is_a_failure_with_its_reason():
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: the connection is refused
        refused = post(f"http://127.0.0.1:{port}/", b"{}", {}, connect_timeout=1, read_timeout=1)
    assert not refused.delivered and refused.status is None and "refused" in refused.error.lower()
    bad = post("http://[::1/", b"{}", {}, connect_timeout=1, read_timeout=1)
    assert not bad.delivered and bad.error.startswith("Bad URL")


def test_backoff_grows_with_jitter_and_is_capped():
    for attempt in range(1, 12):
        delay = min(3600, 10 * 2 ** (attempt - 1))
        waits = {backoff(attempt, base=10, cap=3600).total_seconds() for _ in range(20)}
        assert all(delay / 2 <= wait <= delay for wait in waits) and len(waits) > 1


def test_dead_after_max_attempts_then_resent_from_the_admin(db, receiver, client):
    subscribe(receiver, max_attempts=3)
    record(key="CLOUD/1", n=0)
    receiver.script = [500, 503, "close"]
    for _ in range(3):
        worker().drain()
        make_due()
    dead = Delivery.objects.get()
    assert (dead.state, dead.attempts) == (DeliveryState.DEAD, 3)
    # A dead delivery does not hold the object's next change back.
    record(key="CLOUD/1", n=1)
    assert worker().drain() == 1
    assert receiver.bodies()[-1]["change"]["before"] == {"n": 1}

    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    changelist = reverse("admin:changes_delivery_changelist")
    page = client.get(changelist, {"state__exact": "dead"})
    assert page.status_code == 200 and list(page.context["cl"].result_list) == [dead]
    response = client.post(
        changelist, {"action": "resend_deliveries", "_selected_action": [str(dead.pk)], "index": "0"}
    )
    assert response.status_code == 302
    dead.refresh_from_db()
    assert (dead.state, dead.attempts, dead.last_error) == (DeliveryState.PENDING, 0, "")
    assert worker().drain() == 1
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (DeliveryState.DELIVERED, 1)
    assert receiver.bodies()[-1]["delivery"] == str(dead.pk) and all(receiver.received[-1]["verified"])


# --- the admin -----------------------------------------------------------------------------------------------------


def test_the_admin_shows_a_subscription_s_secret_once(db, client, receiver):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    add = reverse("admin:changes_subscription_add")
    data = {"name": "billing", "url": receiver.url, "enabled": "on", "object_types": ["account"], "max_attempts": "5"}
    response = client.post(add, data)
    subscription = Subscription.objects.get()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert subscription.secret in response.content.decode() and len(subscription.secret) >= 40
    change = client.get(reverse("admin:changes_subscription_change", args=[subscription.pk])).content.decode()
    assert subscription.secret not in change and subscription.masked_secret in change
    assert subscription.secret not in client.get(reverse("admin:changes_subscription_changelist")).content.decode()
    response = client.post(add, {**data, "name": "typed", "signing_secret": SECRET})
    assert SECRET in response.content.decode() and Subscription.objects.get(name="typed").secret == SECRET
    response = client.post(add, {**data, "name": "bad", "url": "ftp://example.com/"})
    assert response.status_code == 200 and not Subscription.objects.filter(name="bad").exists()


def test_only_those_who_see_everything_manage_webhooks(db, client):
    from django.contrib.auth.models import Permission

    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(content_type__app_label="changes"))
    client.force_login(clerk)
    assert client.get(reverse("admin:changes_subscription_add")).status_code == 403
    assert client.get(reverse("admin:changes_delivery_changelist")).status_code == 403


# --- the command and the worker's life ----------------------------------------------------------------------------


def test_the_command_drains_once(db, receiver):
    subscribe(receiver)
    record()
    record(key="CLOUD/2")
    call_command("cms_deliver", "--once", "--concurrency", "2")
    assert len(receiver.received) == 2
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED}
    with pytest.raises(CommandError, match="--batch"):
        call_command("cms_deliver", "--once", "--batch", "0")


def test_the_worker_stops_when_asked(db):
    hooks = worker()
    runner = threading.Thread(target=hooks.run, kwargs={"poll": 30})
    runner.start()
    time.sleep(0.2)
    hooks.stop()
    runner.join(timeout=5)
    assert not runner.is_alive()


# --- two workers at once (PostgreSQL) ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_a_delivery_twice_and_keep_each_object_s_order(receiver):
    subscribe(receiver)
    objects, per_object = 6, 4
    for n in range(per_object):
        for number in range(objects):
            record(key=f"CLOUD/{number}", n=n)
    receiver.delay = 0.02  # requests overlap, so the workers do
    total = objects * per_object
    errors = []

    def run():
        hooks = worker(batch=3, concurrency=2)
        deadline = time.monotonic() + 20
        try:
            while Delivery.objects.filter(state=DeliveryState.PENDING).exists() and time.monotonic() < deadline:
                if not hooks.drain():
                    time.sleep(0.02)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    runners = [threading.Thread(target=run) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=30)
    assert not errors
    bodies = receiver.bodies()
    ids = [body["delivery"] for body in bodies]
    assert len(ids) == len(set(ids)) == total  # every delivery, each once
    for number in range(objects):
        sent = [body["change"]["before"]["n"] for body in bodies if body["change"]["objectKey"] == f"CLOUD/{number}"]
        assert sent == list(range(per_object))
    assert Delivery.objects.filter(state=DeliveryState.DELIVERED, attempts=1).count() == total


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_command_delivers_and_stops_on_sigterm(receiver):
    """`manage.py cms_deliver` as deployed: a process of its own, delivering, then stopping cleanly on SIGTERM."""
    import os
    import signal
    import subprocess
    import sys

    subscribe(receiver)
    record()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    process = subprocess.Popen(  # noqa: S603 (this interpreter, this project's manage.py)
        [sys.executable, "manage.py", "cms_deliver", "--poll", "0.2"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "0"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not receiver.received and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert receiver.received and all(receiver.received[0]["verified"])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    log = process.stderr.read()
    assert "delivered (HTTP 204" in log and "webhook worker stopped" in log
    assert Delivery.objects.get().state == DeliveryState.DELIVERED
