"""Thread-count resolution, in one place: set_num_threads / get_num_threads and n_threads=None."""
import operator

from pyconv._openmp_helpers import openmp_enabled, openmp_max_threads

_default_n_threads = None
# More threads than any machine pyconv targets has cores; far beyond it an OpenMP runtime fails
# to create the team (or keeps thousands of idle threads alive), so larger counts are refused.
MAX_THREADS = 1024


def set_num_threads(n):
    """Set the number of threads pyconv's kernels use when a call passes n_threads=None.

    None restores the default: OMP_NUM_THREADS when set, else the number of cores."""
    global _default_n_threads
    _default_n_threads = None if n is None else _check_n_threads(n)


def get_num_threads():
    """Number of threads a call with n_threads=None uses (1 when built without OpenMP)."""
    return effective_n_threads(None)


def _check_n_threads(n):
    if isinstance(n, bool):
        raise TypeError(f"n_threads: expected a positive int or None, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"n_threads: expected a positive int or None, got {type(n).__name__} {n!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"n_threads: expected a positive int <= {MAX_THREADS} or None, got {n}")
    return n


def effective_n_threads(n_threads):
    """The thread count a kernel runs with: n_threads, else set_num_threads' value, else OpenMP's."""
    if not openmp_enabled():
        if n_threads is not None:
            _check_n_threads(n_threads)
        return 1
    if n_threads is not None:
        return _check_n_threads(n_threads)
    if _default_n_threads is not None:
        return _default_n_threads
    return min(openmp_max_threads(), MAX_THREADS)
