"""Accounts and their trails in the CMS API: JSON from the declared representations, XML shapes, and the
serializers that describe both in the OpenAPI document (derived from the declarations; they never serialize
at run time)."""

from rest_framework import serializers

from cmsportal.api import schema
from cmsportal.api.renderers import Element, ListOf
from cmsportal.api.routing import api_url

from .. import representations as rep
from ..representations import account_to_dict

__all__ = [
    "ACCOUNT",
    "ACCOUNTS",
    "STATUS_CHANGES",
    "ACCOUNT_HISTORY",
    "RCN_CHANGES",
    "account_url",
    "account_item",
    "LinkSerializer",
    "AccountSerializer",
    "AccountItemSerializer",
    "AccountListSerializer",
    "StatusChangeSerializer",
    "StatusHistorySerializer",
    "AccountHistoryEntrySerializer",
    "AccountHistorySerializer",
    "RCNChangeSerializer",
    "CustomerHistorySerializer",
]

# XML shapes (docs/API.md "Formats").
ACCOUNT = Element("customerAccount")
ACCOUNTS = ListOf("customerAccounts", "customerAccount", ACCOUNT)
STATUS_CHANGES = ListOf("customerAccountStatusChanges", "statusChange", Element("statusChange"))
ACCOUNT_HISTORY = ListOf(
    "customerAccountHistoryChanges",
    "customerAccountHistory",
    Element(
        "customerAccountHistory",
        children={"updatedBy": Element("updatedBy"), "destinationUpdatedBy": Element("destinationUpdatedBy")},
    ),
)
RCN_CHANGES = ListOf("accountRCNChanges", "accountRCNChange", Element("accountRCNChange"))


def account_url(request, account) -> str:
    return api_url(request, "customer_accounts", account.type, account.account_id)


def account_item(request, account) -> dict:
    """An account as a list item: the account object plus its `via` link."""
    return {**account_to_dict(account), "link": [{"rel": "via", "href": account_url(request, account)}]}


# OpenAPI descriptions.
class LinkSerializer(serializers.Serializer):
    rel = serializers.CharField()
    href = serializers.URLField()


AccountSerializer = schema.serializer_for(rep.ACCOUNT)


class AccountItemSerializer(AccountSerializer):
    link = LinkSerializer(many=True, help_text="`via`: the account's URL.")


class AccountListSerializer(serializers.Serializer):
    customerAccount = AccountItemSerializer(many=True)
    link = LinkSerializer(
        many=True, help_text="CURRENT, SELF, LAST always; NEXT and PREVIOUS when records follow/precede."
    )


StatusChangeSerializer = schema.serializer_for(rep.STATUS_CHANGE)


class StatusHistorySerializer(serializers.Serializer):
    statusChange = StatusChangeSerializer(many=True)
    link = LinkSerializer(many=True, required=False, help_text="`next` when more records follow.")


AccountHistoryEntrySerializer = schema.serializer_for(rep.ACCOUNT_HISTORY)


class AccountHistorySerializer(serializers.Serializer):
    customerAccountHistory = AccountHistoryEntrySerializer(many=True)
    link = LinkSerializer(many=True, required=False, help_text="`next` when more records follow.")


RCNChangeSerializer = schema.serializer_for(rep.RCN_CHANGE)


class CustomerHistorySerializer(serializers.Serializer):
    accountRCNChange = RCNChangeSerializer(many=True)
    link = LinkSerializer(many=True, required=False, help_text="`next` when more records follow.")
