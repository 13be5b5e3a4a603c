"""webhooks/ is an edge: it reaches the engine only through its operations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEBHOOKS_DIR = Path(__file__).resolve().parents[2] / "webhooks"
SOURCES = sorted(WEBHOOKS_DIR.glob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(("." * node.level) + node.module)
    return names


class TestLayering:
    def test_there_are_modules_to_check(self) -> None:
        """The scan sees the webhook package (guards against a wrong path)."""
        assert {"endpoint.py", "derive.py", "parse.py", "verify.py"} <= {p.name for p in SOURCES}

    @pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
    def test_no_webhook_module_imports_the_engine_but_its_operations(self, path: Path) -> None:
        """The endpoint hands evidence to the engine's operations; it never reaches the
        app, the API or the CLI (those construct it)."""
        names = imported(ast.parse(path.read_text(encoding="utf-8")))
        assert set() == {
            n
            for n in names
            if (n == "engine" or n.startswith(("engine.", ".")))
            and not n.startswith("engine.operations")
        }

    @pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
    def test_no_webhook_module_speaks_sql(self, path: Path) -> None:
        """Queries and what counts as a database fault come from store/, never SQLAlchemy."""
        names = imported(ast.parse(path.read_text(encoding="utf-8")))
        assert set() == {n for n in names if n == "sqlalchemy" or n.startswith("sqlalchemy.")}

    @pytest.mark.parametrize("name", ["parse.py", "verify.py", "derive.py"])
    def test_verification_parsing_and_derivation_do_no_io(self, name: str) -> None:
        """The pure steps import neither the store, the engine nor aiohttp: derive
        gives the rules' evidence, never a row."""
        names = imported(ast.parse((WEBHOOKS_DIR / name).read_text(encoding="utf-8")))
        assert set() == {n for n in names if n.startswith(("aiohttp", "store", "engine"))}
