"""The compiled decoders (decoders.decode) give exactly what records.decode gives: the same rows or the same error."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmsportal.exchange import checks, decoders, records, staging

from .examples import example_records
from .test_import import GOOD
from .test_round_trip import exchange_files


def outcome(decode, record):
    buffers = {name: [] for name in staging.STAGING}
    try:
        kind = decode(7, copy.deepcopy(record), buffers)
    except checks.Invalid as exc:
        return ("error", str(exc))
    return ("ok", kind, buffers)


def test_valid_records_take_the_fast_path(monkeypatch):
    """Every kind but namespace is decoded without records.decode, else the comparisons below prove little."""
    samples = [r for r in [*GOOD, *example_records()] if "namespace" not in r]
    expected = [outcome(records.decode, record) for record in samples]

    def refuse(*args):
        raise AssertionError("records.decode was called")

    monkeypatch.setattr(records, "decode", refuse)
    assert [outcome(decoders.decode, record) for record in samples] == expected
    assert {next(iter(r)) for r in samples} == set(staging.KINDS) - {"namespace"}


def test_canonical_dates_stay_text_and_others_become_datetimes():
    account = {"customerAccount": {"id": "1", "type": "CLOUD", "rcn": "RCN-123-456-789"}}
    created = [column for column, _ in staging.STAGING["account"]].index("created_date")
    for decode in (records.decode, decoders.decode):
        canonical = copy.deepcopy(account)
        canonical["customerAccount"]["createdDate"] = "2015-04-21T18:00:00.123Z"
        other = copy.deepcopy(account)
        other["customerAccount"]["createdDate"] = "2015-04-21T20:00:00.123+02:00"
        (_, _, rows) = outcome(decode, canonical)
        assert rows["account"][0][created] == "2015-04-21T18:00:00.123Z"
        (_, _, rows) = outcome(decode, other)
        assert rows["account"][0][created].isoformat() == "2015-04-21T18:00:00.123000+00:00"


# Values that sit on the edges of the checks: wrong types, nulls, lengths, characters, dates, numbers.
AWKWARD_VALUES = (
    [
        None,
        "",
        "x",
        "x" * 33,
        "x" * 256,
        "é",
        "Ωmega",
        "\ud800",
        "a\x00b",
        "a\tb",
        "a/b",
        "a\x7f",
        "RCN-123-456-789",
        "RCN-123-456-789\n",
        "RCN-١٢٣-456-789",
        "RPN-000-111-007",
        "CLOUD",
        "BILLING",
        "PRIMARY",
        "SYSTEM",
        "support:level",
        "bad key",
        "2015-04-21T18:00:00.000Z",
        "2015-02-30T18:00:00.000Z",
        "2015-04-21T18:00:00Z",
        "2015-04-21T18:00:00.123456Z",
        "2015-04-21 18:00:00",
        "2015-04-21T18:00:00,000Z",
        "2015-W17-2T18:00:00.000Z",
        0,
        -1,
        2**63 - 1,
        2**63,
        2**70,
        1.5,
        True,
        False,
        [],
        ["BILLING", "BILLING"],
        ["OWNER"],
        {},
        {"address": []},
        {"username": "u"},
        {"type": "ROBOT"},
    ]
    + ["x" * n for n in (31, 32, 63, 64, 65, 127, 128, 129, 149, 150, 151, 253, 254, 255)]
    + ["2015-04-21T18:00:00.000Z"[:n] for n in (10, 19, 23)]
)
AWKWARD = st.sampled_from(AWKWARD_VALUES)


def positions(value):
    """Every object inside `value` (itself included), depth first."""
    if isinstance(value, dict):
        yield value
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return
    for child in children:
        yield from positions(child)


def single_changes(record):
    """Copies of `record` with one key of one of its objects replaced by each awkward value, removed, or added."""
    count = sum(1 for _ in positions(record))
    for index in range(count):
        keys = sorted(list(positions(record))[index])
        for key in [*keys, "unknown"]:
            for value in [*AWKWARD_VALUES, ...]:
                changed = copy.deepcopy(record)
                target = list(positions(changed))[index]
                if value is ...:
                    target.pop(key, None)
                else:
                    target[key] = value
                yield changed


def test_every_single_change_to_a_valid_record_is_judged_alike():
    samples = [*GOOD, *example_records()]
    compared = 0
    for record in samples:
        for changed in single_changes(record):
            assert outcome(decoders.decode, changed) == outcome(records.decode, changed), changed
            compared += 1
    assert compared > 10_000


@st.composite
def mutated(draw):
    """A valid record with one value somewhere in it replaced, removed or added."""
    samples = draw(exchange_files()) + GOOD
    record = copy.deepcopy(draw(st.sampled_from(samples)))
    target = next(iter(record.values()))
    # Walk down into nested objects and lists now and then.
    for _ in range(draw(st.integers(0, 3))):
        children = [v for v in target.values() if isinstance(v, dict | list) and v]
        if not children:
            break
        child = draw(st.sampled_from(children))
        target = draw(st.sampled_from(child)) if isinstance(child, list) else child
        if not isinstance(target, dict):
            return record
    keys = sorted(target)
    action = draw(st.sampled_from(["replace", "remove", "add"] if keys else ["add"]))
    if action == "add":
        target[draw(st.sampled_from([*keys, "unknown", "roles", "addresses"]))] = draw(AWKWARD)
    elif action == "remove":
        del target[draw(st.sampled_from(keys))]
    else:
        target[draw(st.sampled_from(keys))] = draw(AWKWARD)
    return record


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_and_reference_decoders_agree(record):
    assert outcome(decoders.decode, record) == outcome(records.decode, record)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exchange_files())
def test_fast_and_reference_decoders_agree_on_valid_files(samples):
    for record in samples:
        assert outcome(decoders.decode, record) == outcome(records.decode, record)


@pytest.mark.parametrize("record", [["x"], {}, {"a": 1, "b": 2}, {"account": {}}, {"customer": "RCN"}, 5])
def test_malformed_records_get_the_reference_errors(record):
    assert outcome(decoders.decode, record) == outcome(records.decode, record)
    assert outcome(decoders.decode, record)[0] == "error"
