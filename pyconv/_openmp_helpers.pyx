"""The one Python-facing module for the OpenMP runtime (through the kernels' runner,
kernels/common/parallel.c). Everything else receives a resolved thread count as a plain int."""
from pyconv cimport cython_kernels as ck


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(ck.openmp_enabled())


def openmp_max_threads():
    """omp_get_max_threads(): OMP_NUM_THREADS when set, else the number of cores (1 without OpenMP)."""
    return ck.openmp_max_threads()
