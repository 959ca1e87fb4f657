"""Cython glue for the pooling kernels: a named geometry (pyconv._geometry.PoolGeometry) and
flat C-contiguous buffers in, the GIL released, status -> exception. The kernels, and their
geometry check, are reached through the public Cython API (pyconv.cython_kernels)."""
from libc.stdint cimport int64_t, uint64_t

from pyconv cimport cython_kernels as ck
from pyconv._glue cimport check_len, check_status


cdef ck.pool_shape _shape(geometry) except *:
    """The C struct from the named geometry, whose fields are the struct's in its order
    (pyconv._geometry.PoolGeometry)."""
    cdef ck.pool_shape s
    (s.n_planes, s.h_in, s.w_in, s.kh, s.kw, s.h_out, s.w_out, s.stride_h, s.stride_w, s.pad_h,
     s.pad_w, s.dil_h, s.dil_w) = geometry
    return s


# Elements of the pooling's input and output planes, from its C struct, for the glue's length
# checks; wrapping, as in _conv.pyx (the kernels' own check rejects sizes int64 cannot index).
cdef inline Py_ssize_t input_len(const ck.pool_shape *s) noexcept:
    return <Py_ssize_t>(<uint64_t>s.n_planes * <uint64_t>s.h_in * <uint64_t>s.w_in)


cdef inline Py_ssize_t output_len(const ck.pool_shape *s) noexcept:
    return <Py_ssize_t>(<uint64_t>s.n_planes * <uint64_t>s.h_out * <uint64_t>s.w_out)


def check(geometry):
    """ValueError naming the field when the kernels would reject `geometry`."""
    cdef ck.pool_shape s = _shape(geometry)
    cdef char msg[256]
    if ck.pool_shape_check(&s, msg, sizeof(msg)) != ck.PYCONV_STATUS_OK:
        raise ValueError(msg.decode())


def max_pool2d(geometry, const ck.floating[::1] x, ck.floating[::1] y, int64_t[::1] indices,
               int n_threads):
    """y (and indices, unless None) <- max pooling of x."""
    cdef ck.pool_shape s = _shape(geometry)
    check_len(x.shape[0], input_len(&s), "input")
    check_len(y.shape[0], output_len(&s), "out")
    cdef int64_t *ip = NULL
    if indices is not None:
        check_len(indices.shape[0], output_len(&s), "indices")
        ip = &indices[0] if indices.shape[0] else NULL
    if y.shape[0] == 0:
        return
    cdef int status
    with nogil:
        status = ck.maxpool2d(&s, &x[0], &y[0], ip, n_threads)
    check_status(status, "max_pool2d")


def max_pool2d_backward(geometry, const ck.floating[::1] gy, const int64_t[::1] indices,
                        ck.floating[::1] gx, int n_threads):
    """gx <- grad_output scattered through indices; returns False on an index out of range."""
    cdef ck.pool_shape s = _shape(geometry)
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(indices.shape[0], output_len(&s), "indices")
    check_len(gx.shape[0], input_len(&s), "out")
    if gx.shape[0] == 0:
        return gy.shape[0] == 0  # empty planes: any index is out of range
    if gy.shape[0] == 0:
        gx[:] = 0
        return True
    cdef int status
    with nogil:
        status = ck.maxpool2d_backward(&s, &gy[0], &indices[0], &gx[0], n_threads)
    if status == ck.PYCONV_STATUS_INDEX:
        return False
    check_status(status, "max_pool2d_backward")
    return True


def avg_pool2d(geometry, const ck.floating[::1] x, ck.floating[::1] y, bint count_include_pad,
               int64_t divisor_override, int n_threads):
    """y <- average pooling of x (divisor_override == 0: none)."""
    cdef ck.pool_shape s = _shape(geometry)
    check_len(x.shape[0], input_len(&s), "input")
    check_len(y.shape[0], output_len(&s), "out")
    if y.shape[0] == 0:
        return
    cdef int status
    with nogil:
        status = ck.avgpool2d(&s, &x[0], &y[0], count_include_pad, divisor_override, n_threads)
    check_status(status, "avg_pool2d")


def avg_pool2d_backward(geometry, const ck.floating[::1] gy, ck.floating[::1] gx,
                        bint count_include_pad, int64_t divisor_override, int n_threads):
    """gx <- gradient of average pooling for grad_output gy."""
    cdef ck.pool_shape s = _shape(geometry)
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(gx.shape[0], input_len(&s), "out")
    if gx.shape[0] == 0:
        return
    if gy.shape[0] == 0:
        gx[:] = 0
        return
    cdef int status
    with nogil:
        status = ck.avgpool2d_backward(&s, &gy[0], &gx[0], count_include_pad, divisor_override,
                                       n_threads)
    check_status(status, "avg_pool2d_backward")
