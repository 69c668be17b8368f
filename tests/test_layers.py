"""The layout's import rules (/work/shared/DESIGN.md "Where things should move"), checked on every module."""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
# The project's apps (cmsportal itself holds the shared machinery).
APPS = [c.name for c in apps.get_app_configs() if (ROOT / c.name).is_dir() and c.name != "cmsportal"]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: Path):
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", _modules(ROOT / "cmsportal" / "api"), ids=lambda p: p.name)
def test_api_machinery_knows_no_app(path):
    assert not {name for name in _imports(path) if name.split(".")[0] in APPS}


@pytest.mark.parametrize(
    "path",
    [p for app in APPS for p in _modules(ROOT / app) if "management" not in p.parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_apps_do_not_import_the_exchange(path):
    """Representations live with their apps; only the exchange's commands (management/) use the exchange."""
    assert not any(name == "cmsportal.exchange" or name.startswith("cmsportal.exchange.") for name in _imports(path))
