"""Issue an API key for a user (printed once), or revoke one by its prefix."""

from django.core.management.base import BaseCommand, CommandError

from cmsportal.changes.commands import recorded_as_command
from cmsportal.identity import services
from cmsportal.identity.models import ApiKey

__all__ = ["Command"]


class Command(BaseCommand):
    help = (
        "Issue an API key for USERNAME and print it once (only its hash is stored), "
        "or revoke USERNAME's key with --revoke PREFIX."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the key is for (default: %(default)s).")
        parser.add_argument("--revoke", metavar="PREFIX", help="Revoke the user's key whose prefix is PREFIX.")

    @recorded_as_command
    def handle(self, *args, username, name, revoke, **options):
        user = services.user_by_username(username)
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if revoke:
            keys = list(ApiKey.objects.filter(user=user, prefix=revoke, revoked_at__isnull=True))
            if not keys:
                raise CommandError(f"{username} has no active API key with prefix {revoke!r}.")
            if len(keys) > 1:
                raise CommandError(
                    f"{len(keys)} active keys of {username} have prefix {revoke!r}; revoke them in the admin."
                )
            services.apikey_revoke(keys[0])
            self.stderr.write(f"Revoked API key {keys[0]}.")
            return
        if not user.is_active:
            raise CommandError(f"{username} is inactive: an API key would not work.")
        key, plaintext = services.apikey_issue(user, name)
        self.stderr.write(f"API key {key} issued for {username}; it is shown once, only its hash is kept:")
        # The key alone on stdout, so that scripts can capture it.
        self.stdout.write(plaintext)
