"""pyconv's Cython API (see cython_kernels.pxd), and the one extension module that holds the
compiled kernels: pyconv's own glue (_conv, _pool, _gemm) and third-party extensions call them
through the functions below, so a process has one GEMM dispatch table and one set of
per-thread arenas. Each function writes the float/double branch of its op once; the kernels
check the geometry themselves."""
from libc.stdint cimport int64_t

from pyconv._kernels cimport *

# The public status values are the kernels' own.
assert (PYCONV_STATUS_OK, PYCONV_STATUS_NOMEM, PYCONV_STATUS_INDEX, PYCONV_STATUS_ARG) == (
    PYCONV_OK, PYCONV_ERR_NOMEM, PYCONV_ERR_INDEX, PYCONV_ERR_ARG)

# Choose the GEMM micro-kernel for this CPU: once per process, at import, under the GIL.
pyconv_gemm_init()


cdef int conv_shape_check(const conv_shape *s, char *msg, size_t msg_len) noexcept nogil:
    return pyconv_conv_shape_check(s, msg, msg_len)


cdef int pool_shape_check(const pool_shape *s, char *msg, size_t msg_len) noexcept nogil:
    return pyconv_pool_shape_check(s, msg, msg_len)


cdef int conv_plan_make(const conv_shape *s, int op, int algorithm, int real_size, int n_threads,
                        conv_plan *plan) noexcept nogil:
    return pyconv_conv_plan_make(s, <pyconv_conv_op>op, <pyconv_algorithm>algorithm, real_size,
                                 n_threads, plan)


cdef const char *conv_method_name(int method) noexcept nogil:
    return pyconv_conv_method_name(<pyconv_conv_method>method)


cdef int gemm(bint trans_a, bint trans_b, int64_t m, int64_t n, int64_t k, floating alpha, const floating *a,
              int64_t lda, const floating *b, int64_t ldb, floating beta, floating *c, int64_t ldc,
              int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, n_threads)
    else:
        return pyconv_gemm_f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, n_threads)


cdef int im2col(const conv_shape *s, const floating *x, floating *col, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_im2col_f32(s, x, col, n_threads)
    else:
        return pyconv_im2col_f64(s, x, col, n_threads)


cdef int col2im(const conv_shape *s, const floating *col, floating *x, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_col2im_f32(s, col, x, n_threads)
    else:
        return pyconv_col2im_f64(s, col, x, n_threads)


cdef int conv2d(const conv_shape *s, int algorithm, const floating *x, const floating *w,
                const floating *bias, const floating *residual, int activation, floating *y,
                int n_threads) noexcept nogil:
    # as the C API's pyconv_conv2d: conv2d_packed with no packed weight
    return conv2d_packed(s, algorithm, x, w, NULL, bias, residual, activation, y, n_threads)


cdef int64_t conv2d_packed_size(const conv_shape *s, int real_size) noexcept nogil:
    return pyconv_conv2d_packed_size_f32(s) if real_size == 4 else pyconv_conv2d_packed_size_f64(s)


cdef int conv2d_pack_weight(const conv_shape *s, const floating *w, floating *packed, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_conv2d_pack_weight_f32(s, w, packed, n_threads)
    else:
        return pyconv_conv2d_pack_weight_f64(s, w, packed, n_threads)


cdef int conv2d_packed(const conv_shape *s, int algorithm, const floating *x, const floating *w,
                       const floating *packed, const floating *bias, const floating *residual,
                       int activation, floating *y, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_conv2d_packed_f32(s, <pyconv_algorithm>algorithm, x, w, packed, bias, residual,
                                        <pyconv_activation>activation, y, n_threads)
    else:
        return pyconv_conv2d_packed_f64(s, <pyconv_algorithm>algorithm, x, w, packed, bias, residual,
                                        <pyconv_activation>activation, y, n_threads)


cdef int conv2d_input(const conv_shape *s, int algorithm, const floating *w, const floating *gy,
                      floating *gx, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_conv2d_input_f32(s, <pyconv_algorithm>algorithm, w, gy, gx, n_threads)
    else:
        return pyconv_conv2d_input_f64(s, <pyconv_algorithm>algorithm, w, gy, gx, n_threads)


cdef int conv2d_weight(const conv_shape *s, int algorithm, const floating *x, const floating *gy,
                       floating *gw, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_conv2d_weight_f32(s, <pyconv_algorithm>algorithm, x, gy, gw, n_threads)
    else:
        return pyconv_conv2d_weight_f64(s, <pyconv_algorithm>algorithm, x, gy, gw, n_threads)


cdef int conv2d_bias(const conv_shape *s, const floating *gy, floating *gb, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_conv2d_bias_f32(s, gy, gb, n_threads)
    else:
        return pyconv_conv2d_bias_f64(s, gy, gb, n_threads)


cdef int conv2d_direct(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil:
    return conv2d(s, PYCONV_ALGO_DIRECT, x, w, bias, NULL, PYCONV_ACT_NONE, y, n_threads)


cdef int conv2d_im2col(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil:
    return conv2d(s, PYCONV_ALGO_IM2COL, x, w, bias, NULL, PYCONV_ACT_NONE, y, n_threads)


cdef int conv2d_input_direct(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil:
    return conv2d_input(s, PYCONV_ALGO_DIRECT, w, gy, gx, n_threads)


cdef int conv2d_input_im2col(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil:
    return conv2d_input(s, PYCONV_ALGO_IM2COL, w, gy, gx, n_threads)


cdef int conv2d_weight_direct(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil:
    return conv2d_weight(s, PYCONV_ALGO_DIRECT, x, gy, gw, n_threads)


cdef int conv2d_weight_im2col(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil:
    return conv2d_weight(s, PYCONV_ALGO_IM2COL, x, gy, gw, n_threads)


cdef int maxpool2d(const pool_shape *s, const floating *x, floating *y, int64_t *indices,
                   int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_maxpool2d_f32(s, x, y, indices, n_threads)
    else:
        return pyconv_maxpool2d_f64(s, x, y, indices, n_threads)


cdef int maxpool2d_backward(const pool_shape *s, const floating *gy, const int64_t *indices, floating *gx,
                            int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_maxpool2d_backward_f32(s, gy, indices, gx, n_threads)
    else:
        return pyconv_maxpool2d_backward_f64(s, gy, indices, gx, n_threads)


cdef int avgpool2d(const pool_shape *s, const floating *x, floating *y, bint count_include_pad,
                   int64_t divisor_override, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_avgpool2d_f32(s, x, y, count_include_pad, divisor_override, n_threads)
    else:
        return pyconv_avgpool2d_f64(s, x, y, count_include_pad, divisor_override, n_threads)


cdef int avgpool2d_backward(const pool_shape *s, const floating *gy, floating *gx, bint count_include_pad,
                            int64_t divisor_override, int n_threads) noexcept nogil:
    if floating is float:
        return pyconv_avgpool2d_backward_f32(s, gy, gx, count_include_pad, divisor_override, n_threads)
    else:
        return pyconv_avgpool2d_backward_f64(s, gy, gx, count_include_pad, divisor_override, n_threads)


cdef const char *gemm_isa() noexcept nogil:
    return pyconv_gemm_isa()


cdef const char *gemm_archs() noexcept nogil:
    return pyconv_gemm_archs()


cdef const char *gemm_arch() noexcept nogil:
    return pyconv_gemm_arch_name()


cdef bint openmp_enabled() noexcept nogil:
    return pyconv_openmp_enabled()


cdef int openmp_max_threads() noexcept nogil:
    return pyconv_openmp_max_threads()
