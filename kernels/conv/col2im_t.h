/* col2im template: the adjoint of im2col. Each (h_in, w_in) plane is overwritten with the
 * sum of its kh*kw rows of patch values (torch.nn.functional.fold); padding is dropped. */

static void FN(col2im_plane)(const pyconv_conv_shape *s, const real *PYCONV_RESTRICT col,
                             int64_t ld, real *PYCONV_RESTRICT x)
{
    const int64_t h_out = s->h_out, w_out = s->w_out, sw = s->stride_w;
    memset(x, 0, (size_t)(s->h_in * s->w_in) * sizeof(real));
    for (int64_t i = 0; i < s->kh; i++) {
        for (int64_t j = 0; j < s->kw; j++) {
            int64_t off = j * s->dil_w - s->pad_left, lo, hi, oh_lo, oh_hi;
            pyconv_out_range(off, s->w_in, sw, w_out, &lo, &hi);
            pyconv_out_range(i * s->dil_h - s->pad_top, s->h_in, s->stride_h, h_out, &oh_lo, &oh_hi);
            const real *row = col + (i * s->kw + j) * ld;
            for (int64_t oh = oh_lo; oh < oh_hi; oh++) {
                real *xrow = x + (oh * s->stride_h - s->pad_top + i * s->dil_h) * s->w_in;
                const real *crow = row + oh * w_out;
                #pragma omp simd
                for (int64_t ow = lo; ow < hi; ow++) xrow[ow * sw + off] += crow[ow];
            }
        }
    }
}

/* col2im_planes' arguments. */
typedef struct {
    const pyconv_conv_shape *s;
    const real *col;
    int64_t ld;
    real *x;
} FN(col2im_args);

/* Planes [lo, hi) of the batch (plane = image * c_in + channel). */
static pyconv_status FN(col2im_planes_task)(const void *ctx, int64_t lo, int64_t hi,
                                            const pyconv_thread *th)
{
    const FN(col2im_args) *a = (const FN(col2im_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t plane_in = s->h_in * s->w_in, taps = s->kh * s->kw;
    (void)th;
    for (int64_t p = lo; p < hi; p++)
        FN(col2im_plane)(s, a->col + p * taps * a->ld, a->ld, a->x + p * plane_in);
    return PYCONV_OK;
}

pyconv_status FN(pyconv_col2im_planes)(const pyconv_conv_shape *s, const real *col, int64_t ld,
                                       real *x, int64_t n_planes, int n_threads)
{
    const FN(col2im_args) a = {s, col, ld, x};
    return pyconv_parallel_for(n_planes,
                               (double)n_planes * (double)(s->kh * s->kw * s->h_out * s->w_out) *
                                   PYCONV_WORK_PER_VALUE,
                               n_threads, FN(col2im_planes_task), &a, PYCONV_NO_SCRATCH);
}

pyconv_status FN(pyconv_col2im)(const pyconv_conv_shape *s, const real *col, real *x,
                                int n_threads)
{
    if (pyconv_conv_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1) return PYCONV_ERR_ARG;
    return FN(pyconv_col2im_planes)(s, col, s->h_out * s->w_out, x, s->n * s->c_in, n_threads);
}
