"""Benchmarks: `python -m bench.ingest` (see BENCHMARKS.md)."""
