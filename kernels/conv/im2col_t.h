/* im2col template: unfold (h_in, w_in) planes into kh*kw rows of h_out*w_out patch values,
 * zeros where a patch reaches into the padding (torch.nn.functional.unfold's layout). */

/* Copy one run of a strided input row. Strides 1 and 2 (most layers) get loops with a
 * constant stride, which the compiler vectorizes. */
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

/* Rows (i, j) of one plane: row i*kw + j holds x[oh*sh - pt + i*dh, ow*sw - pl + j*dw]. */
PYCONV_SIMD_CLONES
static void FN(im2col_plane)(const pyconv_conv_shape *s, const real *PYCONV_RESTRICT x,
                             real *PYCONV_RESTRICT col)
{
    const int64_t h_out = s->h_out, w_out = s->w_out, sw = s->stride_w;
    for (int64_t i = 0; i < s->kh; i++) {
        for (int64_t j = 0; j < s->kw; j++) {
            int64_t off = j * s->dil_w - s->pad_left, lo, hi;
            pyconv_out_range(off, s->w_in, sw, w_out, &lo, &hi);
            real *row = col + (i * s->kw + j) * h_out * w_out;
            for (int64_t oh = 0; oh < h_out; oh++, row += w_out) {
                int64_t ih = oh * s->stride_h - s->pad_top + i * s->dil_h;
                if (ih < 0 || ih >= s->h_in) {
                    memset(row, 0, (size_t)w_out * sizeof(real));
                    continue;
                }
                const real *xrow = x + ih * s->w_in;
                for (int64_t ow = 0; ow < lo; ow++) row[ow] = 0;
                FN(gather_row)(row + lo, xrow + lo * sw + off, hi - lo, sw);
                for (int64_t ow = hi; ow < w_out; ow++) row[ow] = 0;
            }
        }
    }
}

/* Planes [lo, hi) of the batch (plane = image * c_in + channel). */
static pyconv_status FN(im2col_planes)(const void *ctx, int64_t lo, int64_t hi,
                                       const pyconv_thread *th)
{
    const FN(pyconv_conv_io) *a = (const FN(pyconv_conv_io) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t plane_in = s->h_in * s->w_in, plane_col = s->kh * s->kw * s->h_out * s->w_out;
    (void)th;
    for (int64_t p = lo; p < hi; p++) FN(im2col_plane)(s, a->src + p * plane_in, a->dst + p * plane_col);
    return PYCONV_OK;
}

pyconv_status FN(pyconv_im2col)(const pyconv_conv_shape *s, const real *x, real *col,
                                int n_threads)
{
    if (pyconv_conv_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1) return PYCONV_ERR_ARG;
    const FN(pyconv_conv_io) a = {s, x, col};
    return pyconv_parallel_for(s->n * s->c_in,
                               (double)(s->n * s->c_in) * (double)(s->kh * s->kw * s->h_out * s->w_out) *
                                   PYCONV_WORK_PER_VALUE,
                               n_threads, FN(im2col_planes), &a, PYCONV_NO_SCRATCH);
}
