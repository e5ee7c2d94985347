"""Benchmarks (`make bench`): full-scale timings and peak memory, written under the reports dir."""
