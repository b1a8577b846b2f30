"""Timing loops for the speed figures (``digitlab bench-infer`` and ``benchmarks/``): warm-up, then one time per call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def times_ms(fn: Callable[[], object], reps: int, warmup: int = 1) -> list[float]:
    """Milliseconds of each of ``reps`` calls of ``fn``, after ``warmup`` untimed calls (imports, kernels, allocations)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p50_ms(fn: Callable[[], object], reps: int) -> float:
    """Median milliseconds of ``reps`` calls after a warm-up of a tenth of them (first calls pick kernels and allocate)."""
    return statistics.median(times_ms(fn, reps, warmup=max(reps // 10, 3)))
