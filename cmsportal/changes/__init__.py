"""The change log: one record per change to the directory, written by the services in the change's own
transaction; the /v1/changes feed and staff pages read it, webhook subscriptions deliver it."""

__all__ = []
