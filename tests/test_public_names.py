"""Every module of the project declares its public names in ``__all__``, and lists only names it defines."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["accounts", "contacts", "metadata", "cmsportal"]


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


MODULES = list(_modules())


def test_every_package_is_enumerated():
    names = {name for name, _ in MODULES}
    assert {"accounts.models", "cmsportal.exchange.importer", "cmsportal.resources"} <= names
    assert not any(".migrations" in name for name in names)


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_module_declares_its_public_names(name, path):
    module = importlib.import_module(name)
    assert "__all__" in vars(module), f"{name} has no __all__"
    listed = module.__all__
    assert isinstance(listed, (list, tuple)) and all(isinstance(n, str) for n in listed)
    assert len(set(listed)) == len(listed), f"{name}.__all__ lists a name twice"
    undefined = [n for n in listed if not hasattr(module, n)]
    assert not undefined, f"{name}.__all__ lists names it does not define: {undefined}"
    # Every public function and class the module defines itself is listed.
    defined = {
        node.name
        for node in ast.parse(path.read_text(), str(path)).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_")
    }
    assert not defined - set(listed), (
        f"{name} defines public names missing from __all__: {sorted(defined - set(listed))}"
    )
