"""Benchmarks run by ``make bench``: figures against goals and baselines, in one process tree."""
