"""Timing: interleaved rounds of calls (drift cancels between implementations), medians, paired
ratios, and this machine's measured peaks."""
import contextlib
import gc
import math
import statistics
import time

import numpy as np

from bench.ops import optional_module

MIN_REPEATS = 3
MAX_REPEATS = 50
# A call slower than this is timed once after its warm-up call, to keep the suite's wall time sane.
SLOW_CALL_S = 2.0
PEAK_GEMM_SIZES = (256, 512, 1024, 2048)
PEAK_GEMM_SIZES_QUICK = (256, 512, 1024)
COPY_BYTES = 64 * 2 ** 20

_threadpoolctl = optional_module("threadpoolctl")


def blas_threads(n_threads):
    """Context in which NumPy's BLAS uses `n_threads` threads, when threadpoolctl is installed
    (without it NumPy's BLAS thread count cannot change in-process: it keeps its default)."""
    if _threadpoolctl is None:
        return contextlib.nullcontext()
    return _threadpoolctl.threadpool_limits(limits=n_threads, user_api="blas")


def blas_threads_controllable():
    return _threadpoolctl is not None


def _time_call(call, clock=time.perf_counter):
    start = clock()
    call()
    return clock() - start


@contextlib.contextmanager
def _gc_paused():
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def interleaved(calls, budget_s, min_repeats=MIN_REPEATS, clock=time.perf_counter):
    """Time each no-argument call in `calls` ({name: call}) over rounds that run every call once,
    in an order rotated each round, so slow drift of the machine hits every implementation alike.

    Each call first runs once untimed (warm-up: caches, workspaces, thread pools). The number of
    rounds fills about `budget_s` seconds, between `min_repeats` and MAX_REPEATS; a call slower
    than SLOW_CALL_S runs only in the first round. `clock`: wall clock, or time.thread_time for
    one-thread calls on a shared machine (a call waiting for a core is not charged). Returns
    ({name: [seconds or None per round]},
    {name: exception} for calls that raised; those are dropped)."""
    errors, warm = {}, {}
    with _gc_paused():
        for name, call in calls.items():
            try:
                warm[name] = _time_call(call, clock)
            except Exception as error:  # reported per implementation; the others still run
                errors[name] = error
        live = [name for name in calls if name in warm]
        fast_total = sum(t for name, t in warm.items() if t <= SLOW_CALL_S)
        rounds = min_repeats if fast_total <= 0 else int(budget_s / fast_total)
        rounds = max(min_repeats, min(MAX_REPEATS, rounds))
        times = {name: [] for name in live}
        for r in range(rounds):
            shift = r % len(live) if live else 0
            for name in live[shift:] + live[:shift]:
                if name in errors or (r > 0 and warm[name] > SLOW_CALL_S):
                    times[name].append(None)
                    continue
                try:
                    times[name].append(_time_call(calls[name], clock))
                except Exception as error:
                    errors[name] = error
                    times[name].append(None)
    return {name: t for name, t in times.items() if name not in errors}, errors


def median_time(samples):
    return statistics.median(t for t in samples if t is not None)


def paired_ratio(ours, theirs):
    """Median over the rounds that ran both of theirs/ours: how many times faster `ours` is."""
    ratios = [b / a for a, b in zip(ours, theirs) if a is not None and b is not None and a > 0]
    return statistics.median(ratios) if ratios else math.nan


def matmul_peak(n_threads, dtype, quick=False):
    """GFLOP/s of the fastest numpy.matmul call, best of 3 per size, on square `dtype` matrices of
    PEAK_GEMM_SIZES (PEAK_GEMM_SIZES_QUICK when `quick`) with NumPy's BLAS at `n_threads` threads:
    the peak the '% peak' column refers to. Several sizes, because on a shared machine the large
    ones suffer most from other processes' cache traffic."""
    rng = np.random.default_rng(0)
    best = 0.0
    with blas_threads(n_threads), _gc_paused():
        for size in PEAK_GEMM_SIZES_QUICK if quick else PEAK_GEMM_SIZES:
            a, b = rng.standard_normal((size, size), dtype=dtype), rng.standard_normal((size, size), dtype=dtype)
            np.matmul(a, b)
            seconds = min(_time_call(lambda: np.matmul(a, b)) for _ in range(3))
            best = max(best, 2 * size ** 3 / seconds / 1e9)
    return best


def copy_bandwidth():
    """GB/s of the best of 5 single-threaded numpy copies of 64 MiB, bytes read plus written: the
    peak the pooling rows' '% peak' refers to."""
    src = np.ones(COPY_BYTES // 8)
    dst = np.empty_like(src)
    with _gc_paused():
        np.copyto(dst, src)
        best = min(_time_call(lambda: np.copyto(dst, src)) for _ in range(5))
    return 2 * COPY_BYTES / best / 1e9
