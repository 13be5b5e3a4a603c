"""Every benchmark still imports: a merge that moves a helper out of one bench module
must not leave another bench broken until someone next measures."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHES = sorted(
    p.stem for p in (Path(__file__).parents[2] / "bench").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("name", BENCHES)
def test_the_bench_module_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert module.__name__ == f"bench.{name}"
