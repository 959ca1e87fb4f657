/* Max pooling, forward and backward (template; see common/pyconv_instantiate.h).
 *
 * Candidates are the in-bounds taps of a window in row-major order; one replaces the running
 * maximum when it is greater, or NaN while the maximum is not: ties keep the first tap, the
 * first NaN wins (pyconv.reference's rule; PyTorch's CPU kernel keeps the last NaN), and a
 * window of -inf keeps its first in-bounds tap.
 *
 * Forward works one output row at a time, tap by tap: for a fixed tap (i, j) the candidates of
 * all interior output columns sit at a fixed stride in one input row, so the update loop over
 * the row vectorises; the few columns whose window crosses the left/right border take a
 * bounds-checked scalar path. Rows of all planes are one parallel loop, so few planes still
 * keep every thread busy. */

/* y[o] (and best[o]) <- candidate src[o*sw] where it wins, for n interior columns; best holds
 * indices relative to the chunk as int32, so the select runs at the width of float32 values.
 * Forced inline so the callers' constant strides turn the strided loads into shuffles. */
PYCONV_ALWAYS_INLINE void FN(max_tap)(const real *PYCONV_RESTRICT src, int64_t sw, int32_t rel,
                                      real *PYCONV_RESTRICT y, int32_t *PYCONV_RESTRICT best,
                                      int64_t n)
{
    if (best == NULL) {
        for (int64_t o = 0; o < n; o++) {
            real c = src[o * sw], m = y[o];
            y[o] = (c > m || (c != c && m == m)) ? c : m;
        }
    } else {
        const int32_t step = (int32_t)sw;
        for (int32_t o = 0; o < (int32_t)n; o++) {
            real c = src[o * sw], m = y[o];
            int wins = c > m || (c != c && m == m);
            y[o] = wins ? c : m;
            best[o] = wins ? rel + o * step : best[o];
        }
    }
}

static void FN(max_tap_any_stride)(const real *PYCONV_RESTRICT src, int64_t sw, int32_t rel,
                                   real *PYCONV_RESTRICT y, int32_t *PYCONV_RESTRICT best,
                                   int64_t n)
{
    switch (sw) {
    case 1: FN(max_tap)(src, 1, rel, y, best, n); break;
    case 2: FN(max_tap)(src, 2, rel, y, best, n); break;
    default: FN(max_tap)(src, sw, rel, y, best, n); break;
    }
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
            if (c > m || (c != c && m == m)) {
                m = c;
                best = at;
            }
        }
    }
    y[ow] = m;
    if (ind != NULL) ind[ow] = best;
}

/* Output row oh of one plane: x is the plane, y / ind (ind may be NULL) the output row. */
static void FN(maxpool_row)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT x,
                            real *PYCONV_RESTRICT y, int64_t *PYCONV_RESTRICT ind, int64_t oh)
{
    const int64_t sw = s->stride_w, pw = s->pad_w;
    const int64_t h_start = oh * s->stride_h - s->pad_h;
    int64_t i0, i1, lo, hi;
    pool_taps_in_bounds(h_start, s->kh, s->dil_h, s->h_in, &i0, &i1);
    pool_interior(s->w_out, s->kw, sw, pw, s->dil_w, s->w_in, &lo, &hi);
    if (ind != NULL && (s->kh - 1) * s->dil_h * s->w_in + (s->kw - 1) * s->dil_w
                           + POOL_CHUNK * sw > INT32_MAX)
        lo = hi = s->w_out; /* relative indices would overflow int32: all columns scalar */
    for (int64_t ow = 0; ow < lo; ow++) FN(max_window)(s, x, i0, i1, h_start, ow, y, ind);
    for (int64_t ow = hi; ow < s->w_out; ow++) FN(max_window)(s, x, i0, i1, h_start, ow, y, ind);
    if (lo == hi) return;

    /* Interior columns in chunks, indices relative to the chunk's first candidate. */
    const int64_t first_row = (h_start + i0 * s->dil_h) * s->w_in - pw;
    int32_t best[POOL_CHUNK];
    for (int64_t c0 = lo; c0 < hi; c0 += POOL_CHUNK) {
        const int64_t n = PYCONV_MIN(POOL_CHUNK, hi - c0), base = first_row + c0 * sw;
        for (int64_t o = 0; o < n; o++) y[c0 + o] = -(real)INFINITY;
        if (ind != NULL)
            for (int64_t o = 0; o < n; o++) best[o] = (int32_t)(o * sw); /* tap (i0, 0) */
        for (int64_t i = i0; i < i1; i++) {
            for (int64_t j = 0; j < s->kw; j++) {
                const int64_t rel = (i - i0) * s->dil_h * s->w_in + j * s->dil_w;
                FN(max_tap_any_stride)(x + base + rel, sw, (int32_t)rel, y + c0,
                                       ind ? best : NULL, n);
            }
        }
        if (ind != NULL)
            for (int64_t o = 0; o < n; o++) ind[c0 + o] = base + best[o];
    }
}

pyconv_status FN(pyconv_maxpool2d)(const pyconv_pool_shape *s, const real *x, real *y,
                                   int64_t *indices, int n_threads)
{
    const int64_t rows = s->n_planes * s->h_out, plane = s->h_in * s->w_in;
    if (s->w_out <= 0) return PYCONV_OK;
    int64_t r;
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (r = 0; r < rows; r++) {
        const int64_t p = r / s->h_out, oh = r - p * s->h_out;
        FN(maxpool_row)(s, x + p * plane, y + r * s->w_out,
                        indices ? indices + r * s->w_out : NULL, oh);
    }
    return PYCONV_OK;
}

/* Scatter-add, one plane per iteration: every index of a plane lands in that plane only, so
 * planes are independent, and within a plane the additions run in output order whatever the
 * thread count (deterministic with overlapping windows). */
pyconv_status FN(pyconv_maxpool2d_backward)(const pyconv_pool_shape *s, const real *gy,
                                            const int64_t *indices, real *gx, int n_threads)
{
    const int64_t plane = s->h_in * s->w_in, out_plane = s->h_out * s->w_out;
    int bad = 0;
    int64_t p;
#pragma omp parallel for num_threads(n_threads) schedule(static) reduction(| : bad)
    for (p = 0; p < s->n_planes; p++) {
        real *PYCONV_RESTRICT g = gx + p * plane;
        const real *PYCONV_RESTRICT go = gy + p * out_plane;
        const int64_t *PYCONV_RESTRICT ind = indices + p * out_plane;
        memset(g, 0, (size_t)plane * sizeof(real));
        for (int64_t o = 0; o < out_plane; o++) {
            const int64_t at = ind[o];
            if ((uint64_t)at >= (uint64_t)plane) {
                bad = 1;
                break;
            }
            g[at] += go[o];
        }
    }
    return bad ? PYCONV_ERR_INDEX : PYCONV_OK;
}
