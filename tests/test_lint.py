"""ruff, the import contracts, and the rules neither can check are part of the suite: CI fails on
them like on any other broken test."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_ruff_check_is_clean() -> None:
    result = subprocess.run([RUFF, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run([RUFF, "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_hold() -> None:
    """pyproject.toml's [tool.importlinter] contracts: which of our packages may import which."""
    result = subprocess.run([LINT_IMPORTS, "--no-logo", "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def imported_modules(source: str, package: str) -> set[str]:
    """Every module ``source`` imports, relative imports resolved against ``package`` (dotted);
    for ``from x import y``, both ``x`` and ``x.y`` (``y`` may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {module, *(f"{module}.{alias.name}" for alias in node.names)}
    return found


def project_python_files() -> list[Path]:
    """The project's .py files: not the virtualenv, local data or anything hidden."""
    skipped = {"var", "staticfiles", "node_modules"}
    return [
        path
        for path in ROOT.rglob("*.py")
        if not any(part in skipped or part.startswith(".") for part in path.relative_to(ROOT).parts)
    ]


def is_conftest_or_test_module(module: str) -> bool:
    name = module.rsplit(".", 1)[-1]
    return name == "conftest" or name.startswith("test_")


def test_no_module_imports_a_conftest_or_a_test_module() -> None:
    """pytest imports conftest.py files and test modules itself; importing one from another module
    runs its fixtures and tests under a second name. Shared helpers live in helper modules
    (orders/tests/factories.py, tests/security/helpers.py...), shared fixtures in the plugins the
    root conftest.py lists in ``pytest_plugins`` or in a conftest.py above every test using them."""
    offending = []
    for path in project_python_files():
        name = path.relative_to(ROOT)
        imported = imported_modules(path.read_text(encoding="utf-8"), ".".join(name.parent.parts))
        offending += [f"{name} imports {module}" for module in sorted(imported) if is_conftest_or_test_module(module)]
    assert not offending, "\n".join(offending)


def test_the_import_check_finds_every_form_of_import() -> None:
    source = (
        "import shop.tests.conftest\n"
        "from tests.security.conftest import Server\n"
        "from .test_consumers import connect\n"
        "from . import conftest\n"
        "from ..tests import test_views\n"
        "from orders.tests.factories import place\n"
    )
    flagged = {module for module in imported_modules(source, "orders.tests") if is_conftest_or_test_module(module)}
    assert flagged == {
        "shop.tests.conftest",
        "tests.security.conftest",
        "orders.tests.test_consumers",
        "orders.tests.conftest",
        "orders.tests.test_views",
    }
