"""Benchmarks: figures to report, never assertions. Run with `make bench`."""
