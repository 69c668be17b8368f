"""Django's database sessions, with the session read by a query compiled once per connection.

Every signed-in page reads its session first; building that query with the ORM on every request cost
about as much CPU as the query itself (cmsportal/api/precompiled.py). The row is found by its key and its
expiry compared here, with the application's clock, as Django's own store compares it in SQL.
Everything else (saving, cycling keys, `clearsessions`) is Django's.
"""

from functools import cache

from django.contrib.sessions.backends import db
from django.utils import timezone

from cmsportal.api.precompiled import PrecompiledQuery

__all__ = ["SessionStore"]


@cache
def _session_by_key(model):
    return PrecompiledQuery(
        lambda key: model.objects.filter(session_key=key).order_by(), model, placeholders=["\x00session-key"]
    )


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        found = _session_by_key(self.model).fetch(self.session_key)
        if found and found[0].expire_date > timezone.now():
            return found[0]
        self._session_key = None
        return None
