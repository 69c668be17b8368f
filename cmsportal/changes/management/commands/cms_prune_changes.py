"""`manage.py cms_prune_changes [--older-than 400d] [--batch 5000] [--dry-run]`: delete old change records.

Deletes in batches, each its own short transaction over one range of ids, so that it can run while the
portal serves (no long lock, no huge transaction); stopping it half way leaves a shorter log, never a
broken one. The webhook outbox and the feed read only recent rows.
"""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cmsportal import dates
from cmsportal.changes.models import Change

__all__ = ["Command", "parse_age"]

_AGE = re.compile(r"^\s*(\d+)\s*([dh])\s*$")
UNITS = {"d": "days", "h": "hours"}


def parse_age(text: str) -> timedelta:
    """ "400d" -> 400 days, "12h" -> 12 hours; ValueError otherwise."""
    match = _AGE.match(text or "")
    if not match or int(match[1]) <= 0:
        raise ValueError(f"{text!r} is not an age: a positive number of days or hours, e.g. 400d or 36h.")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = "Delete change records older than an age (default 400d), in batches safe to run while serving."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", default="400d", help="age: days (d) or hours (h), e.g. 400d, 36h")
        parser.add_argument("--batch", type=int, default=5000, help="rows deleted per transaction (default 5000)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")

    def handle(self, *args, older_than, batch, dry_run, **options):
        try:
            age = parse_age(older_than)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if batch <= 0:
            raise CommandError("--batch is a positive number of rows.")
        cutoff = dates.now() - age
        old = Change.objects.filter(time__lt=cutoff)
        if dry_run:
            self.stdout.write(f"Would delete {old.count():,} change records older than {dates.format_date(cutoff)}.")
            return
        total = 0
        while True:
            with transaction.atomic():
                ids = list(old.order_by("id").values_list("id", flat=True)[:batch])
                if not ids:
                    break
                _, per_model = old.filter(id__gte=ids[0], id__lte=ids[-1]).delete()
            total += per_model.get(Change._meta.label, 0)
            if options["verbosity"] > 0:
                self.stdout.write(f"  deleted {total:,} (ids up to {ids[-1]})")
            if len(ids) < batch:
                break
        self.stdout.write(f"Deleted {total:,} change records older than {dates.format_date(cutoff)}.")
