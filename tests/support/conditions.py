"""Awaiting a condition that another task or thread brings about, without sleeping
for a guessed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    """Return once `condition()` holds, letting every other task run between two
    looks (a thread's progress shows up between them too); TimeoutError after
    `within` seconds."""
    async with asyncio.timeout(within):
        # Not an asyncio.Event: what makes the condition true is a thread or the
        # library under test, which sets no event of ours.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0)
