"""Template helpers of the staff pages: links that keep the list's filters, sort headers, badges."""

from django import template
from django.utils.html import format_html

from contacts import phones

__all__ = [
    "register",
    "BADGE_TONES",
    "query_with",
    "sort_header",
    "tone",
    "tel_href",
    "copy_button",
    "CLIP_AT",
    "clipped",
    "general_messages",
    "section_messages",
    "unplaced_messages",
]

register = template.Library()

BADGE_TONES = {
    "Active": "ok",
    "CURRENT": "ok",
    "FULL": "ok",
    "ACCEPT": "ok",
    "Pending Approval": "warn",
    "PENDING_APPROVAL": "warn",
    "DELINQUENT_LEVEL_1": "warn",
    "Delinquent": "bad",
    "DELINQUENT_LEVEL_2": "bad",
    "DELINQUENT_LEVEL_3": "bad",
    "Suspended": "bad",
    "SUSPENDED": "bad",
    "REJECT": "bad",
    "WRITTEN_OFF": "bad",
    "Closed": "muted",
}


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with `changes` applied (None removes a parameter); paging restarts."""
    params = context["request"].GET.copy()
    for name in ("after", "before", "at"):
        params.pop(name, None)
    for name, value in changes.items():
        params.pop(name, None)
        if value not in (None, ""):
            params[name] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context, name, label):
    """A column header that sorts by `name`, announcing the current order to assistive technology."""
    current, descending = context.get("sort"), context.get("descending")
    if name not in context.get("sort_keys", {}):
        return format_html('<th scope="col">{}</th>', label)
    active = current == name
    target = f"-{name}" if active and not descending else name
    href = query_with(context, sort=target)
    aria = ("descending" if descending else "ascending") if active else "none"
    arrow = ("▼" if descending else "▲") if active else "↕"
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="{}" data-testid="sort-{}">{} '
        '<span aria-hidden="true">{}</span></a></th>',
        aria,
        href,
        name,
        label,
        arrow,
    )


@register.filter
def tone(value):
    """The colour family of a status-like value: ok, warn, bad, muted or neutral."""
    return BADGE_TONES.get(value, "neutral")


@register.filter
def tel_href(phone):
    """A tel: link target: E.164 when the number parses, else its digits (a leading + kept)."""
    return phones.tel_uri(phone.number, phone.country)


@register.inclusion_tag("includes/copy.html")
def copy_button(value, label=""):
    return {"value": value, "label": label or value}


# Characters of a long value shown before its "Show all".
CLIP_AT = 200


@register.inclusion_tag("includes/clipped.html")
def clipped(value, at=CLIP_AT):
    """A value, cut after `at` characters with the rest behind a "Show all" (a <details>; no script)."""
    text = "" if value is None else str(value)
    return {"text": text, "head": text[:at], "long": len(text) > at}


# --- messages next to the section they are about (cmsportal.pages.section_message_tag) -------------------------


def _section_of(message) -> str | None:
    from cmsportal.pages import SECTION_TAG

    for tag in (message.extra_tags or "").split():
        if tag.startswith(SECTION_TAG):
            return tag[len(SECTION_TAG) :]
    return None


@register.simple_tag(takes_context=True)
def general_messages(context):
    """The page's messages that name no section: base.html shows them at the top of the page."""
    return [m for m in context.get("messages", ()) if _section_of(m) is None]


@register.inclusion_tag("includes/messages.html", takes_context=True)
def section_messages(context, section):
    """The messages about `section` (the id of the element this is placed in), marked as shown."""
    found = [m for m in context.get("messages", ()) if _section_of(m) == section]
    for message in found:
        message.shown_in_section = True
    return {"shown": found, "section": section}


@register.inclusion_tag("includes/messages.html", takes_context=True)
def unplaced_messages(context):
    """Messages about a section this page has not shown (placed after the content, so none is ever lost)."""
    found = [
        m
        for m in context.get("messages", ())
        if _section_of(m) is not None and not getattr(m, "shown_in_section", False)
    ]
    return {"shown": found, "section": None}
