"""Each app's choices live in its own choices.py (models.py imports them from there)."""

import inspect
import types

import pytest
from django.apps import apps
from django.db import models

# Our apps with models: the project's own (cmsportal, identity, accounts, contacts, metadata).
PROJECT_APPS = [
    config
    for config in apps.get_app_configs()
    if config.models_module is not None and not config.name.startswith(("django.", "rest_", "drf_"))
]


def misplaced_choices(app_name: str, *namespaces) -> list[str]:
    """Choices classes found in `namespaces` (a module, model classes) that are not defined in the app's choices.py."""
    found = {
        f"{value.__module__}.{value.__qualname__}"
        for namespace in namespaces
        for value in vars(namespace).values()
        if inspect.isclass(value) and issubclass(value, models.Choices) and value.__module__ != "django.db.models.enums"
    }
    return sorted(name for name in found if not name.startswith(f"{app_name}.choices."))


@pytest.mark.parametrize("config", PROJECT_APPS, ids=[config.label for config in PROJECT_APPS])
def test_choices_are_defined_in_the_app_s_choices_module(config):
    misplaced = misplaced_choices(config.name, config.models_module, *config.get_models())
    assert not misplaced, f"move these to {config.name}/choices.py (and import them in models.py): {misplaced}"


def test_a_choice_defined_in_models_is_misplaced():
    """The test above can fail: a Choices class made in a models module is reported."""
    stray = models.TextChoices("Colour", "RED GREEN", module="accounts.models")
    assert misplaced_choices("accounts", types.SimpleNamespace(Colour=stray)) == ["accounts.models.Colour"]
