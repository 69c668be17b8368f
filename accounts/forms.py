"""Forms of the staff pages' account and customer actions; the services do the work and the checking."""

from django import forms
from django.urls import reverse_lazy

from cmsportal.pages import VersionedForm

from .choices import AccessPolicy, AccountStatus, CollectionsStatus, FraudStatus
from .models import RCN_RE, REASON_MAX_LENGTH, Account
from .services import RISKY_TRANSITIONS

__all__ = [
    "NO_CHANGE",
    "REASON_HELP",
    "StatusForm",
    "CollectionsForm",
    "NicknameForm",
    "RCNField",
    "CustomerRCNField",
    "MoveForm",
    "MergeForm",
    "BULK_LIMIT",
    "BulkSelectionForm",
    "BulkStatusForm",
    "BulkCollectionsForm",
]

NO_CHANGE = [("", "No change")]
REASON_HELP = (
    f"Required for {', '.join(RISKY_TRANSITIONS[:-1])} and {RISKY_TRANSITIONS[-1]}; "
    f"at most {REASON_MAX_LENGTH} characters. Kept with the change in the status timeline."
)


class StatusForm(VersionedForm):
    status = forms.ChoiceField(label="Status", choices=NO_CHANGE + AccountStatus.choices, required=False)
    access_policy = forms.ChoiceField(label="Access policy", choices=NO_CHANGE + AccessPolicy.choices, required=False)
    fraud_status = forms.ChoiceField(
        label="Fraud status", choices=[("", "Not recorded")] + FraudStatus.choices, required=False
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REASON_MAX_LENGTH,
        required=False,
        help_text=REASON_HELP,
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
        label="Nickname",
        max_length=Account._meta.get_field("nickname").max_length,
        required=False,
        help_text="Leave empty to remove the nickname.",
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


class CustomerRCNField(RCNField):
    """An RCN field that suggests, as one types an RCN or part of a name, the customers one may see ("RCN — name").

    static/js/site.js makes it a combobox (arrow keys, Enter, Escape; like the header's search box) fed by
    cmsportal.views.customer_suggest; without JavaScript it is a plain text field.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "data-customer-suggest": reverse_lazy("customer_suggest")}
        )


class MoveForm(VersionedForm):
    rcn = CustomerRCNField(
        label="Move to customer (RCN)",
        help_text="The RCN of the customer receiving this account: type it, or part of the name, and choose.",
    )


class MergeForm(forms.Form):
    target = CustomerRCNField(
        label="Merge into customer (RCN)",
        help_text="This customer's accounts and contacts move there: type its RCN, or part of the name, and choose.",
    )


BULK_LIMIT = 250  # the largest page a list shows: a bulk action covers at most one page's selection


class BulkSelectionForm(forms.Form):
    """The accounts a bulk action applies to (keys `TYPE/ID`), carried through its steps as hidden fields."""

    selected = forms.MultipleChoiceField(widget=forms.MultipleHiddenInput)
    action = forms.CharField(widget=forms.HiddenInput)
    back = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2000)

    def __init__(self, *args, keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selected"].choices = [(key, key) for key in keys]

    def clean_back(self):
        # Only a query string of the list itself: never somewhere else.
        back = self.cleaned_data.get("back") or ""
        return back if back.startswith("?") else ""


class BulkStatusForm(BulkSelectionForm, StatusForm):
    pass


class BulkCollectionsForm(BulkSelectionForm, CollectionsForm):
    pass
