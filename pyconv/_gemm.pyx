"""Cython glue for the GEMM kernel: typed memoryviews in, GIL released, status -> exception.
The kernel is reached through the public Cython API (pyconv.cython_kernels)."""
from pyconv cimport cython_kernels as ck
from pyconv._glue cimport check_status


def gemm(bint trans_a, bint trans_b, double alpha, const ck.floating[:, :] a,
         const ck.floating[:, :] b, double beta, ck.floating[:, ::1] c, int n_threads):
    """c <- alpha * op(a) @ op(b) + beta * c, in place on c (one dtype; c C-contiguous; a and b
    with unit column stride, rows possibly padded)."""
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t lda = _leading_dim(a.shape[0], a.shape[1], a.strides[0], a.strides[1],
                                       sizeof(ck.floating), "a")
    cdef Py_ssize_t ldb = _leading_dim(b.shape[0], b.shape[1], b.strides[0], b.strides[1],
                                       sizeof(ck.floating), "b")
    cdef const ck.floating *a_ptr = &a[0, 0] if a.shape[0] * a.shape[1] else NULL
    cdef const ck.floating *b_ptr = &b[0, 0] if b.shape[0] * b.shape[1] else NULL
    cdef ck.floating *c_ptr = &c[0, 0] if m * n else NULL
    cdef int status
    with nogil:
        status = ck.gemm(trans_a, trans_b, m, n, k, <ck.floating>alpha, a_ptr, lda, b_ptr, ldb,
                         <ck.floating>beta, c_ptr, n, n_threads)
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
    return ck.gemm_isa().decode()


def archs():
    """The PYCONV_ARCH names of the micro-kernels this CPU can run, its default last."""
    return tuple(ck.gemm_archs().decode().split())


def arch():
    """The PYCONV_ARCH name of the micro-kernel in use."""
    return ck.gemm_arch().decode()


def compiler():
    """The C compiler that built the kernels."""
    return PYCONV_COMPILER.decode()
