"""Management commands that change the directory record their changes as made by the command."""

import functools

from cmsportal.identity.access import Actor

from .context import change_context

__all__ = ["recorded_as_command"]


def recorded_as_command(handle):
    """Decorate a command's `handle`: its changes share one request id and are made by
    Actor.system("<command name>") (the command's module name, e.g. "cms_import")."""

    @functools.wraps(handle)
    def wrapper(self, *args, **options):
        name = type(self).__module__.rsplit(".", 1)[-1]
        with change_context(actor=Actor.system(name)):
            return handle(self, *args, **options)

    return wrapper
