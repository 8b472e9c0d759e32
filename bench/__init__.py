"""Benchmarks: they print figures and never assert timings (see docs/performance.md)."""
