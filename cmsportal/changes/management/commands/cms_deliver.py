"""The webhook worker: delivers the outbox's due deliveries (see cmsportal.changes.delivery)."""

import signal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from cmsportal.changes.delivery import Worker

__all__ = ["Command"]


class Command(BaseCommand):
    help = (
        "Deliver webhooks: POST each due delivery to its subscription, signed; retry failures with backoff. "
        "Runs until SIGTERM or Ctrl-C (finishing the batch under way); --once drains what is due and exits. "
        "Several workers may run at once on PostgreSQL; on SQLite run one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Deliver what is due now, then exit (tests, cron).")
        parser.add_argument("--batch", type=int, default=50, help="Deliveries claimed at a time (default 50).")
        parser.add_argument("--concurrency", type=int, default=4, help="Requests at once within a batch (default 4).")
        parser.add_argument("--poll", type=float, default=2.0, help="Seconds between looks when idle (default 2).")
        parser.add_argument("--connect-timeout", type=float, default=3.0, help="Seconds to connect (default 3).")
        parser.add_argument("--read-timeout", type=float, default=10.0, help="Seconds to wait for data (default 10).")
        parser.add_argument("--backoff", type=float, default=10.0, help="First retry's delay in seconds (default 10).")
        parser.add_argument("--backoff-cap", type=float, default=3600.0, help="Longest retry delay (default 3600).")

    def handle(self, *args, once, batch, concurrency, poll, connect_timeout, read_timeout, backoff, backoff_cap, **kw):
        numbers = {"--batch": batch, "--concurrency": concurrency, "--poll": poll, "--backoff": backoff}
        numbers |= {"--connect-timeout": connect_timeout, "--read-timeout": read_timeout, "--backoff-cap": backoff_cap}
        bad = [name for name, value in numbers.items() if not value > 0]
        if bad:
            raise CommandError(f"{', '.join(bad)} must be positive.")
        if connection.vendor == "sqlite" and not once:
            self.stderr.write("SQLite has no SKIP LOCKED: run a single worker.")
        worker = Worker(
            batch=batch,
            concurrency=concurrency,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            backoff_base=backoff,
            backoff_cap=backoff_cap,
            lease=2 * (connect_timeout + read_timeout) * batch / concurrency + 60,
        )
        if once:
            count = worker.drain()
            self.stdout.write(f"{count} delivery attempt(s).")
            return
        signal.signal(signal.SIGTERM, worker.stop)
        signal.signal(signal.SIGINT, worker.stop)
        worker.run(poll=poll)
