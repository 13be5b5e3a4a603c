"""rules/ is a pure core: standard library only, and never reads the clock."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
SOURCES = sorted(RULES_DIR.glob("*.py"))
MODULES = [f"rules.{p.stem}" if p.stem != "__init__" else "rules" for p in SOURCES]
ALLOWED_ROOTS = set(sys.stdlib_module_names) | {"rules", "__future__"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter"}


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


class TestPurity:
    def test_there_are_modules_to_check(self) -> None:
        """The scan sees the rules package (guards against a wrong path)."""
        assert {"rules.lifecycle", "rules.evidence", "rules.charging"} <= set(MODULES)

    @pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
    def test_imports_only_stdlib_and_rules(self, path: Path) -> None:
        """Every import in rules/ is the standard library or rules itself."""
        roots = imported_roots(ast.parse(path.read_text(encoding="utf-8")))

        assert set() == roots - ALLOWED_ROOTS

    @pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
    def test_never_reads_the_clock(self, path: Path) -> None:
        """No datetime.now/utcnow/date.today/time.time (or friends) anywhere in rules/."""
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            ast.unparse(node.func)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
        ]
        clock_imports = [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module in {"time", "datetime"}
            for alias in node.names
            if alias.name in CLOCK_CALLS
        ]
        time_module = [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name == "time"
        ]

        assert ([], [], []) == (calls, clock_imports, time_module)

    def test_importing_rules_loads_nothing_outside_stdlib(self) -> None:
        """At run time, importing every rules module pulls in only stdlib modules."""
        script = (
            "import importlib, json, sys\n"
            "before = set(sys.modules)\n"
            f"for name in {MODULES!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(set(sys.modules) - before)))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=RULES_DIR.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # zoneinfo (stdlib) reads sysconfig, whose generated platform data module
        # (_sysconfigdata_<abi>_<platform>) is stdlib but not in stdlib_module_names.
        loaded = {
            name.split(".")[0] for name in json.loads(out) if not name.startswith("_sysconfigdata_")
        }

        assert set() == loaded - ALLOWED_ROOTS
