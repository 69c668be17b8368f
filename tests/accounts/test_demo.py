"""Demo data: deterministic, varied, coherent stories; seed_demo and demo_user."""

import gzip
import io
import itertools
import json
import re
import types
from collections import Counter, defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import Account, AccountHistory, Customer, RCNChange, StatusChange
from cmsportal import demo
from cmsportal.identity.access import visible_accounts
from cmsportal.identity.models import TenantGrant
from contacts.models import Contact
from metadata.models import Metadata, Namespace
from metadata.services import can_read_namespace, can_write_namespace

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def records():
    return list(demo.generate_records())


@pytest.fixture(scope="module")
def by_kind(records):
    kinds = defaultdict(list)
    for record in records:
        assert len(record) == 1
        ((kind, body),) = record.items()
        kinds[kind].append(body)
    return kinds


def key(body):
    return (body["accountType"], body["accountId"])


def test_same_arguments_same_records():
    assert list(demo.generate_records(80, 7)) == list(demo.generate_records(80, 7))
    assert list(demo.generate_records(80, 7)) != list(demo.generate_records(80, 8))


def test_it_streams():
    records = demo.generate_records(10**9)
    assert isinstance(records, types.GeneratorType)
    first = list(itertools.islice(records, 200))  # instant: nothing is built ahead
    assert len(first) == 200


def test_global_random_state_is_left_alone():
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    list(demo.generate_records(20, 3))
    assert random.random() == expected


def test_record_kinds_and_counts(by_kind):
    assert set(by_kind) == {
        "namespace",
        "customer",
        "customerAccount",
        "contact",
        "metadata",
        "statusChange",
        "customerAccountHistory",
        "accountRCNChange",
    }
    accounts = len(by_kind["customerAccount"])
    assert accounts == 300
    assert 75 <= len(by_kind["customer"]) <= 300  # one to several accounts per customer
    links = sum(len(c["accounts"]) for c in by_kind["contact"])
    assert 2.5 <= links / accounts <= 4.5
    assert 4 <= len(by_kind["metadata"]) / accounts <= 6.5


def test_identifiers(by_kind):
    rcns = [c["rcn"] for c in by_kind["customer"]]
    assert len(set(rcns)) == len(rcns) and all(re.match(r"^RCN-\d{3}-\d{3}-\d{3}$", r) for r in rcns)
    rpns = [c["contactNumber"] for c in by_kind["contact"]]
    assert len(set(rpns)) == len(rpns) and all(re.match(r"^RPN-\d{3}-\d{3}-\d{3}$", r) for r in rpns)
    ids = [a["id"] for a in by_kind["customerAccount"]]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # fixed width: generation order is key order within a type
    assert all(i.isdigit() and a["number"] == int(i) for i, a in zip(ids, by_kind["customerAccount"], strict=True))
    assert len({len(i) for i in ids}) == 1


def test_every_value_is_present(by_kind):
    accounts = by_kind["customerAccount"]
    assert {a["type"] for a in accounts} == {"CLOUD", "MANAGED_HOSTING", "FANATICAL_SUPPORT_FOR_AWS"}
    assert {a["status"] for a in accounts} == {"Active", "Pending Approval", "Delinquent", "Suspended", "Closed"}
    assert {a["collectionsStatus"] for a in accounts} == {
        "CURRENT",
        "DELINQUENT_LEVEL_1",
        "DELINQUENT_LEVEL_2",
        "DELINQUENT_LEVEL_3",
        "WRITTEN_OFF",
    }
    assert {a["accessPolicy"] for a in accounts} == {"FULL", "SUSPENDED"}
    assert len({a["serviceLevel"] for a in accounts}) >= 6
    assert any("parentAccountNumber" in a for a in accounts)
    assert any("nickname" in a for a in accounts) and any("nickname" not in a for a in accounts)
    roles = {role for c in by_kind["contact"] for link in c["accounts"] for role in link["roles"]}
    assert roles == {"PRIMARY", "BILLING", "TECHNICAL", "ADMINISTRATIVE"}
    assert {n["access"] for n in by_kind["namespace"]} == {"OPEN", "WRITE_RESTRICTED", "READ_RESTRICTED"}
    namespaces = {m["key"].split(":", 1)[0] for m in by_kind["metadata"]}
    assert {"support", "billing", "finance", "risk", "creation"} <= namespaces
    assert {s["usertype"] for s in by_kind["statusChange"]} == {"RACKER", "CUSTOMER", "SYSTEM"}
    assert {h["updatedBy"]["type"] for h in by_kind["customerAccountHistory"]} == {"RACKER", "CUSTOMER", "SYSTEM"}
    assert {s.get("fraudStatus") for s in by_kind["statusChange"]} == {None, "ACCEPT", "PENDING_APPROVAL", "REJECT"}
    assert {h["accountChangeType"] for h in by_kind["customerAccountHistory"]} == {
        "NEW",
        "COLLECTIONS_STATUS",
        "RCN_UPDATE",
        "LEGACY_ACCOUNT_STATUS",
        "NICKNAME",
    }
    assert {r["accountChangeType"] for r in by_kind["accountRCNChange"]} == {"NEW", "RCN_UPDATE", "MERGE"}


def test_contacts_are_varied_and_complete(by_kind):
    contacts = by_kind["contact"]
    phones = [p["number"] for c in contacts for p in c["phoneNumbers"]["phoneNumber"]]
    assert any(re.match(r"^\(\d{3}\) \d{3}-\d{4}$", p) for p in phones)
    assert any(re.match(r"^\+1 \d{3}\.\d{3}\.\d{4}$", p) for p in phones)
    assert any(re.match(r"^\d{10}$", p) for p in phones)
    assert any(len(c["emailAddresses"]["emailAddress"]) == 2 for c in contacts)
    assert any(len(c["phoneNumbers"]["phoneNumber"]) == 2 for c in contacts)
    assert any(any(c["notificationPreferences"].values()) for c in contacts)
    for contact in contacts:
        for kind, items in (
            ("addresses", "address"),
            ("emailAddresses", "emailAddress"),
            ("phoneNumbers", "phoneNumber"),
        ):
            entries = contact[kind][items]
            assert 1 <= len(entries) <= 2 and [e["primary"] for e in entries].count(True) == 1
        assert set(contact["notificationPreferences"]) == {
            "doNotFax",
            "doNotCall",
            "doNotEmail",
            "doNotMail",
            "doNotSurvey",
        }
        assert DATE_RE.match(contact["lastUpdatedDate"])


def test_references_resolve(by_kind):
    customers = {c["rcn"] for c in by_kind["customer"]}
    accounts = {(a["type"], a["id"]): a for a in by_kind["customerAccount"]}
    assert {a["rcn"] for a in accounts.values()} <= customers
    for contact in by_kind["contact"]:
        assert contact["rcn"] in customers
        for link in contact["accounts"]:
            # A contact is on accounts of its own customer.
            assert accounts[(link["type"], link["id"])]["rcn"] == contact["rcn"]
    for kind in ("metadata", "statusChange", "customerAccountHistory", "accountRCNChange"):
        assert {key(body) for body in by_kind[kind]} <= set(accounts)
    groups = {g for n in by_kind["namespace"] for g in n["readers"] + n["writers"]}
    assert groups == set(demo.GROUPS)


def test_stories_are_coherent(by_kind):
    trails = {kind: defaultdict(list) for kind in ("statusChange", "customerAccountHistory", "accountRCNChange")}
    for kind, per_account in trails.items():
        for body in by_kind[kind]:
            per_account[key(body)].append(body)
    customers = {c["rcn"] for c in by_kind["customer"]}
    moved = merged = 0
    for account in by_kind["customerAccount"]:
        k = (account["type"], account["id"])
        statuses, history, rcns = (trails[kind][k] for kind in trails)

        # Trails are in time order; the account opened with NEW on all three.
        for trail, field in ((history, "updatedDate"), (rcns, "date"), (statuses, "date")):
            dates = [row[field] for row in trail]
            assert dates == sorted(dates) and all(DATE_RE.match(d) for d in dates)
        assert history[0]["accountChangeType"] == "NEW" and rcns[0]["accountChangeType"] == "NEW"
        assert history[0]["updatedDate"] == rcns[0]["date"] == statuses[0]["date"] == account["createdDate"]
        assert account["createdBy"] == history[0]["updatedBy"]["username"]
        assert all(h["accountChangeType"] != "NEW" for h in history[1:])

        # The account is what its last rows say.
        assert account["rcn"] == rcns[-1]["rcn"] == history[-1]["rcn"]
        assert account["status"] == history[-1]["accountStatus"] == statuses[-1]["status"]
        assert account["collectionsStatus"] == history[-1]["collectionsStatus"] == statuses[-1]["collectionsStatus"]
        assert account["accessPolicy"] == statuses[-1]["accessPolicy"]
        assert account.get("nickname") == history[-1].get("nickname")
        last = max([h["updatedDate"] for h in history] + [s["date"] for s in statuses])
        assert account["lastUpdatedDate"] == last
        assert account["createdDate"] <= account["lastUpdatedDate"]

        # Each RCN change pairs with an RCN_UPDATE history row; moves name a receiver.
        updates = [h for h in history if h["accountChangeType"] == "RCN_UPDATE"]
        assert len(updates) == len(rcns) - 1
        for update, change in zip(updates, rcns[1:], strict=True):
            assert update["updatedDate"] == change["date"] and update["rcn"] == change["rcn"]
            assert "destinationUpdatedBy" in update
        if len(rcns) > 1:
            assert rcns[0]["rcn"] != account["rcn"]
            if rcns[1]["accountChangeType"] == "MERGE":
                merged += 1
                assert rcns[0]["rcn"] not in customers  # the merged customer is gone
            else:
                moved += 1
                assert rcns[0]["rcn"] in customers  # moved from a customer that still exists

        # Status stories: the statuses that money trouble brings go with the collections status.
        if account["collectionsStatus"] == "WRITTEN_OFF":
            assert account["status"] == "Closed"
        if account["status"] == "Delinquent":
            assert account["collectionsStatus"] == "DELINQUENT_LEVEL_2"
        if account["status"] == "Pending Approval":
            assert len(statuses) == 1 and statuses[0]["fraudStatus"] == "PENDING_APPROVAL"
        if account["status"] in ("Active", "Delinquent"):
            assert any(s.get("fraudStatus") == "ACCEPT" for s in statuses)
        assert statuses[0]["status"] == "Pending Approval"  # every account starts waiting for approval
    assert moved >= 5 and merged >= 5


def test_large_counts_are_quick_to_start_and_keep_fixed_width_ids():
    first = next(r for r in demo.generate_records(1_000_000, 1) if "customerAccount" in r)
    assert len(first["customerAccount"]["id"]) == 8


# --- seed_demo --------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_seed_demo_imports_the_records(capsys):
    call_command("seed_demo", accounts=40, seed=2, examples=False)
    generated = Counter(next(iter(r)) for r in demo.generate_records(40, 2))
    assert Account.objects.count() == generated["customerAccount"] == 40
    assert Customer.objects.filter(implicit=False).count() == generated["customer"]
    assert Contact.objects.count() == generated["contact"]
    assert Metadata.objects.count() == generated["metadata"]
    assert StatusChange.objects.count() == generated["statusChange"]
    assert AccountHistory.objects.count() == generated["customerAccountHistory"]
    assert RCNChange.objects.count() == generated["accountRCNChange"]
    assert set(Namespace.objects.values_list("name", "access")) == {(n["name"], n["access"]) for n in demo.NAMESPACES}
    assert set(Group.objects.values_list("name", flat=True)) >= set(demo.GROUPS)
    assert "Demo data loaded" in capsys.readouterr().out

    # The imported accounts match their stories.
    for account in Account.objects.select_related("customer")[:40]:
        assert account.customer.rcn == account.rcn_changes.order_by("id").last().rcn

    call_command("seed_demo", accounts=40, seed=3, if_empty=True)
    assert Account.objects.count() == 40
    assert "not loaded" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["demo.jsonl", "demo.jsonl.gz"])
def test_seed_demo_output_is_a_file_cms_import_accepts(tmp_path, name, capsys):
    path = tmp_path / name
    call_command("seed_demo", accounts=25, seed=4, output=str(path))
    examples = sum(1 for r in demo.example_records() if "customerAccount" in r)
    assert not Account.objects.exists()  # written, not imported
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as stream:
        lines = [json.loads(line) for line in stream]
    assert lines == list(demo.directory_records(25, 4))
    call_command("cms_import", str(path))
    assert Account.objects.count() == 25 + examples


def test_seed_demo_output_to_stdout(capsys):
    call_command("seed_demo", accounts=3, seed=1, output="-")
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert lines == list(demo.directory_records(3, 1))
    call_command("seed_demo", accounts=3, seed=1, output="-", examples=False)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == list(demo.generate_records(3, 1))


# --- demo_user ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_demo_user_is_idempotent_and_grants_what_the_demo_needs(capsys, monkeypatch):
    call_command("seed_demo", accounts=30, seed=1, examples=False)
    monkeypatch.delenv("CMS_DEMO_PASSWORD", raising=False)
    call_command("demo_user")
    call_command("demo_user")
    out = capsys.readouterr().out
    assert out.count("http://127.0.0.1:8000/") >= 2 and out.count("demo-password-change-me") >= 4

    users = get_user_model().objects
    assert users.filter(username="demo").count() == 1 and users.filter(username="customer").count() == 1
    staff = users.get(username="demo")
    assert staff.is_staff and not staff.is_superuser and staff.check_password("demo-password-change-me")
    for permission in (
        "identity.view_all_accounts",
        "accounts.change_account",
        "accounts.add_customer",
        "contacts.delete_contact",
        "metadata.change_metadata",
        "metadata.view_namespace",
        "identity.add_tenantgrant",
    ):
        assert staff.has_perm(permission), permission
    assert set(staff.groups.values_list("name", flat=True)) >= set(demo.GROUPS)
    assert can_write_namespace(staff, "finance") and can_read_namespace(staff, "risk")
    assert visible_accounts(staff).count() == 30

    customer = users.get(username="customer")
    assert not customer.is_staff and customer.check_password("demo-password-change-me")
    grants = list(TenantGrant.objects.filter(user=customer).values_list("tenant_id", flat=True))
    assert 1 <= len(grants) <= 2 and len(set(grants)) == len(grants)
    assert 1 <= visible_accounts(customer).count() < 30

    monkeypatch.setenv("CMS_DEMO_PASSWORD", "another-secret-1")
    call_command("demo_user")
    staff.refresh_from_db()
    assert staff.check_password("another-secret-1")
    assert "another-secret-1" in capsys.readouterr().out
    assert TenantGrant.objects.filter(user=customer).count() == len(grants)


def test_demo_user_writes_only_through_the_services(db, capsys):
    from tests.factories import AccountFactory
    from tests.write_guard import guarded

    AccountFactory(tenant_id="t-1")
    AccountFactory(customer=Account.objects.get().customer, tenant_id="t-2")
    for writers in (
        # Creating the sign-ins; then bringing them up to date, where the groups and permissions are all there
        # already (only the password is set anew).
        {"cmsportal.identity.services.user_password_set", "cmsportal.identity.services.user_grant"},
        {"cmsportal.identity.services.user_password_set"},
    ):
        with guarded() as guard:
            call_command("demo_user")
        assert not guard.strays, guard.strays
        assert writers <= guard.writers
    assert TenantGrant.objects.filter(user__username="customer").count() == 2


def test_demo_user_on_an_empty_database(db, capsys):
    call_command("demo_user")
    assert "no tenants yet" in capsys.readouterr().out
    assert get_user_model().objects.get(username="demo").has_perm("identity.view_all_accounts")


# --- the documented examples ----------------------------------------------------------------------------------------


def test_the_demo_examples_are_the_documented_examples():
    """cmsportal/demo_examples.jsonl is a kept copy: it must stay what tests/data/examples documents."""
    from tests.exchange.examples import example_records

    assert list(demo.example_records()) == example_records()


def test_the_examples_share_no_identifier_with_the_generated_records_but_their_customer(by_kind):
    examples = list(demo.example_records())
    example_accounts = {
        (r["customerAccount"]["type"], r["customerAccount"]["id"]) for r in examples if "customerAccount" in r
    }
    example_rpns = {r["contact"]["contactNumber"] for r in examples if "contact" in r}
    example_rcns = {r["contact"]["rcn"] for r in examples if "contact" in r}
    example_rcns |= {r["customerAccount"]["rcn"] for r in examples if "customerAccount" in r}
    assert not example_accounts & {(a["type"], a["id"]) for a in by_kind["customerAccount"]}
    assert not example_rpns & {c["contactNumber"] for c in by_kind["contact"]}
    # The documented customer is the first generated one (it gets a name); the other is the examples' own.
    assert example_rcns & {c["rcn"] for c in by_kind["customer"]} == {"RCN-123-456-789"}
    assert demo.customer_rcn(0) == "RCN-123-456-789"


@pytest.mark.django_db(transaction=True)
def test_seed_demo_loads_the_documented_examples(capsys):
    call_command("seed_demo", accounts=20, seed=1)
    assert "the documented examples" in capsys.readouterr().out
    account = Account.objects.select_related("customer").get(type="CLOUD", account_id="10101")
    assert account.name == "MyRackspaceAcct" and account.customer.rcn == "RCN-123-456-789"
    assert account.customer.name  # the first generated customer's name
    assert Metadata.objects.get(account=account, key="support:level").value == "navigator"
    assert account.history.count() == 10 and account.status_changes.count() == 3 and account.rcn_changes.count() == 3
    for type_, id_ in (
        ("MANAGED_HOSTING", "5342823"),
        ("FANATICAL_SUPPORT_FOR_AWS", "5342823"),
        ("CLOUD", "19293384938"),
        ("CLOUD", "3784384"),
    ):
        assert Account.objects.filter(type=type_, account_id=id_).exists(), (type_, id_)
    assert Contact.objects.filter(contact_number__in=["RPN-823-034-233", "RPN-674-533-232"]).count() == 2
    assert Account.objects.count() == 20 + sum(1 for r in demo.example_records() if "customerAccount" in r)


@pytest.mark.django_db(transaction=True)
def test_seed_demo_can_leave_the_examples_out(capsys):
    call_command("seed_demo", accounts=20, seed=1, examples=False)
    assert Account.objects.count() == 20
    assert not Account.objects.filter(account_id="10101").exists()


@pytest.mark.django_db(transaction=True)
def test_demo_user_prints_the_address_it_is_given(capsys):
    call_command("demo_user", url="http://127.0.0.2:8123")
    out = capsys.readouterr().out
    assert "Sign in at http://127.0.0.2:8123/" in out and "admin at http://127.0.0.2:8123/admin/" in out
    assert "127.0.0.1:8000" not in out


def test_make_run_prints_and_serves_the_same_address():
    """`make run HOST=... PORT=...` (dry run: nothing is installed or started) prints the address it serves."""
    import shutil
    import subprocess
    from pathlib import Path

    make = shutil.which("make")
    if not make:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603 (a fixed command)
        [make, "-n", "run", "HOST=127.0.0.2", "PORT=8123"], cwd=root, capture_output=True, text=True, check=True
    )
    assert "demo_user --url http://127.0.0.2:8123/" in result.stdout
    assert "runserver 127.0.0.2:8123" in result.stdout
    assert "8000" not in result.stdout


def test_contacts_profile_shares_contacts_between_a_customers_accounts():
    records = list(demo.generate_records(400, 3, profile="contacts"))
    assert records == list(demo.generate_records(400, 3, profile="contacts"))
    kinds = Counter(next(iter(record)) for record in records)
    accounts_of = defaultdict(set)
    customer_of_account = {}
    for record in records:
        if "customerAccount" in record:
            body = record["customerAccount"]
            accounts_of[body["rcn"]].add((body["type"], body["id"]))
            customer_of_account[(body["type"], body["id"])] = body["rcn"]
    contacts = [record["contact"] for record in records if "contact" in record]
    # 2.5 contacts per customer on average (the owner and one or two more).
    assert 2.2 < kinds["contact"] / kinds["customer"] < 2.8
    several = 0
    for contact in contacts:
        linked = {(link["type"], link["id"]) for link in contact["accounts"]}
        assert linked and all(link["roles"] for link in contact["accounts"])
        # Only accounts of the contact's own customer (the rule the services enforce).
        assert {customer_of_account[key] for key in linked} == {contact["rcn"]}
        several += len(linked) > 1
        assert contact["addresses"]["address"] and contact["phoneNumbers"]["phoneNumber"]
        assert 1 <= len(contact["emailAddresses"]["emailAddress"]) <= 2
    assert several > len(contacts) / 4
    # The demo profile is unchanged by the option: the same records as without it.
    assert list(demo.generate_records(50, 3, profile="demo")) == list(demo.generate_records(50, 3))
    with pytest.raises(ValueError):
        list(demo.generate_records(5, 1, profile="nope"))


def test_seed_demo_writes_the_contacts_profile(tmp_path):
    path = tmp_path / "contacts.jsonl"
    call_command("seed_demo", accounts=30, output=str(path), profile="contacts", examples=False, stdout=io.StringIO())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == list(demo.generate_records(30, 1, profile="contacts"))
