"""The shape of the house (issue "One home for every decision"), checked on the code.

Each test names one boundary: where SQL may be spoken, who writes a session's
status, what rules/ may hold, what the page may import, how large a module grows.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("engine", "webhooks", "rules", "store", "scheduler", "bench")
LIFECYCLE_OWNER = Path("engine/operations/lifecycle.py")
MAX_LINES = 400


def _tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return sorted(Path(p) for p in listed if (ROOT / p).exists())


PYTHON = _tracked("*.py")
SOURCES = [p for p in PYTHON if p.parts[0] in SOURCE_PACKAGES]
OUTSIDE_STORE = [p for p in SOURCES if p.parts[0] != "store"]


def _tree(path: Path) -> ast.AST:
    return ast.parse((ROOT / path).read_text(encoding="utf-8"))


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _status_assignments(path: Path) -> list[str]:
    found = []
    for node in ast.walk(_tree(path)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        found += [
            f"{path}:{node.lineno} {ast.unparse(t)}"
            for t in targets
            if isinstance(t, ast.Attribute) and t.attr == "status"
        ]
    return found


class TestTheHouse:
    def test_there_is_a_house_to_check(self) -> None:
        """The scan sees every source package (guards against a wrong root)."""
        assert set(SOURCE_PACKAGES) == {p.parts[0] for p in SOURCES}
        assert LIFECYCLE_OWNER in SOURCES

    def test_only_the_store_imports_sqlalchemy(self) -> None:
        """store/ is the only package that speaks SQL."""
        offenders = [
            str(p)
            for p in OUTSIDE_STORE
            if any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in _imports(p))
        ]
        assert [] == offenders

    def test_no_raw_session_queries_outside_the_store(self) -> None:
        """Every query is a named repository method: nobody reaches `uow.session`."""
        offenders = [
            f"{p}:{n}"
            for p in OUTSIDE_STORE
            for n, line in enumerate((ROOT / p).read_text(encoding="utf-8").splitlines(), 1)
            if "uow.session." in line
        ]
        assert [] == offenders

    def test_exactly_one_module_assigns_a_session_status(self) -> None:
        """The lifecycle owner is the only writer of a status; store/ writes none
        but a charge's (a charge has a status of its own)."""
        writers = {p for p in OUTSIDE_STORE if _status_assignments(p)}
        in_store = [a for p in SOURCES if p.parts[0] == "store" for a in _status_assignments(p)]
        assert {LIFECYCLE_OWNER} == writers
        assert all(a.startswith("store/repositories/charges.py") for a in in_store), in_store

    @pytest.mark.parametrize(
        "path", [p for p in SOURCES if p.parts[0] == "rules"], ids=lambda p: p.name
    )
    def test_rules_hold_no_labels_and_no_http_codes(self, path: Path) -> None:
        """Decisions only: no labels for people (the academy's Arabic ones live at the
        edge) and no HTTP statuses."""
        text = (ROOT / path).read_text(encoding="utf-8")
        http = [
            node.value
            for node in ast.walk(_tree(path))
            if isinstance(node, ast.Constant)
            and type(node.value) is int
            and 400 <= node.value <= 599
        ]
        assert ([], "") == (http, "".join(ch for ch in text if "\u0600" <= ch <= "\u06ff"))

    def test_the_page_imports_no_api_handler_module(self) -> None:
        """engine/pages reaches the report logic through the engine's operations, not
        through an HTTP handler module (one that declares ROUTES)."""
        handler_modules = {
            ".".join(p.with_suffix("").parts)
            for p in SOURCES
            if p.parts[:2] == ("engine", "api") and "ROUTES = (" in (ROOT / p).read_text()
        }
        imported = {n for p in SOURCES if p.parts[:2] == ("engine", "pages") for n in _imports(p)}
        assert handler_modules and set() == imported & handler_modules

    def test_no_module_is_over_400_lines(self) -> None:
        """Small modules, named for what they hold: none over 400 lines."""
        long = {
            str(p): n
            for p in PYTHON
            if (n := len((ROOT / p).read_text(encoding="utf-8").splitlines())) > MAX_LINES
        }
        assert {} == long
