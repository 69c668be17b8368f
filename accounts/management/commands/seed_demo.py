"""`manage.py seed_demo`: load the demo directory (cmsportal.demo), or write it as an exchange file."""

import contextlib
import gzip
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from cmsportal import demo
from cmsportal.changes.commands import recorded_as_command
from cmsportal.identity import services as identity

__all__ = ["Command"]


def _lines(records):
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for record in records:
        yield dumps(record) + "\n"


@contextlib.contextmanager
def _open(output: str):
    """The output stream: stdout for '-', gzip for a .gz name, else a plain file."""
    if output == "-":
        yield sys.stdout
        sys.stdout.flush()
    elif output.endswith(".gz"):
        # Level 3: most of the size gain of the default for a fraction of the time on large sets.
        with gzip.open(output, "wt", encoding="utf-8", compresslevel=3) as stream:
            yield stream
    else:
        with open(output, "w", encoding="utf-8") as stream:
            yield stream


class Command(BaseCommand):
    help = (
        "Load deterministic demo data (customers, accounts, contacts, metadata, history) through the exchange "
        "importer, or with --output write it as an exchange file (JSON lines; .gz compresses) instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=300, help="number of accounts (default 300)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1); same seed, same data")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the database has accounts")
        parser.add_argument("--output", metavar="FILE", help="write an exchange file ('-' for stdout) instead")
        parser.add_argument(
            "--profile",
            choices=demo.PROFILES,
            default="demo",
            help="demo (default): ~3 contacts per account; contacts: 2.5 contacts per customer, each with roles on "
            "several of its accounts (the contact-heavy data set of the benchmark)",
        )
        parser.add_argument(
            "--no-examples",
            dest="examples",
            action="store_false",
            help="leave out the reference's documented example accounts (CLOUD/10101 ...), included by default",
        )

    @recorded_as_command
    def handle(self, *args, accounts, seed, if_empty, output, examples=True, profile="demo", **options):
        if accounts < 1:
            raise CommandError("--accounts must be at least 1.")
        records = demo.directory_records(accounts=accounts, seed=seed, examples=examples, profile=profile)
        if output:
            self._write(records, output, accounts, examples)
            return
        if if_empty and Account.objects.exists():
            self.stdout.write("Accounts exist already: demo data not loaded (--if-empty).")
            return
        from cmsportal.exchange import import_records

        # Namespace policies name these groups; make them exist so people can be put in them.
        for name in demo.GROUPS:
            identity.group_ensure(name=name)
        with_examples = " and the documented examples" if examples else ""
        self.stdout.write(f"Loading demo data: {accounts} accounts (seed {seed}){with_examples}...")
        counts = import_records(
            records, stdout=self.stdout, progress=options.get("verbosity", 1) > 0, source="seed_demo"
        )
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted((counts or {}).items()))
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}."))

    def _write(self, records, output, accounts, examples):
        # Progress goes to stderr so that `--output -` keeps stdout clean for the data.
        progress = self.stderr if output == "-" else self.stdout
        step = max(1, accounts // 10)
        written = seen = 0
        with _open(output) as stream:
            for line in _lines(records):
                stream.write(line)
                written += 1
                if line.startswith('{"customerAccount"'):
                    seen += 1
                    if seen % step == 0:
                        progress.write(f"  {seen}/{accounts} accounts, {written} records")
        if output != "-":
            what = f"{accounts} accounts" + (" and the documented examples" if examples else "")
            self.stdout.write(self.style.SUCCESS(f"Wrote {written} records ({what}) to {output}."))
