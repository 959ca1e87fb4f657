"""pyconv's Cython API (see cython_kernels.pxd): the C kernels behind cimportable nogil
functions. Each checks the caller's geometry, copies it into the kernels' own struct and calls
the float or double kernel; nothing here touches Python objects."""
from libc.stdint cimport int64_t

from pyconv._kernels cimport *

# The public status values are the kernels' own.
assert (PYCONV_STATUS_OK, PYCONV_STATUS_NOMEM, PYCONV_STATUS_INDEX, PYCONV_STATUS_ARG) == (
    PYCONV_OK, PYCONV_ERR_NOMEM, PYCONV_ERR_INDEX, PYCONV_ERR_ARG)

# Same headroom as pyconv._args.MAX_ELEMENTS: element counts stay far from int64 overflow.
cdef int64_t _MAX_ELEMENTS = <int64_t>1 << 62


cdef bint _fits(int64_t a, int64_t b, int64_t c, int64_t d) noexcept nogil:
    """a*b*c*d (all >= 0) is at most _MAX_ELEMENTS."""
    cdef int64_t factors[4]
    cdef int64_t product = 1
    factors[:] = [a, b, c, d]
    for i in range(4):
        if factors[i] != 0 and product > _MAX_ELEMENTS // factors[i]:
            return False
        product *= factors[i]
    return True


cdef bint _conv_geometry(const conv_shape *s, int n_threads, pyconv_conv_shape *k) noexcept nogil:
    """Copy s into the kernels' struct k; False when s (or n_threads) is inconsistent."""
    if (n_threads < 1 or s.n < 0 or s.c_in < 0 or s.h_in < 0 or s.w_in < 0 or s.c_out < 0
            or s.h_out < 0 or s.w_out < 0 or s.pad_top < 0 or s.pad_left < 0
            or s.kh < 1 or s.kw < 1 or s.stride_h < 1 or s.stride_w < 1 or s.dil_h < 1 or s.dil_w < 1
            or s.groups < 1 or s.c_in % s.groups or s.c_out % s.groups):
        return False
    # input, output, then weight and the patch matrix (n, c_in*kh*kw, h_out*w_out) of im2col
    if not (_fits(s.n, s.c_in, s.h_in, s.w_in) and _fits(s.n, s.c_out, s.h_out, s.w_out)
            and _fits(s.c_in, s.kh, s.kw, 1)):
        return False
    cdef int64_t taps = s.c_in * s.kh * s.kw
    if not (_fits(s.c_out, taps, 1, 1) and _fits(s.n, taps, s.h_out, s.w_out)):
        return False
    k.n, k.c_in, k.h_in, k.w_in = s.n, s.c_in, s.h_in, s.w_in
    k.c_out, k.kh, k.kw, k.h_out, k.w_out = s.c_out, s.kh, s.kw, s.h_out, s.w_out
    k.stride_h, k.stride_w, k.pad_top, k.pad_left = s.stride_h, s.stride_w, s.pad_top, s.pad_left
    k.dil_h, k.dil_w, k.groups = s.dil_h, s.dil_w, s.groups
    return True


cdef bint _pool_geometry(const pool_shape *s, int n_threads, pyconv_pool_shape *k) noexcept nogil:
    """Copy s into the kernels' struct k; False when s (or n_threads) is inconsistent."""
    if (n_threads < 1 or s.n_planes < 0 or s.h_in < 1 or s.w_in < 1 or s.h_out < 0 or s.w_out < 0
            or s.kh < 1 or s.kw < 1 or s.stride_h < 1 or s.stride_w < 1 or s.dil_h < 1 or s.dil_w < 1
            or s.pad_h < 0 or s.pad_w < 0 or 2 * s.pad_h > s.kh or 2 * s.pad_w > s.kw):
        return False
    if not (_fits(s.n_planes, s.h_in, s.w_in, 1) and _fits(s.n_planes, s.h_out, s.w_out, 1)):
        return False
    k.n_planes, k.h_in, k.w_in, k.kh, k.kw = s.n_planes, s.h_in, s.w_in, s.kh, s.kw
    k.h_out, k.w_out, k.stride_h, k.stride_w = s.h_out, s.w_out, s.stride_h, s.stride_w
    k.pad_h, k.pad_w, k.dil_h, k.dil_w = s.pad_h, s.pad_w, s.dil_h, s.dil_w
    return True


cdef int gemm(bint trans_a, bint trans_b, int64_t m, int64_t n, int64_t k, floating alpha, const floating *a,
              int64_t lda, const floating *b, int64_t ldb, floating beta, floating *c, int64_t ldc,
              int n_threads) noexcept nogil:
    # leading dimensions: at least the stored row length (1 for an empty one), as in BLAS
    if (n_threads < 1 or m < 0 or n < 0 or k < 0 or lda < max(1, m if trans_a else k)
            or ldb < max(1, k if trans_b else n) or ldc < max(1, n)
            or not (_fits(m, lda, 1, 1) and _fits(k, lda, 1, 1) and _fits(k, ldb, 1, 1)
                    and _fits(n, ldb, 1, 1) and _fits(m, ldc, 1, 1))):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, n_threads)
    else:
        return pyconv_gemm_f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, n_threads)


cdef int im2col(const conv_shape *s, const floating *x, floating *col, int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_im2col_f32(&g, x, col, n_threads)
    else:
        return pyconv_im2col_f64(&g, x, col, n_threads)


cdef int col2im(const conv_shape *s, const floating *col, floating *x, int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_col2im_f32(&g, col, x, n_threads)
    else:
        return pyconv_col2im_f64(&g, col, x, n_threads)


cdef int conv2d_direct(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_conv2d_direct_f32(&g, x, w, bias, y, n_threads)
    else:
        return pyconv_conv2d_direct_f64(&g, x, w, bias, y, n_threads)


cdef int conv2d_im2col(const conv_shape *s, const floating *x, const floating *w, const floating *bias,
                       floating *y, int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_conv2d_im2col_f32(&g, x, w, bias, y, n_threads)
    else:
        return pyconv_conv2d_im2col_f64(&g, x, w, bias, y, n_threads)


cdef int conv2d_input_direct(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_conv2d_input_direct_f32(&g, w, gy, gx, n_threads)
    else:
        return pyconv_conv2d_input_direct_f64(&g, w, gy, gx, n_threads)


cdef int conv2d_input_im2col(const conv_shape *s, const floating *w, const floating *gy, floating *gx,
                             int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_conv2d_input_im2col_f32(&g, w, gy, gx, n_threads)
    else:
        return pyconv_conv2d_input_im2col_f64(&g, w, gy, gx, n_threads)


cdef int conv2d_weight_direct(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_conv2d_weight_direct_f32(&g, x, gy, gw, n_threads)
    else:
        return pyconv_conv2d_weight_direct_f64(&g, x, gy, gw, n_threads)


cdef int conv2d_weight_im2col(const conv_shape *s, const floating *x, const floating *gy, floating *gw,
                              int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_conv2d_weight_im2col_f32(&g, x, gy, gw, n_threads)
    else:
        return pyconv_conv2d_weight_im2col_f64(&g, x, gy, gw, n_threads)


cdef int conv2d_bias(const conv_shape *s, const floating *gy, floating *gb, int n_threads) noexcept nogil:
    cdef pyconv_conv_shape g
    if not _conv_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_conv2d_bias_f32(&g, gy, gb, n_threads)
    else:
        return pyconv_conv2d_bias_f64(&g, gy, gb, n_threads)


cdef int maxpool2d(const pool_shape *s, const floating *x, floating *y, int64_t *indices,
                   int n_threads) noexcept nogil:
    cdef pyconv_pool_shape g
    if not _pool_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_maxpool2d_f32(&g, x, y, indices, n_threads)
    else:
        return pyconv_maxpool2d_f64(&g, x, y, indices, n_threads)


cdef int maxpool2d_backward(const pool_shape *s, const floating *gy, const int64_t *indices, floating *gx,
                            int n_threads) noexcept nogil:
    cdef pyconv_pool_shape g
    if not _pool_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_maxpool2d_backward_f32(&g, gy, indices, gx, n_threads)
    else:
        return pyconv_maxpool2d_backward_f64(&g, gy, indices, gx, n_threads)


cdef int avgpool2d(const pool_shape *s, const floating *x, floating *y, bint count_include_pad,
                   int64_t divisor_override, int n_threads) noexcept nogil:
    cdef pyconv_pool_shape g
    if not _pool_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_avgpool2d_f32(&g, x, y, count_include_pad, divisor_override, n_threads)
    else:
        return pyconv_avgpool2d_f64(&g, x, y, count_include_pad, divisor_override, n_threads)


cdef int avgpool2d_backward(const pool_shape *s, const floating *gy, floating *gx, bint count_include_pad,
                            int64_t divisor_override, int n_threads) noexcept nogil:
    cdef pyconv_pool_shape g
    if not _pool_geometry(s, n_threads, &g):
        return PYCONV_ERR_ARG
    if floating is float:
        return pyconv_avgpool2d_backward_f32(&g, gy, gx, count_include_pad, divisor_override, n_threads)
    else:
        return pyconv_avgpool2d_backward_f64(&g, gy, gx, count_include_pad, divisor_override, n_threads)
