"""Tiny trial programs used by the example specs, the tests and the benchmarks."""
