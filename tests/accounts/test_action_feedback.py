"""What the staff action pages tell the person: the account's current state above the status forms, customer
suggestions ("RCN — name") under the RCN fields of merge and move, and the success message next to the section
of the page that shows the change."""

import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.template import Context, Template
from django.test import Client

from accounts import services
from cmsportal.identity.access import Actor
from cmsportal.identity.models import TenantGrant
from tests.factories import CustomerFactory, MetadataFactory, UserFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor("seed", "SYSTEM")


@pytest.fixture
def acme():
    acme = CustomerFactory(rcn="RCN-100-000-001", name="Acme Widgets")
    CustomerFactory(rcn="RCN-200-000-002", name="Globex Corporation")
    CustomerFactory(rcn="RCN-300-000-003", name="Initech")
    CustomerFactory(rcn="RCN-400-000-004", name="Zyxhidden Ltd")
    account = services.account_create(
        actor=SYSTEM,
        customer=acme,
        type="CLOUD",
        account_id="11",
        tenant_id="t1",
        status="Delinquent",
        collections_status="DELINQUENT_LEVEL_2",
        access_policy="SUSPENDED",
    )
    MetadataFactory(account=account, key="support:level", value="gold")
    return account


def current_state(body: str) -> list[tuple[str, str]]:
    block = re.search(r'data-testid="current-state">(.*?)</div>', body, re.S)
    assert block, "no current state shown"
    return re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block.group(1))


@pytest.mark.parametrize(
    "path, expected",
    [
        (
            "status/",
            [("Status", "Delinquent"), ("Collections status", "Delinquent, level 2"), ("Access policy", "Suspended")],
        ),
        ("collections/", [("Collections status", "Delinquent, level 2")]),
    ],
)
def test_status_forms_show_the_current_state_above_the_fields(staff, acme, path, expected):
    body = staff.get(f"/accounts/CLOUD/11/{path}").content.decode()
    assert current_state(body) == expected
    assert body.index('data-testid="current-state"') < body.index('class="field')
    # Kept when the form comes back with an error.
    body = staff.post(f"/accounts/CLOUD/11/{path}", {"status": "", "collections_status": ""}).content.decode()
    assert current_state(body) == expected


def section(body: str, section_id: str) -> str:
    start = body.index(f'id="{section_id}"')
    return body[start : body.index("</section>", start)]


# Every account and customer action, the section of the page it lands on, and the words of its success message.
ACTIONS = [
    ("/accounts/CLOUD/11/status/", {"status": "Active", "reason": "Paid"}, "status", "Status of CLOUD/11 changed"),
    ("/accounts/CLOUD/11/collections/", {"collections_status": "CURRENT"}, "status", "Collections status of"),
    ("/accounts/CLOUD/11/nickname/", {"nickname": "Roadrunner"}, "summary", "Nickname of CLOUD/11 changed"),
    ("/accounts/CLOUD/11/move/", {"rcn": "RCN-200-000-002"}, "summary", "CLOUD/11 now belongs to RCN-200-000-002"),
    ("/accounts/CLOUD/11/metadata/add/", {"key": "support:tier", "value": "1"}, "metadata", "Metadata support:tier"),
    ("/accounts/CLOUD/11/metadata/edit/?key=support:level", {"value": "silver"}, "metadata", "Metadata support:lev"),
    ("/accounts/CLOUD/11/metadata/delete/?key=support:level", {}, "metadata", "Metadata support:level deleted"),
    ("/customers/RCN-100-000-001/merge/", {"target": "RCN-300-000-003"}, "accounts", "was merged into RCN-300"),
]


@pytest.mark.parametrize("url, data, section_id, message", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_the_success_message_is_shown_in_the_section_of_the_change(staff, acme, url, data, section_id, message):
    if "key=" in url:
        data = {**data, "key": url.rsplit("=", 1)[1]}
    response = staff.post(url, {**data, "confirm": "yes"}, follow=True)
    target, _ = response.redirect_chain[-1]
    assert target.endswith(f"#{section_id}"), target
    body = response.content.decode()
    assert body.count(message) == 1, "the message is not shown exactly once"
    placed = section(body, section_id)
    assert re.search(
        rf'<div class="messages section-messages" role="status"[^>]*>\s*<p class="message message-success"[^>]*>'
        rf"[^<]*{re.escape(message)}",
        placed,
    ), placed[:600]


def message_list(*tags):
    return [Message(constants.SUCCESS, f"done {tag or 'plain'}", extra_tags=tag) for tag in tags]


def test_a_message_about_a_section_the_page_lacks_is_still_shown():
    template = Template(
        "{% load pages_tags %}{% general_messages as shown %}top[{% for m in shown %}{{ m }};{% endfor %}]"
        'status[{% section_messages "status" %}]bottom[{% unplaced_messages %}]'
    )
    text = template.render(Context({"messages": message_list("", "section-status", "section-nowhere")}))
    top, status, bottom = re.match(r"top\[(.*)\]status\[(.*)\]bottom\[(.*)\]", text, re.S).groups()
    assert top == "done plain;"
    assert "done section-status" in status and "done section-nowhere" not in status
    assert "done section-nowhere" in bottom and "done section-status" not in bottom
    assert 'role="status"' in status and 'role="status"' in bottom


@pytest.mark.parametrize(
    "path, field", [("/accounts/CLOUD/11/move/", "rcn"), ("/customers/RCN-100-000-001/merge/", "target")]
)
def test_rcn_fields_offer_customer_suggestions(staff, acme, path, field):
    body = staff.get(path).content.decode()
    field_tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', body).group(0)
    assert 'data-customer-suggest="/search/customers"' in field_tag and 'autocomplete="off"' in field_tag
    # A plain text field until the script makes it a combobox: no ARIA role it could not live up to.
    assert "role=" not in field_tag and 'type="text"' in field_tag


def suggestions(client, q):
    response = client.get("/search/customers", {"q": q})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()["customers"]


def test_customer_suggestions_by_name_or_rcn_with_the_name(staff, acme):
    assert suggestions(staff, "glob") == [
        {"rcn": "RCN-200-000-002", "name": "Globex Corporation", "label": "RCN-200-000-002 — Globex Corporation"}
    ]
    assert [c["rcn"] for c in suggestions(staff, "RCN-300")] == ["RCN-300-000-003"]
    assert [c["rcn"] for c in suggestions(staff, "rcn-100-000-001")] == ["RCN-100-000-001"]
    assert len(suggestions(staff, "000-00")) == 4
    assert suggestions(staff, "") == [] and suggestions(staff, "   ") == []
    assert suggestions(staff, "nothing like it") == []


def test_customer_suggestions_are_scoped_to_what_the_user_may_see(acme):
    tenant = UserFactory(username="tenant")
    TenantGrant.objects.create(user=tenant, tenant_id="t1")
    client = Client()
    client.force_login(tenant)
    assert [c["rcn"] for c in suggestions(client, "000-00")] == ["RCN-100-000-001"]
    assert suggestions(client, "Zyxhidden") == [] and suggestions(client, "RCN-400-000-004") == []
    assert suggestions(client, "Acme") == [
        {"rcn": "RCN-100-000-001", "name": "Acme Widgets", "label": "RCN-100-000-001 — Acme Widgets"}
    ]


def test_customer_suggestions_need_a_signed_in_user(client, acme):
    response = client.get("/search/customers", {"q": "Acme"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post("/search/customers", {"q": "Acme"}).status_code in (302, 405)
