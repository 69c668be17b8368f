# cmsportal: `make run` serves the application, `make test` runs the whole suite.
# Both set up everything they need (virtual environment, packages, database) on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= 100000
BENCH_OUT ?= bench/out
REPLICA ?=
PYTEST_ARGS ?=

.PHONY: help install run serve test lint format migrate seed browser pgbouncer bench clean

help:
	@echo "make run      install, migrate, load demo data, serve http://$(HOST):$(PORT)"
	@echo "make test     run the whole test suite (DATABASE_URL selects the database)"
	@echo "make serve    production server: gunicorn + whitenoise"
	@echo "make bench    benchmark harness (SCALE=N, BENCH_OUT=folder); needs PostgreSQL"
	@echo "              REPLICA=1: reads on a streaming replica vs primary-only, side by side"
	@echo "make lint     ruff check, ruff format --check, import layers (lint-imports), makemigrations --check"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,bench]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py demo_user --url http://$(HOST):$(PORT)/

# `make run HOST=0.0.0.0 PORT=8080`: the address printed is the one served.
run: seed
	@echo "Serving http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

# Webhooks are delivered by a worker of their own, beside gunicorn (one on SQLite, any number on PostgreSQL):
# `$(PY) manage.py cms_deliver` under the same environment and supervisor (it stops cleanly on SIGTERM).
serve: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Webhooks: run '$(PY) manage.py cms_deliver' beside this server (see docs/WEBHOOKS.md)"
	DJANGO_DEBUG=0 $(VENV)/bin/gunicorn cmsportal.wsgi -c gunicorn.conf.py --bind $(HOST):$(PORT)

# Browser tests drive Debian's Chromium; install it when missing and we may (root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; \
	  else echo "chromium is not installed: browser tests will be skipped (apt-get install chromium)"; fi; }

# The connection-pooler test runs Debian's PgBouncer; install it when missing and we may (root).
pgbouncer:
	@{ command -v pgbouncer || test -x /usr/sbin/pgbouncer; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null; \
	  else echo "pgbouncer is not installed: its test will be skipped (apt-get install pgbouncer)"; fi; }

test: install browser pgbouncer
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m bench --scale $(SCALE) --out $(BENCH_OUT) $(if $(REPLICA),--replica)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .hypothesis .import_linter_cache
