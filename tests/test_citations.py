"""Every repo path and module that a comment, docstring or document cites exists.

A citation that points nowhere sends the reader on a hunt (`orders.recovery`, cited for what
lives in `orders/stock.py`), and one that points outside the repo (a design note only the
original authors had) can never be followed by someone who clones it. Checked here:

- paths like `orders/stock.py`, `docs/decisions/`, `orders/services.py:120` or
  `shop/tests/test_cache.py::test_name` whose first part is a top-level entry of the repo
  (the test named after `::` must be defined in that file);
- upper-case Markdown files named alone (`README.md`, `CONTRIBUTING.md`);
- dotted references to the project's modules (`orders.stock.stock_settle`): the module must
  exist, and a name after it must be defined there.

Python files are checked in their comments and docstrings, Markdown in its code spans and
links, other text files (templates, Makefile, settings files, scripts) throughout.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "shop", "orders", "common", "config", "devstack", "benchmarks")
TEXT_SUFFIXES = {".py", ".md", ".html", ".txt", ".toml", ".yml", ".yaml", ".sh", ".js", ".css", ".cfg", ".example"}
TEXT_NAMES = {"Makefile", "Dockerfile", "run"}
# Dotted names that look like module paths but name channel-layer groups and WebSocket message
# types (orders/events.py, docs/api.md).
NOT_MODULES = {"orders.staff", "orders.user", "orders.resync"}

_PATH = re.compile(r"(?<![\w/.:@=-])((?:\.?[\w-]+/)+(?:[\w.*-]+)?)(?::\d+|::(\w+))?")
_UPPER_MD = re.compile(r"(?<![\w/.-])([A-Z][A-Z_]+\.md)\b")
_DOTTED = re.compile(rf"(?<![\w/.@-])((?:{'|'.join(PACKAGES)})(?:\.\w+)+)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s#]+)")


def tracked_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    files = [ROOT / name for name in names if name]
    return [
        path
        for path in files
        if path.is_file()
        and (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES)
        and "migrations" not in path.parts
        and path != Path(__file__).resolve()  # its docstring and cases cite what does not exist, on purpose
    ]


def python_prose(source: str) -> Iterator[str]:
    """The comments and docstrings of a Python module."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield docstring


def markdown_prose(text: str) -> Iterator[str]:
    """The code spans of a Markdown document, and its links' targets."""
    yield from _CODE_SPAN.findall(text)
    yield from _LINK.findall(text)


def prose_of(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return list(python_prose(text))
    if path.suffix == ".md":
        return list(markdown_prose(text))
    return [text]


def _top_level() -> set[str]:
    return {path.relative_to(ROOT).parts[0] for path in tracked_files()} | {".ci", ".github"}


def _ignored(relative: str) -> bool:
    """True for paths git ignores on purpose (files the code writes at run time)."""
    result = subprocess.run(["git", "check-ignore", "-q", relative], cwd=ROOT, check=False)
    return result.returncode == 0


def _path_exists(cited: str, *, near: Path) -> bool:
    """Relative to the repo, to the citing file, or to templates/ (where templates name each other).

    A path cut short (``docs/decisions/0004``) is found when a file starts with it.
    """
    for base in (ROOT, near.parent, ROOT / "templates"):
        if (base / cited).exists() or list(base.glob(cited if "*" in cited else f"{cited}*")):
            return True
    return _ignored(cited)


def _defines(source: str, name: str) -> bool:
    return bool(re.search(rf"^\s*(?:async\s+def|def|class)\s+{name}\b|^\s*{name}\s*[:=]", source, re.MULTILINE))


def _module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return base if base.is_dir() else None


def dotted_problem(reference: str) -> str | None:
    """Why ``reference`` (``package.module.name...``) does not resolve, or None when it does."""
    if reference in NOT_MODULES or any(reference.startswith(f"{name}.") for name in NOT_MODULES):
        return None
    parts = reference.rstrip(".").split(".")
    for cut in range(len(parts), 0, -1):
        module = _module_file(parts[:cut])
        if module is None:
            continue
        rest = parts[cut:]
        if not rest or module.is_dir():
            return None if not rest else f"{'.'.join(parts[:cut])} is a package without {rest[0]}"
        if rest[0] in {"py", "md"}:  # a file name written with its suffix, not a reference
            return None
        if _defines(module.read_text(encoding="utf-8"), rest[0]):
            return None
        return f"{'.'.join(parts[:cut])} defines no {rest[0]}"
    return "no such module"


def citation_problems(path: Path, prose: list[str], *, top_level: set[str]) -> list[str]:
    """Each citation in ``prose`` (taken from ``path``) that points nowhere, described."""
    problems: list[str] = []
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for text in prose:
        for match in _PATH.finditer(text):
            cited, test_name = match.group(1).rstrip("."), match.group(2)
            if cited.split("/")[0] not in top_level or "<" in text[match.end(1) : match.end(1) + 1]:
                continue
            if not _path_exists(cited, near=path):
                problems.append(f"{relative}: cites {cited}, which does not exist")
            elif test_name and not _defines((ROOT / cited).read_text(encoding="utf-8"), test_name):
                problems.append(f"{relative}: cites {cited}::{test_name}, which is not defined there")
        for cited in _UPPER_MD.findall(text):
            if not _path_exists(cited, near=path):
                problems.append(f"{relative}: cites {cited}, which is not in the repo")
        for reference in _DOTTED.findall(text):
            problem = dotted_problem(reference)
            if problem:
                problems.append(f"{relative}: cites {reference}: {problem}")
    return problems


def test_every_cited_path_and_module_exists() -> None:
    top_level = _top_level()
    problems = [
        problem for path in tracked_files() for problem in citation_problems(path, prose_of(path), top_level=top_level)
    ]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("prose", "expected"),
    [
        ("# settled by orders.recovery (see there)", "orders defines no recovery"),
        ("# see orders/recovery.py", "orders/recovery.py, which does not exist"),
        ("# see orders/stock.py:12 and orders.stock.stock_settle", None),
        ("# orders.stock.stock_unsettle does it", "orders.stock defines no stock_unsettle"),
        ("# the contracts are listed in DESIGN.md, section 3", "DESIGN.md, which is not in the repo"),
        ("# shop/tests/test_cache.py::test_no_such_test", "which is not defined there"),
        ("# pushes go to the orders.staff group; ok/down; /api/orders/", None),
    ],
)
def test_the_check_finds_what_points_nowhere(prose: str, expected: str | None) -> None:
    problems = citation_problems(ROOT / "orders" / "example.py", [prose], top_level=_top_level())
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert expected in problems[0]
