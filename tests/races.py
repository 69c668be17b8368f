"""Real threads released together, for the race tests (PostgreSQL, transactional test database)."""

import threading

from django.db import connections

WRITERS = 10


def race(work, count=WRITERS) -> list:
    """Run work(i) in `count` threads released together; their results (or exceptions), in order of i."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 (reported by the assertions)
            results[i] = exc
        finally:
            connections.close_all()  # the thread's own connection, so the test database can be dropped

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results
