"""The feed under concurrent writers on PostgreSQL: a poller that keeps the newest id it saw and asks for
newer changes gets every committed change exactly once, while transactions commit out of order, one of
them holding its txid from the start to the very end, and one rolling back."""

import random
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.db import connections, transaction

from cmsportal.changes.choices import Action, ObjectType
from cmsportal.changes.models import Change
from cmsportal.changes.services import change_record
from cmsportal.identity.access import Actor
from tests.api.conftest import client_for, links
from tests.factories import UserFactory

from .feed_records import record, settle
from .test_feed import URL

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 4
TRANSACTIONS = 6  # per writer
BUDGET = 20.0  # seconds, the whole test


def _write(label: str, count: int) -> list[int]:
    """`count` changes in the current transaction; their ids."""
    return [
        change_record(
            object_type=ObjectType.ACCOUNT,
            object_key=f"CLOUD/{label}-{n}",
            account_key=f"CLOUD/{label}-{n}",
            action=Action.UPDATE,
            before={"n": n},
            after={"n": n + 1},
            actor=Actor(label, "SYSTEM"),
        ).id
        for n in range(count)
    ]


class Poller:
    """A feed consumer: remembers the newest id it saw, asks for newer ones, follows `previous` to the end."""

    def __init__(self, client, newest: str):
        self.client, self.newest, self.seen = client, newest, []

    def poll(self) -> None:
        url = f"{URL}?marker={self.newest}&direction=backward&limit=3"
        while url:
            response = self.client.get(url)
            assert response.status_code == 200, response.content
            body = response.json()
            self.seen.extend(int(change["id"]) for change in reversed(body["change"]))
            if body["change"]:
                self.newest = body["change"][0]["id"]
            following = links(body).get("previous")
            url = following and following.replace("http://testserver", "")
            assert not following or urlsplit(following).netloc == "testserver"


def test_a_poller_sees_every_committed_change_once(db):
    start = time.monotonic()
    client = client_for(UserFactory(username="poller", is_staff=True, view_all=True))
    poller = Poller(client, str(record().id))  # the consumer starts from the newest change there is

    committed: list[int] = []
    lock = threading.Lock()
    slow_has_txid = threading.Event()
    release_slow = threading.Event()
    errors: list[BaseException] = []
    slow_txid: list[int] = []

    def guarded(work):
        def run(*args):
            try:
                work(*args)
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)
                slow_has_txid.set()
                release_slow.set()
            finally:
                connections.close_all()

        return run

    @guarded
    def slow():
        # Takes its txid first (its first change), and commits last, after every other writer and several polls.
        with transaction.atomic():
            ids = _write("slow", 1)
            slow_txid.append(Change.objects.get(pk=ids[0]).txid)
            slow_has_txid.set()
            assert release_slow.wait(timeout=BUDGET)
            ids += _write("slow-late", 2)
        with lock:
            committed.extend(ids)

    @guarded
    def writer(i):
        assert slow_has_txid.wait(timeout=BUDGET)
        rng = random.Random(i)
        for t in range(TRANSACTIONS):
            with transaction.atomic():
                ids = _write(f"w{i}-{t}", rng.randint(1, 3))
                time.sleep(rng.uniform(0, 0.02))  # commits interleave out of txid order
            with lock:
                committed.extend(ids)
        # One transaction that rolls back: its changes never appear.
        try:
            with transaction.atomic():
                _write(f"w{i}-rollback", 2)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    threads = [threading.Thread(target=slow)] + [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()

    # While the writers run, the slow transaction holds the horizon: nothing at or above its txid shows.
    assert slow_has_txid.wait(timeout=BUDGET)
    while any(thread.is_alive() for thread in threads[1:]) and time.monotonic() - start < BUDGET / 2:
        poller.poll()
        time.sleep(0.01)
    for thread in threads[1:]:
        thread.join(timeout=BUDGET)
    poller.poll()
    seen_while_open = list(poller.seen)
    assert not errors, errors
    assert slow_txid
    shown = Change.objects.filter(pk__in=seen_while_open, txid__gte=slow_txid[0])
    assert not shown.exists(), "a change at or above the open transaction's txid was shown"

    release_slow.set()
    threads[0].join(timeout=BUDGET)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    expected = sorted(committed)
    assert len(expected) >= 1 + WRITERS * TRANSACTIONS

    # Until the feed may show the last commit; waiting on other databases' transactions is not ours to bound.
    foreign = settle(Change.objects.order_by("-txid").values_list("txid", flat=True).first(), timeout=BUDGET)
    while sorted(poller.seen) != expected and time.monotonic() - start - foreign < BUDGET:
        time.sleep(0.05)
        poller.poll()
    assert len(poller.seen) == len(set(poller.seen)), "a change was shown twice"
    assert sorted(poller.seen) == expected, "the poller missed changes or saw uncommitted ones"
    # Besides them, only the poller's token (issued before it started, so below its first marker).
    recorded = Change.objects.exclude(object_key__contains="rollback").exclude(object_type=ObjectType.TOKEN)
    assert recorded.count() == len(expected) + 1
    assert not Change.objects.filter(object_key__contains="rollback").exists()
    assert time.monotonic() - start - foreign < BUDGET
