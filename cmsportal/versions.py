"""Versions of a resource and the expectations writes check them against (optimistic concurrency).

A resource's state has a `Version`: an opaque tag (a digest of its representation data) and the
moment it last changed. A write hands the version it expects (a staff form's, or an API request's
preconditions, `cmsportal.api.conditional.RequestPreconditions`) to the service as an `Expectation`;
the service checks it against the row it holds locked, inside its transaction, and raises
`StaleVersion` when the row has moved on. Used by the services, the staff pages and the API alike.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Version", "digest", "StaleVersion", "Expectation", "ExpectVersion", "expectation", "check"]


@dataclass(frozen=True)
class Version:
    """The state of a resource as validators describe it, and who made it (for the staff pages' message)."""

    tag: str
    last_modified: datetime | None = None
    changed_by: str | None = None


def digest(data) -> str:
    """A short digest of representation data (dicts and lists of strings, numbers, booleans).

    Of its repr, which is exact for these types and costs a third of a JSON encoding (the account GET is
    the hottest path): the representation functions build their dicts in a fixed key order, so equal data
    gives equal digests.
    """
    return hashlib.blake2b(repr(data).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class StaleVersion(Exception):
    """A write expected a version of the resource that is no longer current (`current` is None: it is gone)."""

    def __init__(self, current: Version | None):
        self.current = current
        super().__init__("The resource changed since the version the request expected.")


class Expectation:
    """What a write expects of the resource's current version; `holds(None)` asks about a missing resource."""

    def holds(self, current: Version | None) -> bool:
        raise NotImplementedError

    def needs_existing(self) -> bool:
        """Whether it fails for a missing resource whatever else holds (a delete of nothing is 404 otherwise)."""
        return not self.holds(None)

    def check(self, current: Version | None) -> None:
        """Raise StaleVersion unless the expectation holds (call it with the row locked)."""
        if not self.holds(current):
            raise StaleVersion(current)


@dataclass(frozen=True)
class ExpectVersion(Expectation):
    """The version a form was opened on; the empty string expects that the resource does not exist yet."""

    tag: str

    def holds(self, current):
        return current.tag == self.tag if current is not None else self.tag == ""


def expectation(expected: "str | Expectation | None") -> Expectation | None:
    """What a service's `expected_version` argument means: nothing to check, a form's version, or preconditions."""
    if expected is None or isinstance(expected, Expectation):
        return expected
    return ExpectVersion(str(expected))


def check(expected: "str | Expectation | None", current: Version | None) -> None:
    """The services' one call: raise StaleVersion if `expected` is given and does not hold for `current`."""
    wanted = expectation(expected)
    if wanted is not None:
        wanted.check(current)
