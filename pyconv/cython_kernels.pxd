# pyconv's Cython API: the nogil kernels for other Cython extensions, like scipy.linalg.cython_blas.
#
#     from pyconv cimport cython_kernels as ck
#     cdef ck.conv_shape s = ...                # geometry, see below
#     with nogil:
#         status = ck.conv2d(&s, ck.PYCONV_ALGO_AUTO, x, w, bias, y, n_threads)   # float* or double*
#
# Build with pyconv importable, its package's parent directory on Cython's include path and
# pyconv.get_include() (the C header) on the C compiler's include path. The extension finds the
# kernels at import time through pyconv.cython_kernels, the one module that holds them; it
# links no pyconv library. pyconv's own Python glue calls the kernels through this same API.
#
# Contract, as for BLAS: arrays are C-contiguous NCHW buffers of the sizes the geometry
# implies, every pointer of a non-empty array is valid, outputs do not alias inputs. The
# functions check the geometry itself (conv_shape_check / pool_shape_check: sizes >= 0,
# kernel/stride/dilation/groups >= 1, groups dividing the channels, pooling padding at most
# half the kernel and windows reaching the input, sizes within int64 indexing, n_threads >= 1)
# and return PYCONV_STATUS_ARG when it is inconsistent; they never raise and never take the
# GIL. Each function is fused over float and double (all its float pointers share one type)
# and returns a status:
from libc.stdint cimport int64_t

from pyconv._kernels cimport (
    PYCONV_ACT_NONE, PYCONV_ACT_RELU, PYCONV_ACT_RELU6, PYCONV_ACT_SIGMOID, PYCONV_ACT_SILU,
    PYCONV_ACT_TANH, PYCONV_ALGO_AUTO, PYCONV_ALGO_DIRECT, PYCONV_ALGO_IM2COL, PYCONV_ALGO_WINOGRAD,
    PYCONV_OP_FORWARD, PYCONV_OP_INPUT_GRAD, PYCONV_OP_WEIGHT_GRAD, pyconv_conv_plan,
    pyconv_conv_shape, pyconv_pool_shape)

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
# Fields: n, c_in, h_in, w_in, c_out, kh, kw, h_out, w_out, stride_h, stride_w, pad_top,
# pad_left, dil_h, dil_w, groups (all int64_t).
ctypedef pyconv_conv_shape conv_shape

# Pooling over n_planes = N*C planes (h_in, w_in) -> (h_out, w_out), h_in, w_in >= 1; pad_h / pad_w
# on both sides, at most half the kernel, as in PyTorch. Fields: n_planes, h_in, w_in, kh, kw,
# h_out, w_out, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w.
ctypedef pyconv_pool_shape pool_shape

# What a convolution call runs: algorithm (PYCONV_ALGO_DIRECT / _IM2COL / _WINOGRAD), method (see
# conv_method_name) and workspace_bytes (all threads together).
ctypedef pyconv_conv_plan conv_plan

# The geometry checks every function below makes: PYCONV_STATUS_OK, or PYCONV_STATUS_ARG with
# a message naming the field in msg (msg_len bytes; msg may be NULL).
cdef int conv_shape_check(const conv_shape *s, char *msg, size_t msg_len) noexcept nogil
cdef int pool_shape_check(const pool_shape *s, char *msg, size_t msg_len) noexcept nogil

# The plan of convolution op (PYCONV_OP_FORWARD / _INPUT_GRAD / _WEIGHT_GRAD) asked to run
# `algorithm` (PYCONV_ALGO_AUTO / _DIRECT / _IM2COL / _WINOGRAD), for elements of real_size
# bytes (4, 8). WINOGRAD (F(4x4, 3x3)) takes 3x3, stride-1, dilation-1 convolutions with >= 8
# input and output channels per group (PYCONV_STATUS_ARG otherwise), every op.
cdef int conv_plan_make(const conv_shape *s, int op, int algorithm, int real_size, int n_threads,
                        conv_plan *plan) noexcept nogil
cdef const char *conv_method_name(int method) noexcept nogil

# c = alpha * op(a) @ op(b) + beta * c, row-major, op(x) = x.T when trans_x; a is m x k after op.
cdef int gemm(bint trans_a, bint trans_b, int64_t m, int64_t n, int64_t k, floating alpha, const floating *a,
              int64_t lda, const floating *b, int64_t ldb, floating beta, floating *c, int64_t ldc,
              int n_threads) noexcept nogil

# col (n, c_in*kh*kw, h_out*w_out) <-> x (n, c_in, h_in, w_in); col2im overwrites x with the
# sum of the overlapping patches.
cdef int im2col(const conv_shape *s, const floating *x, floating *col, int n_threads) noexcept nogil
cdef int col2im(const conv_shape *s, const floating *col, floating *x, int n_threads) noexcept nogil

# Forward: y = activation(conv(x, w) + bias + residual) by `algorithm` (PYCONV_ALGO_*), the
# activation (PYCONV_ACT_NONE, _RELU, _RELU6, _SILU, _SIGMOID, _TANH) and the residual add
# applied where the kernel stores y; bias and residual (shaped like y, not overlapping it) may
# be NULL.
cdef int conv2d(const conv_shape *s, int algorithm, const floating *x, const floating *w,
                const floating *bias, const floating *residual, int activation, floating *y,
                int n_threads) noexcept nogil
# Weights packed once for many forward passes (inference): conv2d_pack_weight writes w (only the
# sizes and groups of s matter) as the implicit GEMM reads it, conv2d_packed_size(s, sizeof(real))
# elements, 64-byte aligned (PYCONV_STATUS_ARG otherwise), for the micro-kernel in use; conv2d_packed is conv2d with w also given packed (NULL:
# conv2d), the algorithms other than the implicit GEMM reading w.
cdef int64_t conv2d_packed_size(const conv_shape *s, int real_size) noexcept nogil
cdef int conv2d_pack_weight(const conv_shape *s, const floating *w, floating *packed, int n_threads) noexcept nogil
cdef int conv2d_packed(const conv_shape *s, int algorithm, const floating *x, const floating *w,
                       const floating *packed, const floating *bias, const floating *residual,
                       int activation, floating *y, int n_threads) noexcept nogil
# Backward; each overwrites its output: gx (n, c_in, h_in, w_in), gw (c_out, c_in/groups, kh, kw),
# gb (c_out,).
cdef int conv2d_input(const conv_shape *s, int algorithm, const floating *w, const floating *gy,
                      floating *gx, int n_threads) noexcept nogil
cdef int conv2d_weight(const conv_shape *s, int algorithm, const floating *x, const floating *gy,
                       floating *gw, int n_threads) noexcept nogil
cdef int conv2d_bias(const conv_shape *s, const floating *gy, floating *gb, int n_threads) noexcept nogil

# Shorthands for the calls above with algorithm PYCONV_ALGO_DIRECT / PYCONV_ALGO_IM2COL (and,
# for the forward pass, no residual and no activation).
cdef int conv2d_direct(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil
cdef int conv2d_im2col(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil
cdef int conv2d_input_direct(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil
cdef int conv2d_input_im2col(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil
cdef int conv2d_weight_direct(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil
cdef int conv2d_weight_im2col(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil

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

# Run-time facts: the GEMM micro-kernel in use ("avx512f", "avx2+fma", "reference", ...), the
# PYCONV_ARCH names this CPU can run ("reference avx2 avx512x12 avx512", its default last) and
# the one in use, OpenMP.
cdef const char *gemm_isa() noexcept nogil
cdef const char *gemm_archs() noexcept nogil
cdef const char *gemm_arch() noexcept nogil
cdef bint openmp_enabled() noexcept nogil
cdef int openmp_max_threads() noexcept nogil
