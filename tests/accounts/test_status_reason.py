"""Risky status changes need a reason, kept with the change on the status trail and shown on the account page;
the reason belongs to the staff pages only (the API's statusChange and the exchange format are unchanged)."""

import json
from itertools import product

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.forms import StatusForm
from accounts.models import REASON_MAX_LENGTH, AccessPolicy, Account, AccountStatus, Customer, StatusChange
from cmsportal.identity.access import Actor
from tests.exchange.helpers import export_lines, import_quietly
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor("seed", "SYSTEM")
STATUSES = [None, *AccountStatus.values]
ACCESS = [None, *AccessPolicy.values]

# Written out by hand (not derived from the code under test): (from, to) status pairs that need a reason.
OTHERS = [s for s in AccountStatus.values if s != "Closed"]
RISKY_STATUS = {("Closed", s) for s in OTHERS} | {(s, "Closed") for s in [None, *OTHERS]}
RISKY_STATUS |= {("Suspended", s) for s in AccountStatus.values if s != "Suspended"}
RISKY_ACCESS = {("SUSPENDED", "FULL")}


@pytest.fixture
def acme():
    customer = CustomerFactory(rcn="RCN-100-000-001", name="Acme")
    return services.account_create(actor=SYSTEM, customer=customer, type="CLOUD", account_id="11", tenant_id="t1")


def set_state(account, status, access=None):
    Account.objects.filter(pk=account.pk).update(status=status, access_policy=access)
    return Account.objects.select_related("customer").get(pk=account.pk)


def test_every_transition_is_risky_exactly_when_listed():
    wrong = []
    for old, new, old_access, new_access in product(STATUSES, STATUSES, ACCESS, ACCESS):
        account = Account(status=old, access_policy=old_access)
        risky = bool(services.status_change_risks(account, new, new_access))
        expected = (new is not None and (old, new) in RISKY_STATUS) or (old_access, new_access) in RISKY_ACCESS
        if risky != expected:
            wrong.append((old, new, old_access, new_access, risky))
    assert not wrong


def test_the_form_says_which_changes_need_a_reason_and_how_long_it_may_be():
    help_text = str(StatusForm().fields["reason"].help_text)
    for risk in services.RISKY_TRANSITIONS:
        assert risk in help_text
    assert f"at most {REASON_MAX_LENGTH} characters" in help_text
    assert f'maxlength="{REASON_MAX_LENGTH}"' in str(StatusForm()["reason"])


@pytest.mark.parametrize(
    "start, data",
    [
        (("Active", "FULL"), {"status": "Closed"}),
        (("Closed", "FULL"), {"status": "Active"}),
        (("Suspended", "FULL"), {"status": "Delinquent"}),
        (("Active", "SUSPENDED"), {"access_policy": "FULL"}),
    ],
)
@pytest.mark.parametrize("reason", ["", "   "])
def test_a_risky_change_without_a_reason_is_refused_on_the_first_step(staff, acme, start, data, reason):
    set_state(acme, *start)
    response = staff.post("/accounts/CLOUD/11/status/", {**data, "reason": reason, "fraud_status": "REJECT"})
    assert response.status_code == 200 and not response.context.get("confirming")
    assert "Give a reason: this change means" in response.context["form"].errors["reason"][0]
    body = response.content.decode()
    for value in data.values():
        assert f'<option value="{value}" selected>' in body
    assert '<option value="REJECT" selected>' in body
    assert StatusChange.objects.filter(account=acme).count() == 1  # the NEW row only


def test_a_risky_change_with_a_reason_keeps_it_on_the_trail_and_the_page(staff, acme):
    url = "/accounts/CLOUD/11/status/"
    data = {"status": "Closed", "reason": "  Customer asked to close, ticket 4711  "}
    response = staff.post(url, data)
    assert response.context["confirming"]
    assert "Reason recorded with the change: Customer asked to close, ticket 4711" in response.content.decode()
    response = staff.post(url, {**data, "confirm": "yes"}, follow=True)
    latest = StatusChange.objects.filter(account=acme).newest_first().first()
    assert (latest.status, latest.reason) == ("Closed", "Customer asked to close, ticket 4711")
    body = response.content.decode()
    timeline = body[body.index('id="status"') : body.index("</section>", body.index('id="status"'))]
    assert 'data-testid="timeline-reason"' in timeline and "Customer asked to close, ticket 4711" in timeline


def test_an_ordinary_change_needs_no_reason_and_stores_none(staff, acme):
    response = staff.post("/accounts/CLOUD/11/status/", {"status": "Suspended", "confirm": "yes"})
    assert response.status_code == 302
    assert StatusChange.objects.filter(account=acme).newest_first().first().reason is None


def test_a_reason_longer_than_the_limit_is_refused_by_form_and_service(staff, acme):
    long = "x" * (REASON_MAX_LENGTH + 1)
    response = staff.post("/accounts/CLOUD/11/status/", {"status": "Closed", "reason": long, "confirm": "yes"})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    with pytest.raises(ValidationError) as raised:
        services.account_status_change(account=acme, actor=SYSTEM, status="Closed", reason=long)
    assert "reason" in raised.value.message_dict
    services.account_status_change(account=acme, actor=SYSTEM, status="Closed", reason="x" * REASON_MAX_LENGTH)
    assert Account.objects.get(pk=acme.pk).status == "Closed"


def test_the_service_asks_for_a_reason_only_when_told_to(acme):
    with pytest.raises(ValidationError) as raised:
        services.account_status_change(account=acme, actor=SYSTEM, status="Closed", reason_required=True)
    assert "closing an account" in raised.value.message_dict["reason"][0]
    # The API and the import have no reason to give: they are not asked.
    services.account_status_change(account=acme, actor=SYSTEM, status="Closed")
    assert StatusChange.objects.filter(account=acme).newest_first().first().reason is None


def test_bulk_status_change_needs_a_reason_for_the_risky_ones_and_records_it_on_each(staff, acme):
    other = services.account_create(actor=SYSTEM, customer=acme.customer, type="CLOUD", account_id="12")
    set_state(other, "Closed", "FULL")
    data = {"selected": ["CLOUD/11", "CLOUD/12"], "action": "status", "status": "Active", "reason": ""}
    response = staff.post("/accounts/bulk/", data)
    assert response.status_code == 200 and not response.context.get("confirming")
    error = response.context["form"].errors["reason"][0]
    assert "reopening a Closed account (CLOUD/12)" in error and "CLOUD/11" not in error
    body = response.content.decode()
    assert '<option value="Active" selected>' in body
    # Each selected account with its current status, collections status and access policy.
    assert "Closed · Current · access full" in body and "Active · Current · access full" in body
    response = staff.post("/accounts/bulk/", {**data, "reason": "Paid in full", "confirm": "yes"})
    assert response.status_code == 302
    for account in (acme, other):
        latest = StatusChange.objects.filter(account=account).newest_first().first()
        assert (latest.status, latest.reason) == ("Active", "Paid in full")


def test_the_api_and_the_export_are_the_same_with_or_without_a_reason(acme):
    from tests.api.conftest import client_for

    services.account_status_change(account=acme, actor=SYSTEM, status="Closed", reason="zyx-secret-reason")
    api = client_for(UserFactory(username="api-staff", is_staff=True, view_all=True))
    paths = ["/v1/customer_accounts/CLOUD/11/status_history", "/v1/customer_accounts/CLOUD/11/status_history.xml"]
    paths += ["/v1/customer_accounts/CLOUD/11", "/v1/customer_accounts/CLOUD/11.xml"]

    def observed():
        responses = [api.get(path) for path in paths]
        assert [r.status_code for r in responses] == [200] * len(paths)
        return [r.content for r in responses], export_lines()

    with_reason = observed()
    StatusChange.objects.update(reason=None)
    without = observed()
    assert with_reason == without
    assert b"Closed" in with_reason[0][0] and b"Closed" in with_reason[0][1]
    assert not any(b"zyx-secret-reason" in answer for answer in with_reason[0])
    assert not any("zyx-secret-reason" in line or "reason" in json.loads(line) for line in with_reason[1])


def test_import_leaves_the_reason_empty(acme):
    services.account_status_change(account=acme, actor=SYSTEM, status="Closed", reason="why")
    records = [json.loads(line) for line in export_lines()]
    StatusChange.objects.all().delete()
    Account.objects.all().delete()
    Customer.objects.all().delete()
    import_quietly(records)
    imported = StatusChange.objects.filter(account__type="CLOUD", account__account_id="11")
    assert imported.count() == 2 and not imported.exclude(reason=None).exists()
