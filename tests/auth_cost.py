"""What authenticating an API call costs in queries, for the tests that count a request's queries."""

from cmsportal.identity import tokencache


def authentication_queries() -> int:
    """Queries an API call makes to authenticate an X-Auth-Token it already used: none where workers remember
    valid tokens (PostgreSQL, cmsportal/identity/tokencache.py), else the token's lookup."""
    return 0 if tokencache.enabled() else 1
