"""Forms of the staff pages' metadata actions; keys are checked by validate_key, policy by the services."""

from django import forms

from cmsportal.pages import VersionedForm

from .models import KEY_MAX_LENGTH, VALUE_MAX_LENGTH, validate_key

__all__ = ["MetadataForm", "MetadataDeleteForm"]


class MetadataForm(VersionedForm):
    key = forms.CharField(
        label="Key",
        max_length=KEY_MAX_LENGTH,
        validators=[validate_key],
        help_text="namespace:name, for example support:tier.",
    )
    value = forms.CharField(
        label="Value",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=VALUE_MAX_LENGTH,
        help_text=f"At most {VALUE_MAX_LENGTH} characters.",
    )

    def __init__(self, *args, key_fixed=False, **kwargs):
        super().__init__(*args, **kwargs)
        if key_fixed:
            self.fields["key"].widget.attrs["readonly"] = True


class MetadataDeleteForm(VersionedForm):
    key = forms.CharField(label="Key", max_length=KEY_MAX_LENGTH, validators=[validate_key], widget=forms.HiddenInput)
