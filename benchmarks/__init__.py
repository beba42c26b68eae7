"""Benchmarks (see ../shared/bench/WORKLOADS.md); run one with ``python -m benchmarks.<name>``."""
