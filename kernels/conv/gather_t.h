/* The gather set-up every implicit-GEMM convolution shares (template): the padded copy of the
 * images, the offset of each kernel tap, and the offset of each output pixel's first value,
 * so that tap p of output pixel q is at images[pixel(q) + off[p]] (conv_internal.h). */

void FN(pyconv_gather_init)(FN(pyconv_gather) *g, const pyconv_conv_shape *s, const real *x,
                            int64_t *off)
{
    g->s = s;
    g->x = x;
    g->e = pyconv_gather_extent_of(s);
    for (int64_t c = 0, p = 0; c < s->c_in; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++)
                off[p++] = (c * g->e.hp + i * s->dil_h) * g->e.wp + j * s->dil_w;
    g->off = off;
}

/* The padded copy's arguments: planes of src copied into dst. */
typedef struct {
    const FN(pyconv_gather) *g;
    const real *src;
    real *dst;
} FN(pad_args);

/* Planes [lo, hi) copied into (hp, wp) planes with pad_top zero rows above and pad_left zero
 * columns on the left, the rest zero. */
static pyconv_status FN(pad_planes)(const void *ctx, int64_t lo, int64_t hi,
                                    const pyconv_thread *th)
{
    const FN(pad_args) *a = (const FN(pad_args) *)ctx;
    const pyconv_conv_shape *s = a->g->s;
    const int64_t h = s->h_in, w = s->w_in, top = s->pad_top, left = s->pad_left;
    const int64_t hp = a->g->e.hp, wp = a->g->e.wp;
    (void)th;
    for (int64_t p = lo; p < hi; p++) {
        const real *src = a->src + p * h * w;
        real *d = a->dst + p * hp * wp;
        memset(d, 0, (size_t)(top * wp) * sizeof(real));
        for (int64_t r = 0; r < h; r++) {
            real *row = d + (top + r) * wp;
            memset(row, 0, (size_t)left * sizeof(real));
            memcpy(row + left, src + r * w, (size_t)w * sizeof(real));
            memset(row + left + w, 0, (size_t)(wp - left - w) * sizeof(real));
        }
        memset(d + (top + h) * wp, 0, (size_t)((hp - top - h) * wp) * sizeof(real));
    }
    return PYCONV_OK;
}

const real *FN(pyconv_gather_images)(const FN(pyconv_gather) *g, int64_t img, int64_t imgs,
                                     int n_threads)
{
    const pyconv_conv_shape *s = g->s;
    const real *x = g->x + img * s->c_in * s->h_in * s->w_in;
    if (!g->e.padded) return x;
    const int64_t n_planes = imgs * s->c_in, plane = g->e.hp * g->e.wp;
    real *buf = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_0,
                                         (size_t)(n_planes * plane) * sizeof(real));
    if (buf == NULL) return NULL;
    const FN(pad_args) a = {g, x, buf};
    return pyconv_parallel_for(n_planes, (double)n_planes * (double)plane * PYCONV_WORK_PER_VALUE,
                               n_threads, FN(pad_planes), &a, PYCONV_NO_SCRATCH) == PYCONV_OK ? buf : NULL;
}

void FN(pyconv_gather_pixels)(const FN(pyconv_gather) *g, int64_t q0, int64_t n, int64_t *pix)
{
    const pyconv_conv_shape *s = g->s;
    const int64_t l = s->h_out * s->w_out, image = s->c_in * g->e.hp * g->e.wp;
    int64_t m = q0 / l, oh = q0 % l / s->w_out, ow = q0 % s->w_out;
    /* a run of one output row at a time: a loop without branches, which vectorizes */
    for (int64_t t = 0; t < n;) {
        const int64_t run = PYCONV_MIN(n - t, s->w_out - ow);
        const int64_t row = m * image + oh * s->stride_h * g->e.wp;
        for (int64_t u = 0; u < run; u++) pix[t + u] = row + (ow + u) * s->stride_w;
        t += run;
        ow = 0;
        if (++oh == s->h_out) {
            oh = 0;
            m++;
        }
    }
}
