/* Template helper shared by im2col_t.h and conv_gemm_t.h (included from each, once per dtype,
 * so no include guard): copy one run of a strided input row. Strides 1 and 2 (most layers)
 * get loops with a constant stride, which the compiler vectorizes. */
PYCONV_INLINE void FN(gather_row)(real *PYCONV_RESTRICT dst, const real *PYCONV_RESTRICT src,
                                  int64_t n, int64_t stride)
{
    if (stride == 1) {
        for (int64_t t = 0; t < n; t++) dst[t] = src[t];
    } else if (stride == 2) {
        for (int64_t t = 0; t < n; t++) dst[t] = src[2 * t];
    } else {
        for (int64_t t = 0; t < n; t++) dst[t] = src[t * stride];
    }
}
