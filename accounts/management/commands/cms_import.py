"""`manage.py cms_import FILE`: load an exchange file (docs/EXCHANGE.md); "-" reads stdin, ".gz" is gzip."""

from django.core.management.base import BaseCommand, CommandError

from cmsportal.changes.commands import recorded_as_command
from cmsportal.exchange import ExchangeError, import_file

__all__ = ["Command"]


class Command(BaseCommand):
    help = "Import customers, accounts, contacts, metadata and history from a CMS exchange file (JSON Lines)."

    def add_arguments(self, parser):
        parser.add_argument("file", help='exchange file; "-" reads stdin, a .gz suffix means gzip')

    @recorded_as_command
    def handle(self, *args, file, **options):
        try:
            counts = import_file(file, stdout=self.stdout, timings=options["verbosity"] >= 2)
        except ExchangeError as exc:
            raise CommandError(f"{file}: {exc}; nothing was imported") from None
        total = sum(counts.values())
        detail = ", ".join(f"{kind} {n:,}" for kind, n in counts.items() if n)
        self.stdout.write(f"Imported {total:,} records" + (f" ({detail})" if detail else "") + ".")
