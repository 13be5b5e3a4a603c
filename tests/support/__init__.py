"""Test helpers shared across the suite: clocks, databases, LiveKit payloads."""
