"""Forms of the staff pages' account and customer actions; the services do the work and the checking."""

from django import forms

from cmsportal.pages import VersionedForm

from .models import RCN_RE, AccessPolicy, AccountStatus, CollectionsStatus, FraudStatus

NO_CHANGE = [("", "No change")]


class StatusForm(VersionedForm):
    status = forms.ChoiceField(label="Status", choices=NO_CHANGE + AccountStatus.choices, required=False)
    access_policy = forms.ChoiceField(label="Access policy", choices=NO_CHANGE + AccessPolicy.choices, required=False)
    fraud_status = forms.ChoiceField(
        label="Fraud status", choices=[("", "Not recorded")] + FraudStatus.choices, required=False
    )

    def clean(self):
        data = super().clean()
        if not data.get("status") and not data.get("access_policy"):
            raise forms.ValidationError("Choose a new status or access policy.")
        return data


class CollectionsForm(VersionedForm):
    collections_status = forms.ChoiceField(label="Collections status", choices=CollectionsStatus.choices)


class NicknameForm(VersionedForm):
    nickname = forms.CharField(
        label="Nickname", max_length=255, required=False, help_text="Leave empty to remove the nickname."
    )


class RCNField(forms.RegexField):
    def __init__(self, **kwargs):
        super().__init__(
            regex=RCN_RE,
            max_length=15,
            error_messages={"invalid": "An RCN looks like RCN-123-456-789."},
            **kwargs,
        )

    def to_python(self, value):
        return super().to_python(value).strip().upper()


class MoveForm(VersionedForm):
    rcn = RCNField(label="Move to customer (RCN)", help_text="The RCN of the customer receiving this account.")


class MergeForm(forms.Form):
    target = RCNField(label="Merge into customer (RCN)", help_text="This customer's accounts and contacts move there.")
