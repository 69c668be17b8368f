"""Accounts and their trails in the CMS API: JSON from the shared representations, XML shapes, and the
serializers that describe both in the OpenAPI document (they never serialize at run time)."""

from rest_framework import serializers

from cmsportal.api.renderers import Element, ListOf
from cmsportal.api.routing import api_url
from cmsportal.exchange.representations import account_to_dict

from ..models import (
    AccessPolicy,
    AccountChangeType,
    AccountStatus,
    AccountType,
    CollectionsStatus,
    FraudStatus,
    RCNChangeType,
    UserType,
)

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


class AccountSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(AccountType.values)
    number = serializers.IntegerField(required=False)
    rcn = serializers.CharField()
    name = serializers.CharField(required=False)
    nickname = serializers.CharField(required=False)
    status = serializers.ChoiceField(AccountStatus.values, required=False)
    tenantId = serializers.CharField(required=False)
    domain = serializers.CharField(required=False)
    serviceLevel = serializers.CharField(required=False)
    collectionsStatus = serializers.ChoiceField(CollectionsStatus.values, required=False)
    accessPolicy = serializers.ChoiceField(AccessPolicy.values, required=False)
    parentAccountNumber = serializers.IntegerField(required=False)
    createdBy = serializers.CharField(required=False)
    createdDate = serializers.DateTimeField(required=False)
    lastUpdatedBy = serializers.CharField(required=False)
    lastUpdatedDate = serializers.DateTimeField(required=False)


class AccountItemSerializer(AccountSerializer):
    link = LinkSerializer(many=True, help_text="`via`: the account's URL.")


class AccountListSerializer(serializers.Serializer):
    customerAccount = AccountItemSerializer(many=True)
    link = LinkSerializer(
        many=True, help_text="CURRENT, SELF, LAST always; NEXT and PREVIOUS when records follow/precede."
    )


class StatusChangeSerializer(serializers.Serializer):
    date = serializers.DateTimeField()
    status = serializers.ChoiceField(AccountStatus.values, required=False)
    username = serializers.CharField(required=False)
    usertype = serializers.ChoiceField(UserType.values, required=False)
    collectionsStatus = serializers.ChoiceField(CollectionsStatus.values, required=False)
    accessPolicy = serializers.ChoiceField(AccessPolicy.values, required=False)
    fraudStatus = serializers.ChoiceField(FraudStatus.values, required=False)


class StatusHistorySerializer(serializers.Serializer):
    statusChange = StatusChangeSerializer(many=True)
    link = LinkSerializer(many=True, required=False, help_text="`next` when more records follow.")


class ActorSerializer(serializers.Serializer):
    username = serializers.CharField(required=False)
    type = serializers.CharField(required=False, help_text=", ".join(UserType.values))


class AccountHistoryEntrySerializer(serializers.Serializer):
    accountChangeType = serializers.ChoiceField(AccountChangeType.values)
    rcn = serializers.CharField(required=False)
    updatedDate = serializers.DateTimeField(required=False)
    accountStatus = serializers.CharField(required=False)
    collectionsStatus = serializers.CharField(required=False)
    nickname = serializers.CharField(required=False)
    updatedBy = ActorSerializer(required=False)
    destinationUpdatedBy = ActorSerializer(required=False)


class AccountHistorySerializer(serializers.Serializer):
    customerAccountHistory = AccountHistoryEntrySerializer(many=True)
    link = LinkSerializer(many=True, required=False, help_text="`next` when more records follow.")


class RCNChangeSerializer(serializers.Serializer):
    accountChangeType = serializers.ChoiceField(RCNChangeType.values)
    username = serializers.CharField(required=False)
    rcn = serializers.CharField(required=False)
    date = serializers.DateTimeField(required=False)


class CustomerHistorySerializer(serializers.Serializer):
    accountRCNChange = RCNChangeSerializer(many=True)
    link = LinkSerializer(many=True, required=False, help_text="`next` when more records follow.")
