import os, django, sys, time, cProfile, pstats
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmsportal.settings")
django.setup()
from django.test import Client
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from io import BytesIO
U = get_user_model()
u, _ = U.objects.get_or_create(username="searchprof", defaults={"is_staff": True, "is_superuser": True})
c = Client(); c.force_login(u)
sid = c.cookies["sessionid"].value
h = WSGIHandler()
def call(q):
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/search/", "QUERY_STRING": "q=" + q, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
           "wsgi.input": BytesIO(b""), "wsgi.url_scheme": "http", "HTTP_COOKIE": f"sessionid={sid}", "HTTP_HOST": "localhost"}
    st = []
    body = b"".join(h(env, lambda s, hd, e=None: st.append(s)))
    return st[0]
q = sys.argv[1]
for _ in range(20): call(q)
t = time.process_time(); N = 200
for _ in range(N): s = call(q)
print(s, (time.process_time() - t) / N * 1000, "ms CPU")
pr = cProfile.Profile(); pr.enable()
for _ in range(N): call(q)
pr.disable()
pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
