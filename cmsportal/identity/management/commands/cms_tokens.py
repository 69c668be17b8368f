"""Housekeeping of API tokens."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from cmsportal.changes.commands import recorded_as_command
from cmsportal.identity import services

__all__ = ["Command"]


class Command(BaseCommand):
    help = "Delete tokens that expired or were revoked (--purge-expired), optionally only those older than --days."

    def add_arguments(self, parser):
        parser.add_argument("--purge-expired", action="store_true", help="Delete expired and revoked tokens.")
        parser.add_argument("--days", type=int, default=0, help="Keep those that ended less than DAYS days ago.")

    @recorded_as_command
    def handle(self, *args, purge_expired, days, **options):
        if not purge_expired:
            raise CommandError("Nothing to do: pass --purge-expired.")
        if days < 0:
            raise CommandError("--days must not be negative.")
        count = services.tokens_purge_expired(timedelta(days=days))
        self.stdout.write(f"Deleted {count} expired or revoked token(s).")
