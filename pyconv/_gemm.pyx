"""Cython glue for the GEMM kernel: typed memoryviews in, GIL released, status -> exception."""
from pyconv._kernels cimport (check_status, pyconv_gemm_f32, pyconv_gemm_f64, pyconv_gemm_init,
                              pyconv_gemm_isa, pyconv_status)

# Choose the micro-kernel for this CPU once, at import (under the GIL, before any call).
pyconv_gemm_init()

ctypedef fused floating:
    float
    double


def gemm(bint trans_a, bint trans_b, double alpha, const floating[:, :] a,
         const floating[:, :] b, double beta, floating[:, ::1] c, int n_threads):
    """c <- alpha * op(a) @ op(b) + beta * c, in place on c (one dtype; c C-contiguous; a and b
    with unit column stride, rows possibly padded)."""
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t lda = _leading_dim(a.shape[0], a.shape[1], a.strides[0], a.strides[1],
                                       sizeof(floating), "a")
    cdef Py_ssize_t ldb = _leading_dim(b.shape[0], b.shape[1], b.strides[0], b.strides[1],
                                       sizeof(floating), "b")
    cdef const floating *a_ptr = &a[0, 0] if a.shape[0] * a.shape[1] else NULL
    cdef const floating *b_ptr = &b[0, 0] if b.shape[0] * b.shape[1] else NULL
    cdef floating *c_ptr = &c[0, 0] if m * n else NULL
    cdef pyconv_status status
    with nogil:
        if floating is float:
            status = pyconv_gemm_f32(trans_a, trans_b, m, n, k, <float>alpha, a_ptr, lda, b_ptr, ldb,
                                     <float>beta, c_ptr, n, n_threads)
        else:
            status = pyconv_gemm_f64(trans_a, trans_b, m, n, k, alpha, a_ptr, lda, b_ptr, ldb,
                                     beta, c_ptr, n, n_threads)
    check_status(status, "gemm")


cdef Py_ssize_t _leading_dim(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t row_stride,
                             Py_ssize_t col_stride, size_t item, str name) except -1:
    """Row stride in elements of a matrix with unit column stride (ValueError otherwise)."""
    if cols > 1 and col_stride != <Py_ssize_t>item:
        raise ValueError(f"{name}: expected unit column stride, got {col_stride} bytes")
    if rows <= 1:
        return cols
    if row_stride % <Py_ssize_t>item or row_stride < cols * <Py_ssize_t>item:
        raise ValueError(f"{name}: row stride {row_stride} bytes is too small or misaligned")
    return row_stride // <Py_ssize_t>item


cdef extern from *:
    const char *PYCONV_COMPILER


def isa():
    """Name of the GEMM micro-kernel chosen for this CPU at run time."""
    return pyconv_gemm_isa().decode()


def compiler():
    """The C compiler that built the kernels."""
    return PYCONV_COMPILER.decode()
