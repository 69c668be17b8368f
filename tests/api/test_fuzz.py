"""Fuzzing the API from its own OpenAPI description (schemathesis), in process, against a seeded database.

Every operation of /v1/openapi.json is called with generated parameters and bodies: half of them with the real
identifiers of seeded records in the path (so operations reach their data instead of answering 404), the rest
fully generated, some of them deliberately invalid (negative generation). Authenticated with a real token. Checks:
no 5xx, and every documented response matches its schema. Bounded: FUZZ_EXAMPLES examples per operation (default
25) and a deadline for the whole run (FUZZ_BUDGET seconds, default 150).

Runs in the PostgreSQL run of the suite (marked `postgres`); locally:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cms .venv/bin/python -m pytest tests/api/test_fuzz.py
    FUZZ_EXAMPLES=200 FUZZ_BUDGET=1200 DATABASE_URL=... .venv/bin/python -m pytest tests/api/test_fuzz.py  # longer
"""

import os
import time

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from cmsportal.identity import services as identity
from tests.factories import (
    AccountContactFactory,
    AccountFactory,
    EmailAddressFactory,
    MetadataFactory,
    NamespaceFactory,
    PhoneNumberFactory,
    StaffFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
BUDGET = float(os.environ.get("FUZZ_BUDGET", "150"))
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def seeded(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    NamespaceFactory(name="support")
    link = AccountContactFactory()
    account, contact = link.account, link.contact
    EmailAddressFactory(contact=contact)
    PhoneNumberFactory(contact=contact)
    MetadataFactory(account=account, key="support:level", value="gold")
    for _ in range(3):
        AccountFactory(customer=account.customer)
    user = StaffFactory(username="fuzz-staff", is_superuser=True)
    user.set_password("fuzz-password")
    user.save()
    _, token = identity.token_issue(user, [identity.PASSWORD])
    _, spare = identity.token_issue(user, [identity.PASSWORD])
    real = {
        "accountType": account.type,
        "accountId": account.account_id,
        "contactNumber": contact.contact_number,
        "key": "support:level",
        "token_id": spare,  # the one DELETE /v2.0/tokens/{token_id} may revoke; never the fuzzer's own
    }
    return {"token": token, "real": real}


def _strategy(operation, real):
    names = [name for name in real if "{" + name + "}" in operation.path]
    known = {name: real[name] for name in names}
    strategies = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
    if known:
        strategies += [
            operation.as_strategy(path_parameters=known),
            operation.as_strategy(path_parameters=known),
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=known),
        ]
    return st.one_of(*strategies)


@pytest.fixture
def wsgi_app():
    """The application as a WSGI server calls it, minus closing the connection after each request: as with Django's
    test client, the test's transaction (and the seeded rows in it) must outlive the requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(operation, real, headers, deadline) -> list[int]:
    """Call `operation` with generated cases, validating each answer; the status codes seen."""
    calls = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, real))
    def run(case):
        if time.monotonic() > deadline:
            return
        response = case.call(headers=headers)
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    return calls


def test_fuzz_the_api(seeded, wsgi_app):
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", wsgi_app)
    headers = {"X-Auth-Token": seeded["token"]}
    deadline = time.monotonic() + BUDGET
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    seen = []
    for operation in operations:
        if time.monotonic() > deadline:
            break
        seen.append((operation.label, sorted(set(_fuzz(operation, seeded["real"], headers, deadline)))))
    # Real identifiers reached real records: some operation on an account answered 200 or 204.
    answered = {label: codes for label, codes in seen}
    assert any(200 in codes for label, codes in answered.items() if "{accountId}" in label), answered
    assert any(204 in codes for label, codes in answered.items() if label.startswith("PUT")), answered
