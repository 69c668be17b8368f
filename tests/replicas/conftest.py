"""The replica tests' clusters: one primary and one streaming replica of our own for the whole session."""

import pytest

from .cluster import clusters, server_bindir


@pytest.fixture(scope="session")
def replicated():
    """A primary (migrated, seeded) and its streaming replica; skipped, visibly, without PostgreSQL's server
    programs (initdb, pg_ctl, pg_basebackup)."""
    if server_bindir() is None:
        pytest.skip("needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup): apt-get install postgresql")
    with clusters() as made:
        yield made
