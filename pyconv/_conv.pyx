"""Cython glue for the convolution kernels: a named geometry (pyconv._geometry.ConvGeometry)
and flat C-contiguous memoryviews in, the GIL released, status -> exception. The kernels, and
their geometry check, are reached through the public Cython API (pyconv.cython_kernels); the
glue only checks that each buffer holds what the geometry implies."""
from libc.stdint cimport uint64_t

from pyconv cimport cython_kernels as ck
from pyconv._glue cimport check_len, check_status


ALGORITHMS = {"auto": ck.PYCONV_ALGO_AUTO, "direct": ck.PYCONV_ALGO_DIRECT,
              "im2col": ck.PYCONV_ALGO_IM2COL, "winograd": ck.PYCONV_ALGO_WINOGRAD}
_ALGORITHM_NAMES = {code: name for name, code in ALGORITHMS.items()}
ACTIVATIONS = {None: ck.PYCONV_ACT_NONE, "relu": ck.PYCONV_ACT_RELU, "relu6": ck.PYCONV_ACT_RELU6,
               "silu": ck.PYCONV_ACT_SILU, "sigmoid": ck.PYCONV_ACT_SIGMOID, "tanh": ck.PYCONV_ACT_TANH}
OPS = {"conv2d": ck.PYCONV_OP_FORWARD, "conv2d_input": ck.PYCONV_OP_INPUT_GRAD,
       "conv2d_weight": ck.PYCONV_OP_WEIGHT_GRAD}


cdef ck.conv_shape _shape(geometry) except *:
    """The C struct from the named geometry, whose fields are the struct's in its order
    (pyconv._geometry.ConvGeometry)."""
    cdef ck.conv_shape s
    (s.n, s.c_in, s.h_in, s.w_in, s.c_out, s.kh, s.kw, s.h_out, s.w_out, s.stride_h, s.stride_w,
     s.pad_top, s.pad_left, s.dil_h, s.dil_w, s.groups) = geometry
    return s


# Elements of the convolution's arrays, from its C struct, for the glue's length checks. In
# wrapping (unsigned) arithmetic: a geometry whose sizes overflow int64 is the kernels' own
# check's to reject, before any array is touched.
cdef inline Py_ssize_t input_len(const ck.conv_shape *s) noexcept:
    return <Py_ssize_t>(<uint64_t>s.n * <uint64_t>s.c_in * <uint64_t>s.h_in * <uint64_t>s.w_in)


cdef inline Py_ssize_t output_len(const ck.conv_shape *s) noexcept:
    return <Py_ssize_t>(<uint64_t>s.n * <uint64_t>s.c_out * <uint64_t>s.h_out * <uint64_t>s.w_out)


cdef inline Py_ssize_t weight_len(const ck.conv_shape *s) noexcept:
    cdef uint64_t cin_g = <uint64_t>s.c_in // <uint64_t>s.groups if s.groups > 0 else 0
    return <Py_ssize_t>(<uint64_t>s.c_out * cin_g * <uint64_t>s.kh * <uint64_t>s.kw)


cdef inline Py_ssize_t col_len(const ck.conv_shape *s) noexcept:
    """Elements of im2col's patch matrix (n, c_in * kh * kw, h_out * w_out)."""
    return <Py_ssize_t>(<uint64_t>s.n * <uint64_t>s.c_in * <uint64_t>s.kh * <uint64_t>s.kw *
                        <uint64_t>s.h_out * <uint64_t>s.w_out)


def check(geometry):
    """ValueError naming the field when the kernels would reject `geometry`."""
    cdef ck.conv_shape s = _shape(geometry)
    cdef char msg[256]
    if ck.conv_shape_check(&s, msg, sizeof(msg)) != ck.PYCONV_STATUS_OK:
        raise ValueError(msg.decode())


def plan(str op, geometry, str algorithm, int real_size, int n_threads):
    """(algorithm, method, workspace bytes) of one convolution op."""
    cdef ck.conv_shape s = _shape(geometry)
    cdef ck.conv_plan p
    check_status(ck.conv_plan_make(&s, OPS[op], ALGORITHMS[algorithm], real_size, n_threads, &p), op)
    return _ALGORITHM_NAMES[p.algorithm], ck.conv_method_name(p.method).decode(), p.workspace_bytes


cdef inline const ck.floating *cptr(const ck.floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


cdef inline ck.floating *ptr(ck.floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


def packed_size(geometry, int real_size):
    """Elements of the packed form of a weight for geometry's convolution (pack_weight)."""
    cdef ck.conv_shape s = _shape(geometry)
    return ck.conv2d_packed_size(&s, real_size)


def pack_weight(geometry, const ck.floating[::1] w, ck.floating[::1] packed, int n_threads):
    """packed <- w as the implicit GEMM forward pass reads it, for the micro-kernel in use."""
    cdef ck.conv_shape s = _shape(geometry)
    check_len(w.shape[0], weight_len(&s), "weight")
    check_len(packed.shape[0], ck.conv2d_packed_size(&s, sizeof(ck.floating)), "packed")
    cdef int status
    with nogil:
        status = ck.conv2d_pack_weight(&s, cptr(w), ptr(packed), n_threads)
    check_status(status, "pack_weight")


def conv2d(str algorithm, geometry, const ck.floating[::1] x, const ck.floating[::1] w,
           const ck.floating[::1] packed, const ck.floating[::1] bias,
           const ck.floating[::1] residual, activation, ck.floating[::1] y, int n_threads):
    """y <- activation(conv2d(x, w) + bias + residual) (bias, residual, activation may be None;
    packed: None, or w as pack_weight packed it)."""
    cdef ck.conv_shape s = _shape(geometry)
    cdef int algo = ALGORITHMS[algorithm], act = ACTIVATIONS[activation]
    check_len(x.shape[0], input_len(&s), "input")
    check_len(w.shape[0], weight_len(&s), "weight")
    check_len(y.shape[0], output_len(&s), "out")
    cdef const ck.floating *pk = NULL
    cdef const ck.floating *b = NULL
    cdef const ck.floating *r = NULL
    if packed is not None:
        check_len(packed.shape[0], ck.conv2d_packed_size(&s, sizeof(ck.floating)), "packed")
        pk = cptr(packed)
    if bias is not None:
        check_len(bias.shape[0], s.c_out, "bias")
        b = cptr(bias)
    if residual is not None:
        check_len(residual.shape[0], output_len(&s), "residual")
        r = cptr(residual)
    cdef int status
    with nogil:
        status = ck.conv2d_packed(&s, algo, cptr(x), cptr(w), pk, b, r, act, ptr(y), n_threads)
    check_status(status, "conv2d")


def conv2d_input(str algorithm, geometry, const ck.floating[::1] w, const ck.floating[::1] gy,
                 ck.floating[::1] gx, int n_threads):
    """gx <- gradient of conv2d w.r.t. its input (overwritten)."""
    cdef ck.conv_shape s = _shape(geometry)
    cdef int algo = ALGORITHMS[algorithm]
    check_len(w.shape[0], weight_len(&s), "weight")
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(gx.shape[0], input_len(&s), "grad_input")
    cdef int status
    with nogil:
        status = ck.conv2d_input(&s, algo, cptr(w), cptr(gy), ptr(gx), n_threads)
    check_status(status, "conv2d_input")


def conv2d_weight(str algorithm, geometry, const ck.floating[::1] x, const ck.floating[::1] gy,
                  ck.floating[::1] gw, int n_threads):
    """gw <- gradient of conv2d w.r.t. its weight (overwritten)."""
    cdef ck.conv_shape s = _shape(geometry)
    cdef int algo = ALGORITHMS[algorithm]
    check_len(x.shape[0], input_len(&s), "input")
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(gw.shape[0], weight_len(&s), "grad_weight")
    cdef int status
    with nogil:
        status = ck.conv2d_weight(&s, algo, cptr(x), cptr(gy), ptr(gw), n_threads)
    check_status(status, "conv2d_weight")


def conv2d_bias(geometry, const ck.floating[::1] gy, ck.floating[::1] gb, int n_threads):
    """gb <- gradient of conv2d w.r.t. its bias: grad_output summed over batch and pixels."""
    cdef ck.conv_shape s = _shape(geometry)
    check_len(gy.shape[0], output_len(&s), "grad_output")
    check_len(gb.shape[0], s.c_out, "grad_bias")
    cdef int status
    with nogil:
        status = ck.conv2d_bias(&s, cptr(gy), ptr(gb), n_threads)
    check_status(status, "conv2d_bias")


def im2col(geometry, const ck.floating[::1] x, ck.floating[::1] col, int n_threads):
    """col (n, c*kh*kw, h_out*w_out) <- the patches of x."""
    cdef ck.conv_shape s = _shape(geometry)
    check_len(x.shape[0], input_len(&s), "input")
    check_len(col.shape[0], col_len(&s), "out")
    cdef int status
    with nogil:
        status = ck.im2col(&s, cptr(x), ptr(col), n_threads)
    check_status(status, "im2col")


def col2im(geometry, const ck.floating[::1] col, ck.floating[::1] x, int n_threads):
    """x (n, c, h, w) <- the sum of the overlapping patches in col."""
    cdef ck.conv_shape s = _shape(geometry)
    check_len(col.shape[0], col_len(&s), "input")
    check_len(x.shape[0], input_len(&s), "out")
    cdef int status
    with nogil:
        status = ck.col2im(&s, cptr(col), ptr(x), n_threads)
    check_status(status, "col2im")
