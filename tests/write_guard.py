"""A guard on the database's write statements: each must run inside a function of a services module.

`guarded()` spies on every public function of the services modules and watches every statement sent on the
default connection: an INSERT, UPDATE or DELETE made while no service is running is a stray (the admin's own
change log and the session excepted). Tests run an admin page or a command inside it and assert there are
none, and that the services they expect did write.
"""

import contextlib
import functools
import inspect
from unittest import mock

from django.db import connection

import accounts.services
import cmsportal.changes.outbox
import cmsportal.identity.services
import cmsportal.services
import contacts.services
import metadata.services

SERVICE_MODULES = (
    accounts.services,
    contacts.services,
    metadata.services,
    cmsportal.services,
    cmsportal.identity.services,
    cmsportal.changes.outbox,
)
# The admin's own records: its change log, and the session it signs in with.
ADMIN_TABLES = ("django_admin_log", "django_session")
WRITES = {"INSERT", "UPDATE", "DELETE", "REPLACE"}


class WriteGuard:
    """The service calls under way; each write statement, with the (outermost) service it ran in, or none."""

    def __init__(self):
        self.stack: list[str] = []
        self.writers: set[str] = set()
        self.strays: list[str] = []

    def clear(self) -> None:
        self.writers.clear()
        self.strays.clear()

    def spy(self, name, function):
        @functools.wraps(function)
        def spied(*args, **kwargs):
            self.stack.append(name)
            try:
                return function(*args, **kwargs)
            finally:
                self.stack.pop()

        return spied

    def __call__(self, execute, sql, params, many, context):
        words = sql.lstrip().split(None, 1)
        if words and words[0].upper() in WRITES and not any(table in sql for table in ADMIN_TABLES):
            if self.stack:
                self.writers.add(self.stack[0])
            else:
                self.strays.append(sql[:200])
        return execute(sql, params, many, context)


@contextlib.contextmanager
def guarded():
    watch = WriteGuard()
    with contextlib.ExitStack() as stack:
        for module in SERVICE_MODULES:
            for name, function in list(vars(module).items()):
                if inspect.isfunction(function) and function.__module__ == module.__name__ and not name.startswith("_"):
                    spied = watch.spy(f"{module.__name__}.{name}", function)
                    stack.enter_context(mock.patch.object(module, name, spied))
        stack.enter_context(connection.execute_wrapper(watch))
        yield watch
