# pyconv's Cython API: the nogil kernels for other Cython extensions, like scipy.linalg.cython_blas.
#
#     from pyconv cimport cython_kernels as ck
#     cdef ck.conv_shape s = ...                # geometry, see below
#     with nogil:
#         status = ck.conv2d_im2col(&s, x, w, bias, y, n_threads)   # float* or double*, deduced
#
# Build with pyconv importable and its package directory on Cython's include path (the
# extension then finds the kernels at import time through pyconv.cython_kernels; it needs
# neither pyconv's C headers nor its library at build time).
#
# Contract, as for BLAS: arrays are C-contiguous NCHW buffers of the sizes the geometry
# implies, every pointer of a non-empty array is valid, outputs do not alias inputs. The
# functions check the geometry itself (sizes >= 0, kernel/stride/dilation/groups >= 1, groups
# dividing the channels, n_threads >= 1) and return PYCONV_STATUS_ARG when it is inconsistent;
# they never raise and never take the GIL. Each function is fused over float and double
# (all its float pointers share one type) and returns a status:
from libc.stdint cimport int64_t

ctypedef fused floating:
    float
    double

cdef enum:
    PYCONV_STATUS_OK = 0
    PYCONV_STATUS_NOMEM = 1    # a workspace allocation failed
    PYCONV_STATUS_INDEX = 2    # a max-pool index outside [0, h_in*w_in)
    PYCONV_STATUS_ARG = 3      # inconsistent geometry

# One grouped 2-D convolution: input (n, c_in, h_in, w_in), weight (c_out, c_in/groups, kh, kw),
# output (n, c_out, h_out, w_out). Output pixel (oh, ow) reads input row
# oh*stride_h - pad_top + i*dil_h (out-of-range rows are zero padding), so bottom/right padding
# only shows in h_out / w_out: h_out = (h_in + pad_top + pad_bottom - dil_h*(kh-1) - 1) // stride_h + 1.
ctypedef struct conv_shape:
    int64_t n, c_in, h_in, w_in
    int64_t c_out, kh, kw
    int64_t h_out, w_out
    int64_t stride_h, stride_w
    int64_t pad_top, pad_left
    int64_t dil_h, dil_w
    int64_t groups

# Pooling over n_planes = N*C planes (h_in, w_in) -> (h_out, w_out), h_in, w_in >= 1; pad_h / pad_w
# on both sides, at most half the kernel, as in PyTorch.
ctypedef struct pool_shape:
    int64_t n_planes, h_in, w_in
    int64_t kh, kw
    int64_t h_out, w_out
    int64_t stride_h, stride_w
    int64_t pad_h, pad_w
    int64_t dil_h, dil_w

# c = alpha * op(a) @ op(b) + beta * c, row-major, op(x) = x.T when trans_x; a is m x k after op.
cdef int gemm(bint trans_a, bint trans_b, int64_t m, int64_t n, int64_t k, floating alpha, const floating *a,
              int64_t lda, const floating *b, int64_t ldb, floating beta, floating *c, int64_t ldc,
              int n_threads) noexcept nogil

# col (n, c_in*kh*kw, h_out*w_out) <-> x (n, c_in, h_in, w_in); col2im overwrites x with the
# sum of the overlapping patches.
cdef int im2col(const conv_shape *s, const floating *x, floating *col, int n_threads) noexcept nogil
cdef int col2im(const conv_shape *s, const floating *col, floating *x, int n_threads) noexcept nogil

# Forward: y = conv(x, w) + bias (bias may be NULL). Two algorithms, same results.
cdef int conv2d_direct(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil
cdef int conv2d_im2col(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil

# Backward; each overwrites its output: gx (n, c_in, h_in, w_in), gw (c_out, c_in/groups, kh, kw),
# gb (c_out,).
cdef int conv2d_input_direct(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil
cdef int conv2d_input_im2col(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil
cdef int conv2d_weight_direct(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil
cdef int conv2d_weight_im2col(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil
cdef int conv2d_bias(const conv_shape *s, const floating *gy, floating *gb, int n_threads) noexcept nogil

# Max pooling; indices (may be NULL) receive PyTorch's flat h*W+w argmax within each plane.
cdef int maxpool2d(const pool_shape *s, const floating *x, floating *y, int64_t *indices,
                   int n_threads) noexcept nogil
cdef int maxpool2d_backward(const pool_shape *s, const floating *gy, const int64_t *indices, floating *gx,
                            int n_threads) noexcept nogil
# Average pooling; divisor_override == 0 means none (a negative one divides as in PyTorch).
cdef int avgpool2d(const pool_shape *s, const floating *x, floating *y, bint count_include_pad,
                   int64_t divisor_override, int n_threads) noexcept nogil
cdef int avgpool2d_backward(const pool_shape *s, const floating *gy, floating *gx, bint count_include_pad,
                            int64_t divisor_override, int n_threads) noexcept nogil
