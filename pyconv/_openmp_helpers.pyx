"""The one module that talks to the OpenMP runtime (through kernels/common/openmp_helpers.c).

Everything else receives a resolved thread count as a plain int."""
from pyconv._kernels cimport pyconv_openmp_enabled, pyconv_openmp_max_threads


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(pyconv_openmp_enabled())


def openmp_max_threads():
    """omp_get_max_threads(): OMP_NUM_THREADS when set, else the number of cores (1 without OpenMP)."""
    return pyconv_openmp_max_threads()
