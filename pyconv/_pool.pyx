"""Cython glue for the pooling kernels: flat C-contiguous buffers in, GIL released, status ->
exception. pyconv/pool.py validates everything and passes the geometry as a tuple of ints."""
from libc.stdint cimport int64_t

from pyconv._kernels cimport (
    PYCONV_ERR_INDEX, check_status, pyconv_avgpool2d_backward_f32, pyconv_avgpool2d_backward_f64,
    pyconv_avgpool2d_f32, pyconv_avgpool2d_f64, pyconv_maxpool2d_backward_f32,
    pyconv_maxpool2d_backward_f64, pyconv_maxpool2d_f32, pyconv_maxpool2d_f64,
    pyconv_pool_shape, pyconv_status,
)

ctypedef fused floating:
    float
    double


cdef pyconv_pool_shape _shape(tuple geometry) except *:
    """geometry = (n_planes, h_in, w_in, kh, kw, h_out, w_out, stride_h, stride_w, pad_h,
    pad_w, dil_h, dil_w)."""
    cdef pyconv_pool_shape s
    (s.n_planes, s.h_in, s.w_in, s.kh, s.kw, s.h_out, s.w_out, s.stride_h, s.stride_w,
     s.pad_h, s.pad_w, s.dil_h, s.dil_w) = geometry
    return s


def max_pool2d(tuple geometry, const floating[::1] x, floating[::1] y, int64_t[::1] indices,
               int n_threads):
    """y (and indices, unless None) <- max pooling of x."""
    cdef pyconv_pool_shape s = _shape(geometry)
    cdef const floating *xp = &x[0] if x.shape[0] else NULL
    cdef floating *yp = &y[0] if y.shape[0] else NULL
    cdef int64_t *ip = &indices[0] if indices is not None and indices.shape[0] else NULL
    cdef pyconv_status status
    if yp == NULL:
        return
    with nogil:
        if floating is float:
            status = pyconv_maxpool2d_f32(&s, xp, yp, ip, n_threads)
        else:
            status = pyconv_maxpool2d_f64(&s, xp, yp, ip, n_threads)
    check_status(status, "max_pool2d")


def max_pool2d_backward(tuple geometry, const floating[::1] gy, const int64_t[::1] indices,
                        floating[::1] gx, int n_threads):
    """gx <- grad_output scattered through indices; returns False on an index out of range."""
    cdef pyconv_pool_shape s = _shape(geometry)
    cdef const floating *gyp = &gy[0] if gy.shape[0] else NULL
    cdef const int64_t *ip = &indices[0] if indices.shape[0] else NULL
    cdef floating *gxp = &gx[0] if gx.shape[0] else NULL
    cdef pyconv_status status
    if gxp == NULL:
        return gy.shape[0] == 0  # empty planes: any index is out of range
    with nogil:
        if floating is float:
            status = pyconv_maxpool2d_backward_f32(&s, gyp, ip, gxp, n_threads)
        else:
            status = pyconv_maxpool2d_backward_f64(&s, gyp, ip, gxp, n_threads)
    if status == PYCONV_ERR_INDEX:
        return False
    check_status(status, "max_pool2d_backward")
    return True


def avg_pool2d(tuple geometry, const floating[::1] x, floating[::1] y, bint count_include_pad,
               int64_t divisor_override, int n_threads):
    """y <- average pooling of x (divisor_override == 0: none)."""
    cdef pyconv_pool_shape s = _shape(geometry)
    cdef const floating *xp = &x[0] if x.shape[0] else NULL
    cdef floating *yp = &y[0] if y.shape[0] else NULL
    cdef pyconv_status status
    if yp == NULL:
        return
    with nogil:
        if floating is float:
            status = pyconv_avgpool2d_f32(&s, xp, yp, count_include_pad, divisor_override, n_threads)
        else:
            status = pyconv_avgpool2d_f64(&s, xp, yp, count_include_pad, divisor_override, n_threads)
    check_status(status, "avg_pool2d")


def avg_pool2d_backward(tuple geometry, const floating[::1] gy, floating[::1] gx,
                        bint count_include_pad, int64_t divisor_override, int n_threads):
    """gx <- gradient of average pooling for grad_output gy."""
    cdef pyconv_pool_shape s = _shape(geometry)
    cdef const floating *gyp = &gy[0] if gy.shape[0] else NULL
    cdef floating *gxp = &gx[0] if gx.shape[0] else NULL
    cdef pyconv_status status
    if gxp == NULL:
        return
    with nogil:
        if floating is float:
            status = pyconv_avgpool2d_backward_f32(&s, gyp, gxp, count_include_pad, divisor_override, n_threads)
        else:
            status = pyconv_avgpool2d_backward_f64(&s, gyp, gxp, count_include_pad, divisor_override, n_threads)
    check_status(status, "avg_pool2d_backward")
