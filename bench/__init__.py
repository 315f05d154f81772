"""Benchmark tooling: the large-log generator (generate.py)."""
