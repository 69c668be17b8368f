"""The line encoders compiled from the declarations write exactly what the declarations, read field by
field, say (`encoders.Line.declared`), and what records.py's `*_record` + `record_text` write, for any
values: generated from the declaration itself, so a field added to a declaration is covered too."""

from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmsportal import resources as r
from cmsportal.dates import format_date
from cmsportal.exchange import encoders, records

LINES = {
    name: getattr(encoders, name)
    for name in (
        "CUSTOMER",
        "NAMESPACE",
        "ACCOUNT",
        "ADDRESS",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CONTACT",
        "METADATA",
        "STATUS_CHANGE",
        "ACCOUNT_HISTORY",
        "RCN_CHANGE",
    )
}

TEXT = st.text(st.characters(blacklist_categories=("Cs",)))
MOMENT = st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC))
_VALUES = {
    r.STR: TEXT,
    r.CHOICE: TEXT,
    r.INT: st.integers(-(2**63), 2**63 - 1),
    r.BOOL: st.booleans(),
    r.DATE: MOMENT,
}


def _value(field: r.Field):
    values = _VALUES[field.type]
    return values if field.required else st.one_of(st.none(), values)


def _as_row(field: r.Field, value):
    """What the exporter reads for `value`: dates as their text."""
    return format_date(value) if field.type == r.DATE and value is not None else value


@st.composite
def values_of(draw, line: encoders.Line):
    """(object values by attribute path, row, lists, tail, lead) for `line`."""
    leaves = encoders.row_leaves(line.resource)
    values = [draw(_value(field)) for field, _ in leaves]
    row = tuple(_as_row(field, value) for (field, _), value in zip(leaves, values, strict=True))
    lists = []
    for field in line.lists:
        item = st.dictionaries(TEXT, st.one_of(TEXT, st.booleans()), max_size=3) if not field.arg else TEXT
        lists.append(draw(st.lists(item, max_size=3)))
    tail = [draw(st.lists(TEXT, max_size=2)) for _ in line.tail]
    lead = [draw(TEXT) for _ in line.lead]
    return {path: value for (_, path), value in zip(leaves, values, strict=True)}, row, lists, tail, lead


@pytest.mark.parametrize("name", sorted(LINES))
def test_compiled_encoder_is_the_declaration(name):
    line = LINES[name]

    @given(values_of(line))
    def check(drawn):
        _, row, lists, tail, lead = drawn
        assert line.compiled(*lead, row, *lists, *tail) == line.declared(*lead, row, *lists, *tail)

    check()


def test_a_wrong_row_is_refused_by_both():
    with pytest.raises(ValueError):
        encoders.ACCOUNT.compiled(("1", "CLOUD"))
    with pytest.raises(TypeError):
        encoders.ACCOUNT.declared(("1", "CLOUD"))


def _object(paths: dict):
    """An object with the attributes `paths` name (dotted paths become nested objects)."""
    root = {}
    for path, value in paths.items():
        *steps, last = path.split(".")
        node = root
        for step in steps:
            node = node.setdefault(step, {})
        node[last] = value

    def build(node):
        return SimpleNamespace(**{k: build(v) if isinstance(v, dict) else v for k, v in node.items()})

    return build(root)


# The flat records: the encoder against the representation function (records.py), on objects with
# exactly the declared attributes.
_RECORDS = {
    "CUSTOMER": lambda obj, lead: records.customer_record(obj),
    "ACCOUNT": lambda obj, lead: records.account_record(obj),
    "METADATA": lambda obj, lead: records.metadata_record(SimpleNamespace(type=lead[0], account_id=lead[1]), obj),
    "STATUS_CHANGE": lambda obj, lead: records.status_change_record(
        SimpleNamespace(type=lead[0], account_id=lead[1]), obj
    ),
    "ACCOUNT_HISTORY": lambda obj, lead: records.account_history_record(
        SimpleNamespace(type=lead[0], account_id=lead[1]), obj
    ),
    "RCN_CHANGE": lambda obj, lead: records.rcn_change_record(SimpleNamespace(type=lead[0], account_id=lead[1]), obj),
}


@pytest.mark.parametrize("name", sorted(_RECORDS))
def test_encoder_writes_what_the_representation_gives(name):
    line = LINES[name]

    @given(values_of(line))
    def check(drawn):
        paths, row, _, _, lead = drawn
        expected = records.record_text(_RECORDS[name](_object(paths), lead)) + "\n"
        assert line(*lead, row) == expected.encode()

    check()


def test_objects_nested_in_a_contact_are_the_representations():
    @given(values_of(encoders.PHONE_NUMBER), values_of(encoders.ADDRESS))
    def check(phone, address):
        assert encoders.phone_number_object(phone[1]) == records.rep.phone_number_to_dict(_object(phone[0]))
        assert encoders.address_object(address[1]) == records.rep.address_to_dict(_object(address[0]))

    check()


def test_the_compiled_encoders_write_json_lines():
    line = encoders.contact_line(
        ("RPN-1", None, "A", None, None, None, None, True, False, True, False, True, None, "2020-01-01T00:00:00.000Z"),
        [{"city": "Paris", "primary": True}],
        [],
        [],
        [{"type": "CLOUD", "id": "1", "roles": []}],
    )
    assert line.endswith(b"\n")
    assert orjson.loads(line) == {
        "contact": {
            "contactNumber": "RPN-1",
            "firstName": "A",
            "addresses": {"address": [{"city": "Paris", "primary": True}]},
            "notificationPreferences": {
                "doNotFax": True,
                "doNotCall": False,
                "doNotEmail": True,
                "doNotMail": False,
                "doNotSurvey": True,
            },
            "lastUpdatedDate": "2020-01-01T00:00:00.000Z",
            "accounts": [{"type": "CLOUD", "id": "1", "roles": []}],
        }
    }
