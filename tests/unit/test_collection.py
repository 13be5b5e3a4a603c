"""The sweep's collector thresholds: raised while any sweep runs, the interpreter's
own back once the last one ends."""

from __future__ import annotations

import gc

import pytest

from scheduler.collection import SWEEP_THRESHOLDS, fewer_collections


@pytest.fixture
def own_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_thresholds_are_raised_inside_and_restored_after(own_thresholds):
    with fewer_collections():
        assert gc.get_threshold() == SWEEP_THRESHOLDS
    assert gc.get_threshold() == own_thresholds


def test_overlapping_sweeps_restore_only_when_the_last_one_ends(own_thresholds):
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold() == SWEEP_THRESHOLDS  # the second still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == own_thresholds


def test_a_failing_sweep_restores_them_too(own_thresholds):
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a sweep failed")
    assert gc.get_threshold() == own_thresholds
