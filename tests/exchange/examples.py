"""The reference's documented examples (tests/data/examples, copied unchanged from spec/examples) as
exchange records, so that tests can load the documented data and compare the API with the examples.

    example_records(managed_hosting="detail") -> list[dict]   every example as exchange records
    load_examples(**kwargs) -> dict                            import them (returns counts per kind)
    example(name) -> the parsed JSON of tests/data/examples/<name>

How each example becomes records (docs/API.md's settled contradictions applied):
- Accounts: the cloud, FAWS and managed-hosting detail examples and the four accounts of the list
  example, without `link`. The FAWS example has `domain` twice: the second ("12345") wins, as
  json.load already does. MANAGED_HOSTING/5342823 is in both the managed-hosting detail example and
  the list with different values; `managed_hosting` chooses which one ("detail" or "list").
- Contacts: get-a-contact and the four contacts of get-contacts, without `link` and `roles`; each
  holds its roles on the account of its `via` href (CLOUD/3784384 or CLOUD/7483483).
  get-a-contact has no href: it is put on CLOUD/3784384, the account of its customer
  (RCN-999-888-777) in get-contacts. Booleans are always present, so the address that drops
  `primary` gets `"primary": false`. Accounts CLOUD/3784384 and CLOUD/7483483 appear in no example
  and get minimal records (id, type, number, rcn, tenantId, domain by the reference's defaults).
- Metadata: get-all-metadata's two entries on CLOUD/10101; get-specific-metadata's `some:key` on
  MANAGED_HOSTING/5342823; the detail example (creation:faws:servicelevelid, with its dates) on
  FANATICAL_SUPPORT_FOR_AWS/5342823. The update request's key `name` has no namespace (not a valid
  key) and is left out.
- History: the statusChange, customerAccountHistory and accountRCNChange examples on CLOUD/10101,
  in the examples' order.
- Customers: none; the accounts' and contacts' RCNs become implicit customers.
"""

import json
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "examples"
HISTORY_ACCOUNT = ("CLOUD", "10101")


@cache
def _load(name: str):
    with open(EXAMPLES_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


def example(name: str):
    """A fresh copy of the parsed example `name` (e.g. "get-customer-account-response-cloud.json")."""
    return json.loads(json.dumps(_load(name)))


def _without(obj: dict, *keys) -> dict:
    return {k: v for k, v in obj.items() if k not in keys}


def _account_of(href: str) -> tuple[str, str]:
    parts = urlparse(href).path.strip("/").split("/")
    index = parts.index("customer_accounts")
    return parts[index + 1], parts[index + 2]


def _contact_body(contact: dict, account: tuple[str, str]) -> dict:
    body = _without(contact, "link", "roles")
    for address in body.get("addresses", {}).get("address", []):
        address.setdefault("primary", False)
    for email in body.get("emailAddresses", {}).get("emailAddress", []):
        email.setdefault("primary", False)
    for phone in body.get("phoneNumbers", {}).get("phoneNumber", []):
        phone.setdefault("primary", False)
        phone.setdefault("smsVerify", False)
    body["accounts"] = [{"type": account[0], "id": account[1], "roles": list(contact["roles"]["role"])}]
    return body


def _on(account: tuple[str, str], body: dict) -> dict:
    return {"accountType": account[0], "accountId": account[1], **body}


def example_records(managed_hosting: str = "detail") -> list[dict]:
    """Every documented example as exchange records (see the module docstring)."""
    if managed_hosting not in ("detail", "list"):
        raise ValueError("managed_hosting is 'detail' or 'list'")
    accounts = {}
    listed = example("get-customer-accounts-response.json")["customerAccount"]
    for item in listed:
        accounts[(item["type"], item["id"])] = _without(item, "link")
    for name in ("cloud", "faws", "managed-hosting"):
        item = example(f"get-customer-account-response-{name}.json")
        key = (item["type"], item["id"])
        if key in accounts and managed_hosting == "list":
            continue
        accounts[key] = item

    contacts = []
    for contact in example("get-contacts-response.json")["contact"]:
        contacts.append(_contact_body(contact, _account_of(contact["link"][0]["href"])))
    contacts.append(_contact_body(example("get-a-contact-response.json"), ("CLOUD", "3784384")))
    for contact in contacts:
        for type_, id_ in ((a["type"], a["id"]) for a in contact["accounts"]):
            accounts.setdefault(
                (type_, id_),
                {"id": id_, "type": type_, "number": int(id_), "rcn": contact["rcn"], "tenantId": id_, "domain": id_},
            )

    records = [{"customerAccount": body} for body in accounts.values()]
    records += [{"contact": body} for body in contacts]

    all_metadata = example("get-all-metadata-for-resource-response.json")["metadata"]
    for key, value in all_metadata.items():
        records.append({"metadata": _on(("CLOUD", "10101"), {"key": key, "value": value})})
    for key, value in example("get-specific-metadata-response.json")["meta"].items():
        records.append({"metadata": _on(("MANAGED_HOSTING", "5342823"), {"key": key, "value": value})})
    detail = example("get-detail-for-specific-metadata-response.json")
    records.append({"metadata": _on(("FANATICAL_SUPPORT_FOR_AWS", "5342823"), detail)})

    for kind, name in (
        ("statusChange", "get-customer-account-status-history-response.json"),
        ("customerAccountHistory", "get-customer-account-history-response.json"),
        ("accountRCNChange", "get-customer-history-response.json"),
    ):
        for entry in example(name)[kind]:
            records.append({kind: _on(HISTORY_ACCOUNT, entry)})
    return records


def load_examples(**kwargs) -> dict:
    """Import every example into the test database; returns the counts per kind."""
    from cmsportal.exchange import import_records

    return import_records(example_records(**kwargs), progress=False)
