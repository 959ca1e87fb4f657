"""Cython glue for the GEMM kernel: typed memoryviews in, GIL released, status -> exception."""
from pyconv._kernels cimport (check_status, pyconv_gemm_f32, pyconv_gemm_f64, pyconv_gemm_init,
                              pyconv_gemm_isa, pyconv_status)

# Choose the micro-kernel for this CPU once, at import (under the GIL, before any call).
pyconv_gemm_init()

ctypedef fused floating:
    float
    double


def gemm(bint trans_a, bint trans_b, double alpha, const floating[:, ::1] a,
         const floating[:, ::1] b, double beta, floating[:, ::1] c, int n_threads):
    """c <- alpha * op(a) @ op(b) + beta * c, in place on c (all C-contiguous, one dtype)."""
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef pyconv_status status
    with nogil:
        if floating is float:
            status = pyconv_gemm_f32(trans_a, trans_b, m, n, k, <float>alpha, &a[0, 0] if a.shape[0] * a.shape[1] else NULL,
                                     a.shape[1], &b[0, 0] if b.shape[0] * b.shape[1] else NULL, b.shape[1],
                                     <float>beta, &c[0, 0] if m * n else NULL, c.shape[1], n_threads)
        else:
            status = pyconv_gemm_f64(trans_a, trans_b, m, n, k, alpha, &a[0, 0] if a.shape[0] * a.shape[1] else NULL,
                                     a.shape[1], &b[0, 0] if b.shape[0] * b.shape[1] else NULL, b.shape[1],
                                     beta, &c[0, 0] if m * n else NULL, c.shape[1], n_threads)
    check_status(status, "gemm")


cdef extern from *:
    const char *PYCONV_COMPILER


def isa():
    """Name of the GEMM micro-kernel chosen for this CPU at run time."""
    return pyconv_gemm_isa().decode()


def compiler():
    """The C compiler that built the kernels."""
    return PYCONV_COMPILER.decode()
