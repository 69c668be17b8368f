"""The change feed of the CMS API: GET /v1/changes in JSON, XML and Atom."""

__all__ = []
