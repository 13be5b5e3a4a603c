"""Kept for the importers of `TransitionReport` (scheduler/recovery.py): the sweep's
decisions live in `rules.sweep` and `rules.rooms`, its steps and their report in
`engine.operations.sweep`."""

from __future__ import annotations

from engine.operations.sweep import TransitionReport

__all__ = ["TransitionReport"]
