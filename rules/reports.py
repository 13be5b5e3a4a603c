"""What a teacher's report may say, beyond each field's own range.

Pure: the HTTP edge names the fields these checks find wrong.
"""

from __future__ import annotations

__all__ = ["exercises_problem"]


def exercises_problem(completed: object, total: object) -> str | None:
    """Why `completed` exercises of `total` cannot be, or None when they can (or when
    either is missing or no count at all: that is the field's own check)."""
    counts = [v for v in (completed, total) if isinstance(v, int) and not isinstance(v, bool)]
    if len(counts) < 2:
        return None
    assert isinstance(completed, int) and isinstance(total, int)
    if completed > total:
        return f"must not exceed exercises_total ({total})"
    return None
