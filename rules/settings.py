"""Rule settings (the numbers marked *(setting)* in CONTRACT 4).

An academy may override any of the user settings, once for all session
types (``"default"``) and again per session type. A session keeps the settings
resolved when it was scheduled, which is why ``to_dict``/``from_dict`` exist: the
store freezes them next to the session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

__all__ = ["SETTING_NAMES", "RuleSettings", "resolve_settings"]


@dataclass(frozen=True, slots=True)
class RuleSettings:
    preparation_minutes: int = 15
    buffer_minutes: int = 10
    # Not user-settable: a session closes at E + 60 min whatever else holds.
    hard_close_minutes: int = 60
    reconnect_gap_seconds: int = 120
    late_grace_minutes: int = 10
    early_leave_grace_minutes: int = 10
    full_percent: float = 80.0
    partial_percent: float = 50.0
    teacher_full_percent: float = 90.0
    teacher_partial_percent: float = 50.0
    # CONTRACT 4.2a: the weights of attendance, camera and microphone in an
    # interactive course's engagement score.
    engagement_attendance_weight: float = 0.5
    engagement_camera_weight: float = 0.3
    engagement_microphone_weight: float = 0.2

    def __post_init__(self) -> None:
        problems = [
            f"{name}: {problem}"
            for name, problem in (
                (name, _problem(name, getattr(self, name))) for name in _FIELD_NAMES
            )
            if problem
        ]
        if problems:
            raise ValueError("invalid rule settings: " + "; ".join(problems))

    def opens_at(self, scheduled_at: datetime) -> datetime:
        """S - preparation: when a session's room opens, and from when a roster join
        may start it."""
        return scheduled_at - timedelta(minutes=self.preparation_minutes)

    def to_dict(self) -> dict[str, int | float]:
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RuleSettings:
        """Settings from a mapping; missing names keep their defaults.

        Unknown names are an error rather than ignored, so a typo in stored or
        submitted settings cannot silently fall back to a default.
        """
        unknown = sorted(set(data) - set(_FIELD_NAMES))
        if unknown:
            raise ValueError("unknown rule settings: " + ", ".join(unknown))
        # Any: each value was checked against its own field's type by _coerce.
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, raw in data.items():
            try:
                values[name] = _coerce(name, raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
        if problems:
            raise ValueError("invalid rule settings: " + "; ".join(problems))
        return cls(**values)


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(RuleSettings))
_PERCENT_NAMES = frozenset(n for n in _FIELD_NAMES if n.endswith("_percent"))
_WEIGHT_NAMES = frozenset(n for n in _FIELD_NAMES if n.endswith("_weight"))

SETTING_NAMES: tuple[str, ...] = tuple(n for n in _FIELD_NAMES if n != "hard_close_minutes")


def _coerce(name: str, raw: object) -> int | float:
    # JSON gives 15.0 as readily as 15; accept whole floats for whole-number
    # settings but never a bool (True is an int to Python, not to a person).
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(raw):
        raise ValueError("must be finite")
    if name in _PERCENT_NAMES or name in _WEIGHT_NAMES:
        return float(raw)
    if raw != int(raw):
        raise ValueError("must be a whole number")
    return int(raw)


def _problem(name: str, value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    if name in _PERCENT_NAMES:
        return None if 0 <= value <= 100 else "must be between 0 and 100"
    if name in _WEIGHT_NAMES:
        return None if 0 <= value <= 1 else "must be between 0 and 1"
    return None if value >= 0 else "must not be negative"


def resolve_settings(
    academy_rules: Mapping[str, Mapping[str, float | int]], session_type: str
) -> RuleSettings:
    """Defaults, overlaid by the academy's ``"default"``, then by ``session_type``'s."""
    merged: dict[str, object] = {}
    merged.update(academy_rules.get("default", {}))
    merged.update(academy_rules.get(session_type, {}))
    not_settable = sorted(set(merged) - set(SETTING_NAMES))
    if not_settable:
        raise ValueError("unknown rule settings: " + ", ".join(not_settable))
    return RuleSettings.from_dict(merged)
