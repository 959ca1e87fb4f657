/* Max pooling, forward and backward (template; see common/pyconv_instantiate.h).
 *
 * Candidates are the in-bounds taps of a window in row-major order; one replaces the running
 * maximum when it is greater, or NaN while the maximum is not: ties keep the first tap, the
 * first NaN wins (pyconv.reference's rule; PyTorch's CPU kernel keeps the last NaN), and a
 * window of -inf keeps its first in-bounds tap.
 *
 * Forward works one output row at a time and vectorises over its interior columns: for a fixed
 * tap (i, j) their candidates sit at a fixed stride in one input row. The common windows
 * (2x2 stride 2, 3x3 stride 1 or 2) take all taps in one unrolled pass; others go tap by tap
 * (stride 1 and 2 as compile-time constants; an AVX2 clone where the CPU has it). The few
 * columns whose window crosses the left/right border take a bounds-checked scalar path. Rows
 * of all planes are one parallel loop, so few planes still keep every thread busy. */

/* Whether candidate c replaces the running maximum m: c > m, or c is NaN while m is not. */
PYCONV_ALWAYS_INLINE int FN(max_wins)(real c, real m)
{
    return c > m || (c != c && m == m);
}

/* y[o] (and best[o]) <- candidate src[o*sw] where it wins, for o < n; best holds indices
 * relative to the chunk as int32, so the select runs at the width of float32 values. */
PYCONV_ALWAYS_INLINE void FN(max_tap)(const real *PYCONV_RESTRICT src, int64_t sw, int32_t rel,
                                       real *PYCONV_RESTRICT y, int32_t *PYCONV_RESTRICT best,
                                       int64_t n)
{
    if (best == NULL) {
        for (int64_t o = 0; o < n; o++) {
            real c = src[o * sw], m = y[o];
            y[o] = FN(max_wins)(c, m) ? c : m;
        }
    } else {
        const int32_t step = (int32_t)sw;
        for (int32_t o = 0; o < (int32_t)n; o++) {
            real c = src[o * sw], m = y[o];
            int wins = FN(max_wins)(c, m);
            y[o] = wins ? c : m;
            best[o] = wins ? rel + o * step : best[o];
        }
    }
}

/* n interior columns, all taps of rows [0, rows) of the window: x points at the first
 * candidate (tap (0, 0)) of the chunk's first column, which starts the running maximum. Forced
 * inline so the constant strides of the callers below turn strided loads into shuffles. */
PYCONV_ALWAYS_INLINE void FN(max_chunk)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT x,
                                        int64_t sw, int64_t rows, real *PYCONV_RESTRICT y,
                                        int32_t *PYCONV_RESTRICT best, int64_t n)
{
    for (int64_t o = 0; o < n; o++) y[o] = x[o * sw];
    if (best != NULL)
        for (int32_t o = 0; o < (int32_t)n; o++) best[o] = o * (int32_t)sw;
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t j = i == 0; j < s->kw; j++) {
            const int64_t rel = i * s->dil_h * s->w_in + j * s->dil_w;
            FN(max_tap)(x + rel, sw, (int32_t)rel, y, best, n);
        }
    }
}

/* The same for a whole kh x kw window of adjacent taps (dilation 1) with kh, kw and sw
 * constants at the call: one pass over the columns, all taps unrolled, so the running maximum
 * and its index stay in registers. */
PYCONV_ALWAYS_INLINE void FN(max_chunk_fused)(const real *PYCONV_RESTRICT x, int64_t w_in,
                                              int64_t kh, int64_t kw, int64_t sw,
                                              real *PYCONV_RESTRICT y,
                                              int32_t *PYCONV_RESTRICT best, int64_t n)
{
    if (best == NULL) {
        for (int64_t o = 0; o < n; o++) {
            real m = x[o * sw];
            for (int64_t i = 0; i < kh; i++) {
                for (int64_t j = 0; j < kw; j++) { /* tap (0, 0) again: harmless */
                    real c = x[i * w_in + j + o * sw];
                    m = FN(max_wins)(c, m) ? c : m;
                }
            }
            y[o] = m;
        }
    } else {
        for (int32_t o = 0; o < (int32_t)n; o++) {
            real m = x[o * sw];
            int32_t b = o * (int32_t)sw;
            for (int64_t i = 0; i < kh; i++) {
                for (int64_t j = 0; j < kw; j++) {
                    real c = x[i * w_in + j + o * sw];
                    int wins = FN(max_wins)(c, m);
                    m = wins ? c : m;
                    b = wins ? (int32_t)(i * w_in + j) + o * (int32_t)sw : b;
                }
            }
            y[o] = m;
            best[o] = b;
        }
    }
}

/* Fused loops for the common windows (2x2 stride 2, 3x3 stride 1 or 2, no dilation), with
 * every window row in bounds; tap by tap otherwise. */
PYCONV_ALWAYS_INLINE void FN(max_chunk_dispatch)(const pyconv_pool_shape *s,
                                                 const real *PYCONV_RESTRICT x, int64_t rows,
                                                 real *PYCONV_RESTRICT y,
                                                 int32_t *PYCONV_RESTRICT best, int64_t n)
{
    const int64_t W = s->w_in;
    if (rows == s->kh && s->dil_h == 1 && s->dil_w == 1) {
        if (s->kh == 2 && s->kw == 2 && s->stride_w == 2) {
            FN(max_chunk_fused)(x, W, 2, 2, 2, y, best, n);
            return;
        }
        if (s->kh == 3 && s->kw == 3 && s->stride_w == 2) {
            FN(max_chunk_fused)(x, W, 3, 3, 2, y, best, n);
            return;
        }
        if (s->kh == 3 && s->kw == 3 && s->stride_w == 1) {
            FN(max_chunk_fused)(x, W, 3, 3, 1, y, best, n);
            return;
        }
    }
    switch (s->stride_w) {
    case 1: FN(max_chunk)(s, x, 1, rows, y, best, n); break;
    case 2: FN(max_chunk)(s, x, 2, rows, y, best, n); break;
    default: FN(max_chunk)(s, x, s->stride_w, rows, y, best, n); break;
    }
}

/* Columns per block in max_interior_chunk's 2x2 path: one constant width, so each block is
 * straight vector code with no scalar remainder loop (LeNet-5's rows are 14 outputs long). */
#define POOL_BLOCK 8

/* n <= POOL_CHUNK interior columns: x at the first candidate of the first column, base its
 * index in the plane; ind may be NULL. The 2x2 stride-2 window goes in blocks of POOL_BLOCK
 * columns, the last block overlapping its predecessor (recomputing a column gives the same
 * value and index); the 3x3 windows ran slower in such blocks (ResNet pool 7 -> 13-20 ms), so
 * they keep one pass over the chunk. The one function with an AVX2 clone: everything above is inlined into it. */
PYCONV_SIMD_CLONES static void FN(max_interior_chunk)(
    const pyconv_pool_shape *s, const real *PYCONV_RESTRICT x, int64_t rows,
    real *PYCONV_RESTRICT y, int64_t *PYCONV_RESTRICT ind, int64_t base, int64_t n)
{
    int32_t best[POOL_CHUNK];
    if (n >= POOL_BLOCK && rows == 2 && s->kh == 2 && s->kw == 2 && s->stride_w == 2 &&
        s->dil_h == 1 && s->dil_w == 1) {
        for (int64_t o = 0;; o += POOL_BLOCK) {
            o = PYCONV_MIN(o, n - POOL_BLOCK);
            FN(max_chunk_fused)(x + 2 * o, s->w_in, 2, 2, 2, y + o, ind ? best : NULL, POOL_BLOCK);
            if (ind != NULL)
                for (int64_t t = 0; t < POOL_BLOCK; t++) ind[o + t] = base + 2 * o + best[t];
            if (o == n - POOL_BLOCK) return;
        }
    }
    FN(max_chunk_dispatch)(s, x, rows, y, ind ? best : NULL, n);
    if (ind != NULL)
        for (int64_t o = 0; o < n; o++) ind[o] = base + best[o];
}

/* One output column whose window may reach into the padding: scalar, bounds-checked. */
static void FN(max_window)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT x,
                           int64_t i0, int64_t i1, int64_t h_start, int64_t ow,
                           real *PYCONV_RESTRICT y, int64_t *PYCONV_RESTRICT ind)
{
    const int64_t w_start = ow * s->stride_w - s->pad_w;
    int64_t j0, j1;
    pool_taps_in_bounds(w_start, s->kw, s->dil_w, s->w_in, &j0, &j1);
    real m = -(real)INFINITY;
    int64_t best = (h_start + i0 * s->dil_h) * s->w_in + w_start + j0 * s->dil_w;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t row = (h_start + i * s->dil_h) * s->w_in;
        for (int64_t j = j0; j < j1; j++) {
            const int64_t at = row + w_start + j * s->dil_w;
            real c = x[at];
            if (FN(max_wins)(c, m)) {
                m = c;
                best = at;
            }
        }
    }
    y[ow] = m;
    if (ind != NULL) ind[ow] = best;
}

/* Output row oh of one plane: x is the plane, y / ind (ind may be NULL) the output row, columns
 * [lo, hi) the interior (see pool_interior). */
static void FN(maxpool_row)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT x,
                            real *PYCONV_RESTRICT y, int64_t *PYCONV_RESTRICT ind, int64_t oh,
                            int64_t lo, int64_t hi)
{
    const int64_t h_start = oh * s->stride_h - s->pad_h;
    int64_t i0, i1;
    pool_taps_in_bounds(h_start, s->kh, s->dil_h, s->h_in, &i0, &i1);
    for (int64_t ow = 0; ow < lo; ow++) FN(max_window)(s, x, i0, i1, h_start, ow, y, ind);
    for (int64_t ow = hi; ow < s->w_out; ow++) FN(max_window)(s, x, i0, i1, h_start, ow, y, ind);
    if (i0 == i1) return; /* no row in bounds (rejected in Python): nothing to read */

    const int64_t first_row = (h_start + i0 * s->dil_h) * s->w_in - s->pad_w;
    for (int64_t c0 = lo; c0 < hi; c0 += POOL_CHUNK) {
        const int64_t base = first_row + c0 * s->stride_w;
        FN(max_interior_chunk)(s, x + base, i1 - i0, y + c0, ind ? ind + c0 : NULL, base,
                                 PYCONV_MIN(POOL_CHUNK, hi - c0));
    }
}

/* The arguments of max pooling, forward or backward. */
typedef struct {
    const pyconv_pool_shape *s;
    const real *src;
    real *dst;
    int64_t *indices;            /* forward: written unless NULL */
    const int64_t *in_indices;   /* backward: read */
    int64_t lo, hi;              /* forward: the vectorised interior output columns */
} FN(maxpool_args);

/* Output rows [lo, hi) of all planes, row r = plane r / h_out, row r % h_out. */
static pyconv_status FN(maxpool_rows)(const void *ctx, int64_t lo, int64_t hi,
                                      const pyconv_thread *th)
{
    const FN(maxpool_args) *a = (const FN(maxpool_args) *)ctx;
    const pyconv_pool_shape *s = a->s;
    (void)th;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t p = r / s->h_out, oh = r % s->h_out, at = r * s->w_out;
        FN(maxpool_row)(s, a->src + p * s->h_in * s->w_in, a->dst + at,
                        a->indices ? a->indices + at : NULL, oh, a->lo, a->hi);
    }
    return PYCONV_OK;
}

pyconv_status FN(pyconv_maxpool2d)(const pyconv_pool_shape *s, const real *x, real *y,
                                   int64_t *indices, int n_threads)
{
    if (pyconv_pool_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1) return PYCONV_ERR_ARG;
    FN(maxpool_args) a = {s, x, y, indices, NULL, 0, 0};
    pool_interior(s->w_out, s->kw, s->stride_w, s->pad_w, s->dil_w, s->w_in, &a.lo, &a.hi);
    if (indices != NULL && (s->kh - 1) * s->dil_h * s->w_in + (s->kw - 1) * s->dil_w
                               + POOL_CHUNK * s->stride_w > INT32_MAX)
        a.lo = a.hi = s->w_out; /* chunk-relative indices would overflow int32: all columns scalar */
    return pyconv_parallel_for(s->n_planes * s->h_out,
                               (double)s->n_planes * (double)(s->h_out * s->w_out) *
                                   (double)(s->kh * s->kw) * PYCONV_WORK_PER_VALUE,
                               n_threads, FN(maxpool_rows), &a, PYCONV_NO_SCRATCH);
}

/* Scatter-add of planes [lo, hi): every index of a plane lands in that plane only, so planes
 * are independent, and within a plane the additions run in output order whatever the thread
 * count (deterministic with overlapping windows). */
static pyconv_status FN(maxpool_backward_planes)(const void *ctx, int64_t lo, int64_t hi,
                                                 const pyconv_thread *th)
{
    const FN(maxpool_args) *a = (const FN(maxpool_args) *)ctx;
    const int64_t plane = a->s->h_in * a->s->w_in, out_plane = a->s->h_out * a->s->w_out;
    (void)th;
    for (int64_t p = lo; p < hi; p++) {
        real *PYCONV_RESTRICT g = a->dst + p * plane;
        const real *PYCONV_RESTRICT go = a->src + p * out_plane;
        const int64_t *PYCONV_RESTRICT ind = a->in_indices + p * out_plane;
        memset(g, 0, (size_t)plane * sizeof(real));
        for (int64_t o = 0; o < out_plane; o++) {
            const int64_t at = ind[o];
            if ((uint64_t)at >= (uint64_t)plane) return PYCONV_ERR_INDEX;
            g[at] += go[o];
        }
    }
    return PYCONV_OK;
}

pyconv_status FN(pyconv_maxpool2d_backward)(const pyconv_pool_shape *s, const real *gy,
                                            const int64_t *indices, real *gx, int n_threads)
{
    if (pyconv_pool_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1) return PYCONV_ERR_ARG;
    const FN(maxpool_args) a = {s, gy, gx, NULL, indices, 0, 0};
    return pyconv_parallel_for(s->n_planes,
                               (double)s->n_planes * (double)(s->h_in * s->w_in + s->h_out * s->w_out) *
                                   PYCONV_WORK_PER_VALUE,
                               n_threads, FN(maxpool_backward_planes), &a, PYCONV_NO_SCRATCH);
}
