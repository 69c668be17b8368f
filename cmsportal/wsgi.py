"""WSGI entry point (gunicorn cmsportal.wsgi).

A server process leaves out two optional imports of Django REST framework that only its test client and
its browsable API use, and this application never does: `requests` (DRF's RequestsClient; 4.7 MB of every
gunicorn worker with urllib3, charset_normalizer and their imports) and `pygments` (the browsable API's
syntax highlighting; 1 MB). DRF imports them when they are installed, as they are for the tests; marking
them absent here makes its optional imports find nothing, as on a server without them. The tests and the
management commands (not started through this module) are unchanged.
"""

import os
import sys

from django.core.wsgi import get_wsgi_application

__all__ = ["application", "SERVER_OMITS"]

SERVER_OMITS = ("requests", "pygments")
for _name in SERVER_OMITS:
    # Only where nothing imported it yet (a process that loaded it on purpose keeps it).
    sys.modules.setdefault(_name, None)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmsportal.settings")
application = get_wsgi_application()
