"""Benchmarks: each prints its figure beside a named peer measured in the same run."""
