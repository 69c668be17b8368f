"""Helpers for admin tests: the POST a browser would send for an admin change page as it stands."""

from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME


def _add_form(data: dict, form) -> None:
    for name in form.fields:
        value = form[name].value()
        key = form.add_prefix(name)
        if value is None:
            continue
        widget = form.fields[name].widget
        if isinstance(widget, forms.MultiWidget):
            # A date and a time (the admin's split date-time): one key per part, as the browser sends them.
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=False):
                if part is not None:
                    data[key + suffix] = str(part)
            continue
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item) for item in value]
        else:
            data[key] = str(value)


def changeform_data(response) -> dict:
    """Every field of the page's form and inline formsets with its current value (management forms included)."""
    data = {}
    _add_form(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        for form in formset.forms:
            _add_form(data, form)
    return data


def inline_prefix(response, model) -> str:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise LookupError(model)


def add_inline_row(data: dict, prefix: str, **fields) -> None:
    """Append one new row to an inline formset in `data`."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value


def action_data(action: str, objects, **fields) -> dict:
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects], "index": "0"}
    data.update(fields)
    return data


def changelist_rows(response) -> list:
    return list(response.context["cl"].result_list)
