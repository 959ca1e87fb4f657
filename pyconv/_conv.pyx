"""Cython glue for the convolution kernels: flat C-contiguous memoryviews in, GIL released,
status -> exception. Shapes travel as a `geometry` tuple (the fields of pyconv_conv_shape, in
order); conv.py validates everything, and the glue re-checks each buffer's length against the
geometry so that no call can make a kernel read or write out of bounds."""
from pyconv._kernels cimport (
    check_status, pyconv_col2im_f32, pyconv_col2im_f64, pyconv_conv_shape,
    pyconv_conv2d_bias_f32, pyconv_conv2d_bias_f64, pyconv_conv2d_direct_f32,
    pyconv_conv2d_input_winograd_f32, pyconv_conv2d_input_winograd_f64,
    pyconv_conv2d_winograd_f32, pyconv_conv2d_winograd_f64,
    pyconv_conv2d_direct_f64, pyconv_conv2d_im2col_f32, pyconv_conv2d_im2col_f64,
    pyconv_conv2d_input_direct_f32, pyconv_conv2d_input_direct_f64,
    pyconv_conv2d_input_im2col_f32, pyconv_conv2d_input_im2col_f64,
    pyconv_conv2d_weight_direct_f32, pyconv_conv2d_weight_direct_f64,
    pyconv_conv2d_weight_im2col_f32, pyconv_conv2d_weight_im2col_f64, pyconv_im2col_f32,
    pyconv_gemm_init, pyconv_im2col_f64, pyconv_status)

# this module's copy of the kernel library picks its GEMM micro-kernel for this CPU
pyconv_gemm_init()

ctypedef fused floating:
    float
    double


cdef pyconv_conv_shape make_shape(tuple geometry) except *:
    cdef pyconv_conv_shape s
    (s.n, s.c_in, s.h_in, s.w_in, s.c_out, s.kh, s.kw, s.h_out, s.w_out,
     s.stride_h, s.stride_w, s.pad_top, s.pad_left, s.dil_h, s.dil_w, s.groups) = geometry
    return s


cdef int check_len(Py_ssize_t actual, Py_ssize_t expected, str name) except -1:
    if actual != expected:
        raise ValueError(f"{name}: expected {expected} elements for this geometry, got {actual}")
    return 0


cdef inline const floating *cptr(const floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


cdef inline floating *ptr(floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


cdef inline Py_ssize_t input_len(pyconv_conv_shape *s):
    return s.n * s.c_in * s.h_in * s.w_in


cdef inline Py_ssize_t output_len(pyconv_conv_shape *s):
    return s.n * s.c_out * s.h_out * s.w_out


cdef inline Py_ssize_t weight_len(pyconv_conv_shape *s):
    return s.c_out * (s.c_in // s.groups) * s.kh * s.kw


cdef inline Py_ssize_t col_len(pyconv_conv_shape *s):
    return s.n * s.c_in * s.kh * s.kw * s.h_out * s.w_out


cdef int algorithm_code(str algorithm) except -1:
    """0 direct, 1 im2col, 2 winograd (conv.py passes only these)."""
    return ("direct", "im2col", "winograd").index(algorithm)


def conv2d(str algorithm, tuple geometry, const floating[::1] x, const floating[::1] w,
           const floating[::1] bias, floating[::1] y, int n_threads):
    """y <- conv2d(x, w) + bias (bias may be None) by algorithm "direct", "im2col" or "winograd"."""
    cdef pyconv_conv_shape s = make_shape(geometry)
    cdef int algo = algorithm_code(algorithm)
    check_len(x.shape[0], input_len(&s), "input")
    check_len(w.shape[0], weight_len(&s), "weight")
    check_len(y.shape[0], output_len(&s), "out")
    cdef const floating *b = NULL
    if bias is not None:
        check_len(bias.shape[0], s.c_out, "bias")
        b = cptr(bias)
    cdef pyconv_status status
    with nogil:
        if floating is float:
            if algo == 0:
                status = pyconv_conv2d_direct_f32(&s, cptr(x), cptr(w), b, ptr(y), n_threads)
            elif algo == 1:
                status = pyconv_conv2d_im2col_f32(&s, cptr(x), cptr(w), b, ptr(y), n_threads)
            else:
                status = pyconv_conv2d_winograd_f32(&s, cptr(x), cptr(w), b, ptr(y), n_threads)
        else:
            if algo == 0:
                status = pyconv_conv2d_direct_f64(&s, cptr(x), cptr(w), b, ptr(y), n_threads)
            elif algo == 1:
                status = pyconv_conv2d_im2col_f64(&s, cptr(x), cptr(w), b, ptr(y), n_threads)
            else:
                status = pyconv_conv2d_winograd_f64(&s, cptr(x), cptr(w), b, ptr(y), n_threads)
    check_status(status, "conv2d")


def conv2d_input(str algorithm, tuple geometry, const floating[::1] w, const floating[::1] gy,
                 floating[::1] gx, int n_threads):
    """gx <- gradient of conv2d w.r.t. its input (overwritten) by algorithm "direct", "im2col" or
    "winograd"."""
    cdef pyconv_conv_shape s = make_shape(geometry)
    cdef int algo = algorithm_code(algorithm)
    check_len(w.shape[0], weight_len(&s), "weight")
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(gx.shape[0], input_len(&s), "grad_input")
    cdef pyconv_status status
    with nogil:
        if floating is float:
            if algo == 0:
                status = pyconv_conv2d_input_direct_f32(&s, cptr(w), cptr(gy), ptr(gx), n_threads)
            elif algo == 1:
                status = pyconv_conv2d_input_im2col_f32(&s, cptr(w), cptr(gy), ptr(gx), n_threads)
            else:
                status = pyconv_conv2d_input_winograd_f32(&s, cptr(w), cptr(gy), ptr(gx), n_threads)
        else:
            if algo == 0:
                status = pyconv_conv2d_input_direct_f64(&s, cptr(w), cptr(gy), ptr(gx), n_threads)
            elif algo == 1:
                status = pyconv_conv2d_input_im2col_f64(&s, cptr(w), cptr(gy), ptr(gx), n_threads)
            else:
                status = pyconv_conv2d_input_winograd_f64(&s, cptr(w), cptr(gy), ptr(gx), n_threads)
    check_status(status, "conv2d_input")


def conv2d_weight(bint direct, tuple geometry, const floating[::1] x, const floating[::1] gy,
                  floating[::1] gw, int n_threads):
    """gw <- gradient of conv2d w.r.t. its weight (overwritten)."""
    cdef pyconv_conv_shape s = make_shape(geometry)
    check_len(x.shape[0], input_len(&s), "input")
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(gw.shape[0], weight_len(&s), "grad_weight")
    cdef pyconv_status status
    with nogil:
        if floating is float:
            if direct:
                status = pyconv_conv2d_weight_direct_f32(&s, cptr(x), cptr(gy), ptr(gw), n_threads)
            else:
                status = pyconv_conv2d_weight_im2col_f32(&s, cptr(x), cptr(gy), ptr(gw), n_threads)
        else:
            if direct:
                status = pyconv_conv2d_weight_direct_f64(&s, cptr(x), cptr(gy), ptr(gw), n_threads)
            else:
                status = pyconv_conv2d_weight_im2col_f64(&s, cptr(x), cptr(gy), ptr(gw), n_threads)
    check_status(status, "conv2d_weight")


def conv2d_bias(tuple geometry, const floating[::1] gy, floating[::1] gb, int n_threads):
    """gb <- gradient of conv2d w.r.t. its bias: grad_output summed over batch and pixels."""
    cdef pyconv_conv_shape s = make_shape(geometry)
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(gb.shape[0], s.c_out, "grad_bias")
    cdef pyconv_status status
    with nogil:
        if floating is float:
            status = pyconv_conv2d_bias_f32(&s, cptr(gy), ptr(gb), n_threads)
        else:
            status = pyconv_conv2d_bias_f64(&s, cptr(gy), ptr(gb), n_threads)
    check_status(status, "conv2d_bias")


def im2col(tuple geometry, const floating[::1] x, floating[::1] col, int n_threads):
    """col (n, c*kh*kw, h_out*w_out) <- the patches of x."""
    cdef pyconv_conv_shape s = make_shape(geometry)
    check_len(x.shape[0], input_len(&s), "input")
    check_len(col.shape[0], col_len(&s), "out")
    cdef pyconv_status status
    with nogil:
        if floating is float:
            status = pyconv_im2col_f32(&s, cptr(x), ptr(col), n_threads)
        else:
            status = pyconv_im2col_f64(&s, cptr(x), ptr(col), n_threads)
    check_status(status, "im2col")


def col2im(tuple geometry, const floating[::1] col, floating[::1] x, int n_threads):
    """x (n, c, h, w) <- the sum of the overlapping patches in col."""
    cdef pyconv_conv_shape s = make_shape(geometry)
    check_len(col.shape[0], col_len(&s), "input")
    check_len(x.shape[0], input_len(&s), "out")
    cdef pyconv_status status
    with nogil:
        if floating is float:
            status = pyconv_col2im_f32(&s, cptr(col), ptr(x), n_threads)
        else:
            status = pyconv_col2im_f64(&s, cptr(col), ptr(x), n_threads)
    check_status(status, "col2im")
