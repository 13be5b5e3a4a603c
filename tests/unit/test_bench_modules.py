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


def test_the_half_rate_pause_leaves_room_for_the_answer() -> None:
    from bench.ingest import CONNECTIONS, pause_for

    # 32 connections pausing 16 ms made 1,524/s: each answer took 5 ms on top, so
    # 2,000/s needs an 11 ms pause.
    assert CONNECTIONS == 32
    assert pause_for(2000, probed_pause=16, probed_rate=32_000 / 21) == 11
    # Answers slower than the whole cycle wanted: the shortest pause, not a negative one.
    assert pause_for(2000, probed_pause=16, probed_rate=100) == 1
