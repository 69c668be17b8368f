"""`manage.py cms_export FILE`: write every record as an exchange file (docs/EXCHANGE.md); "-" writes stdout."""

from django.core.management.base import BaseCommand, CommandError

from cmsportal import replicas
from cmsportal.exchange import ExchangeError, export_file

__all__ = ["Command"]


class Command(BaseCommand):
    help = "Export every customer, account, contact, metadata entry and history record as a CMS exchange file."

    def add_arguments(self, parser):
        parser.add_argument("file", help='output file; "-" writes stdout, a .gz suffix means gzip')

    def handle(self, *args, file, **options):
        # With the records on stdout, progress and the summary go to stderr.
        console = self.stderr if file == "-" else self.stdout
        try:
            with replicas.reading_from_replicas():  # a healthy replica, if any, serves the export
                count = export_file(file, stdout=console)
        except ExchangeError as exc:
            raise CommandError(str(exc)) from None
        target = file if file != "-" else "stdout"
        console.write(f"Exported {count:,} records to {target}.", style_func=lambda text: text)
