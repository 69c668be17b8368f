"""Who is changing the directory, and which request or command the change belongs to.

The request middleware opens a context per request; commands and imports open their own with
`change_context(actor=...)`. A change record takes its request id from the context (a new one when
there is none) and its actor from the service's `actor` argument, else the context's user."""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from cmsportal.identity.access import Actor, actor_for

__all__ = ["ChangeContext", "ChangeContextMiddleware", "change_context", "current_actor", "current_request_id"]


@dataclass
class ChangeContext:
    request_id: uuid.UUID = field(default_factory=uuid.uuid4)
    actor: Actor | None = None
    request: object = None  # the HttpRequest, whose user is known only once it is authenticated

    def resolve_actor(self) -> Actor | None:
        if self.actor is not None:
            return self.actor
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return actor_for(user)
        return None


_current: ContextVar[ChangeContext | None] = ContextVar("cmsportal_change_context", default=None)


@contextmanager
def change_context(*, actor: Actor | None = None, request=None, request_id: uuid.UUID | None = None):
    """Group the changes made inside under one request id, made by `actor` (or the request's user)."""
    context = ChangeContext(request_id=request_id or uuid.uuid4(), actor=actor, request=request)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def current_request_id() -> uuid.UUID:
    context = _current.get()
    return context.request_id if context else uuid.uuid4()


def current_actor(default: Actor | None = None) -> Actor:
    context = _current.get()
    actor = context.resolve_actor() if context else None
    return actor or default or Actor.system()


class ChangeContextMiddleware:
    """One request id per request (answered as X-Request-Id), and the request's user as the default actor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with change_context(request=request) as context:
            request.request_id = context.request_id
            response = self.get_response(request)
        response["X-Request-Id"] = str(context.request_id)
        return response
