/* Average pooling, forward and backward (template; see common/pyconv_instantiate.h).
 *
 * PyTorch's rule: a window's divisor is divisor_override when given (nonzero), else its size
 * clipped to the padded input (count_include_pad) or to the input itself. Sums run over taps in
 * row-major order, as PyTorch's. Forward goes one output row at a time, tap by tap, with a
 * vectorisable loop over the interior columns (as max pooling); backward is a gather over input
 * rows, so each thread owns the rows it writes and the result does not depend on the thread
 * count. */

/* Divisor of a window whose in-bounds taps are rows_in x cols_in and whose padded extent is
 * rows_pad x cols_pad. In double: the padded extent of a huge kernel (2**40 x 2**40, say)
 * overflows int64. */
PYCONV_INLINE double FN(avg_divisor)(int64_t rows_in, int64_t cols_in, int64_t rows_pad,
                                     int64_t cols_pad, int count_include_pad,
                                     int64_t divisor_override)
{
    if (divisor_override != 0) return (double)divisor_override;
    return count_include_pad ? (double)rows_pad * (double)cols_pad
                             : (double)rows_in * (double)cols_in;
}

/* Extent of the window starting at `start` clipped to the padded axis [-pad, size + pad). */
PYCONV_INLINE int64_t FN(padded_extent)(int64_t start, int64_t k, int64_t size, int64_t pad)
{
    return PYCONV_MIN(start + k, size + pad) - start;
}

PYCONV_ALWAYS_INLINE void FN(sum_tap)(const real *PYCONV_RESTRICT src, int64_t sw,
                                      real *PYCONV_RESTRICT y, int64_t n)
{
    for (int64_t o = 0; o < n; o++) y[o] += src[o * sw];
}

PYCONV_SIMD_CLONES static void FN(sum_tap_any_stride)(const real *PYCONV_RESTRICT src, int64_t sw,
                                   real *PYCONV_RESTRICT y, int64_t n)
{
    switch (sw) {
    case 1: FN(sum_tap)(src, 1, y, n); break;
    case 2: FN(sum_tap)(src, 2, y, n); break;
    default: FN(sum_tap)(src, sw, y, n); break;
    }
}

/* One output column whose window may reach into the padding: scalar, bounds-checked. */
static real FN(avg_window)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT x,
                           int64_t i0, int64_t i1, int64_t h_start, int64_t rows_pad, int64_t ow,
                           int count_include_pad, int64_t divisor_override)
{
    const int64_t w_start = ow * s->stride_w - s->pad_w;
    int64_t j0, j1;
    pool_taps_in_bounds(w_start, s->kw, 1, s->w_in, &j0, &j1);
    real sum = 0;
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) sum += x[(h_start + i) * s->w_in + w_start + j];
    return sum / (real)FN(avg_divisor)(i1 - i0, j1 - j0, rows_pad,
                                       FN(padded_extent)(w_start, s->kw, s->w_in, s->pad_w),
                                       count_include_pad, divisor_override);
}

/* Output row oh of one plane; columns [lo, hi) are the interior (see pool_interior). */
static void FN(avgpool_row)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT x,
                            real *PYCONV_RESTRICT y, int64_t oh, int64_t lo, int64_t hi,
                            int count_include_pad, int64_t divisor_override)
{
    const int64_t sw = s->stride_w, pw = s->pad_w, kw = s->kw;
    const int64_t h_start = oh * s->stride_h - s->pad_h;
    const int64_t rows_pad = FN(padded_extent)(h_start, s->kh, s->h_in, s->pad_h);
    int64_t i0, i1;
    pool_taps_in_bounds(h_start, s->kh, 1, s->h_in, &i0, &i1);
    for (int64_t ow = 0; ow < lo; ow++)
        y[ow] = FN(avg_window)(s, x, i0, i1, h_start, rows_pad, ow, count_include_pad,
                               divisor_override);
    for (int64_t ow = hi; ow < s->w_out; ow++)
        y[ow] = FN(avg_window)(s, x, i0, i1, h_start, rows_pad, ow, count_include_pad,
                               divisor_override);
    if (lo == hi) return;
    const real divisor = (real)FN(avg_divisor)(i1 - i0, kw, rows_pad, kw, count_include_pad,
                                               divisor_override);
    if (hi - lo < 4) {
        /* a few wide windows (a global pool): one sum per window, rather than a vector pass
         * of a few columns per tap; vector lanes of partial sums along each row, or along the
         * whole window when it spans whole rows (one run), not one chain of dependent adds */
        const int64_t run = kw == s->w_in ? (i1 - i0) * kw : kw, runs = kw == s->w_in ? 1 : i1 - i0;
        for (int64_t ow = lo; ow < hi; ow++) {
            const real *first = x + (h_start + i0) * s->w_in + ow * sw - pw;
            real sum = 0;
            for (int64_t i = 0; i < runs; i++) {
                const real *row = first + i * s->w_in;
                #pragma omp simd reduction(+:sum)
                for (int64_t j = 0; j < run; j++) sum += row[j];
            }
            y[ow] = sum / divisor;
        }
        return;
    }
    for (int64_t ow = lo; ow < hi; ow++) y[ow] = 0;
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = 0; j < kw; j++)
            FN(sum_tap_any_stride)(x + (h_start + i) * s->w_in + j - pw + lo * sw, sw, y + lo,
                                   hi - lo);
    for (int64_t ow = lo; ow < hi; ow++) y[ow] /= divisor;
}

/* The arguments of a pooling pass, forward or backward. */
typedef struct {
    const pyconv_pool_shape *s;
    const real *src;
    real *dst;
    int64_t lo, hi;  /* the interior output columns */
    int count_include_pad;
    int64_t divisor_override;
} FN(avgpool_args);

/* Output rows [lo, hi) of all planes, row r = plane r / h_out, row r % h_out. */
static pyconv_status FN(avgpool_rows)(const void *ctx, int64_t lo, int64_t hi,
                                      const pyconv_thread *th)
{
    const FN(avgpool_args) *a = (const FN(avgpool_args) *)ctx;
    const pyconv_pool_shape *s = a->s;
    (void)th;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t p = r / s->h_out, oh = r % s->h_out;
        FN(avgpool_row)(s, a->src + p * s->h_in * s->w_in, a->dst + r * s->w_out, oh, a->lo,
                        a->hi, a->count_include_pad, a->divisor_override);
    }
    return PYCONV_OK;
}

/* Output planes [lo, hi) of a global pool (one unpadded window spanning each plane, a 1x1
 * output): each plane's values summed in vector lanes, one division. Through avgpool_row's
 * window bookkeeping, in its baseline (not AVX2) build, ResNet-50's 2048-plane pool took 1.4x
 * ONNX Runtime's time. */
PYCONV_SIMD_CLONES static pyconv_status FN(avgpool_global)(const void *ctx, int64_t lo, int64_t hi,
                                                           const pyconv_thread *th)
{
    const FN(avgpool_args) *a = (const FN(avgpool_args) *)ctx;
    const pyconv_pool_shape *s = a->s;
    const int64_t n = s->h_in * s->w_in;
    const real divisor = (real)FN(avg_divisor)(s->kh, s->kw, s->kh, s->kw, 1, a->divisor_override);
    (void)th;
    for (int64_t p = lo; p < hi; p++) {
        const real *PYCONV_RESTRICT x = a->src + p * n;
        real sum = 0;
        #pragma omp simd reduction(+:sum)
        for (int64_t t = 0; t < n; t++) sum += x[t];
        a->dst[p] = sum / divisor;
    }
    return PYCONV_OK;
}

/* Whether s is a global pool: one unpadded window covering each plane (forward and backward
 * take their own loops). */
static int FN(avg_is_global)(const pyconv_pool_shape *s)
{
    return s->kh == s->h_in && s->kw == s->w_in && s->pad_h == 0 && s->pad_w == 0 &&
           s->h_out == 1 && s->w_out == 1;
}

/* Values a pooling pass touches, the work measure of both directions. */
static double FN(avgpool_work)(const pyconv_pool_shape *s)
{
    return (double)s->n_planes * (double)(s->h_out * s->w_out) * (double)(s->kh * s->kw) *
           PYCONV_WORK_PER_VALUE;
}

pyconv_status FN(pyconv_avgpool2d)(const pyconv_pool_shape *s, const real *x, real *y,
                                   int count_include_pad, int64_t divisor_override,
                                   int n_threads)
{
    if (pyconv_pool_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1) return PYCONV_ERR_ARG;
    FN(avgpool_args) a = {s, x, y, 0, 0, count_include_pad, divisor_override};
    pool_interior(s->w_out, s->kw, s->stride_w, s->pad_w, 1, s->w_in, &a.lo, &a.hi);
    return pyconv_parallel_for(s->n_planes * s->h_out, FN(avgpool_work)(s), n_threads,
                               FN(avg_is_global)(s) ? FN(avgpool_global) : FN(avgpool_rows), &a,
                               PYCONV_NO_SCRATCH);
}

PYCONV_ALWAYS_INLINE void FN(spread_tap)(const real *PYCONV_RESTRICT share, int64_t sw,
                                         real *PYCONV_RESTRICT dst, int64_t n)
{
    for (int64_t o = 0; o < n; o++) dst[o * sw] += share[o];
}

PYCONV_SIMD_CLONES static void FN(spread_tap_any_stride)(const real *PYCONV_RESTRICT share,
                                                         int64_t sw, real *PYCONV_RESTRICT dst,
                                                         int64_t n)
{
    switch (sw) {
    case 1: FN(spread_tap)(share, 1, dst, n); break;
    case 2: FN(spread_tap)(share, 2, dst, n); break;
    default: FN(spread_tap)(share, sw, dst, n); break;
    }
}

/* gx_row[w_start + j] += g / divisor for the in-bounds taps j of output column ow. */
static void FN(avg_spread_window)(const pyconv_pool_shape *s, real g, int64_t ow,
                                  int64_t rows_in, int64_t rows_pad, int count_include_pad,
                                  int64_t divisor_override, real *PYCONV_RESTRICT gx_row)
{
    const int64_t w_start = ow * s->stride_w - s->pad_w;
    int64_t j0, j1;
    pool_taps_in_bounds(w_start, s->kw, 1, s->w_in, &j0, &j1);
    const real v = g / (real)FN(avg_divisor)(rows_in, j1 - j0, rows_pad,
                                             FN(padded_extent)(w_start, s->kw, s->w_in, s->pad_w),
                                             count_include_pad, divisor_override);
    for (int64_t j = j0; j < j1; j++) gx_row[w_start + j] += v;
}

/* Input row h of one plane: gx_row <- sum over the windows covering it, in (oh, ow) order.
 * Interior columns [lo, hi) share one divisor per output row. */
static void FN(avgpool_backward_row)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT gy,
                                     real *PYCONV_RESTRICT gx_row, int64_t h, int64_t lo,
                                     int64_t hi, int count_include_pad, int64_t divisor_override)
{
    const int64_t sh = s->stride_h, sw = s->stride_w, kw = s->kw;
    const int64_t first = h + s->pad_h - s->kh + 1; /* oh * sh must reach it */
    const int64_t oh_lo = first <= 0 ? 0 : (first + sh - 1) / sh;
    const int64_t oh_hi = PYCONV_MIN(s->h_out - 1, (h + s->pad_h) / sh);
    memset(gx_row, 0, (size_t)s->w_in * sizeof(real));
    for (int64_t oh = oh_lo; oh <= oh_hi; oh++) {
        const int64_t h_start = oh * sh - s->pad_h;
        const int64_t rows_pad = FN(padded_extent)(h_start, s->kh, s->h_in, s->pad_h);
        int64_t i0, i1;
        pool_taps_in_bounds(h_start, s->kh, 1, s->h_in, &i0, &i1);
        const real *PYCONV_RESTRICT g = gy + oh * s->w_out;
        for (int64_t ow = 0; ow < lo; ow++)
            FN(avg_spread_window)(s, g[ow], ow, i1 - i0, rows_pad, count_include_pad,
                                  divisor_override, gx_row);
        const real d = (real)FN(avg_divisor)(i1 - i0, kw, rows_pad, kw, count_include_pad,
                                             divisor_override);
        real share[POOL_CHUNK];
        for (int64_t c0 = lo; c0 < hi; c0 += POOL_CHUNK) {
            const int64_t n = PYCONV_MIN(POOL_CHUNK, hi - c0);
            for (int64_t o = 0; o < n; o++) share[o] = g[c0 + o] / d;
            /* tap by tap: within one tap the columns hit distinct elements, so the adds do
             * not wait on each other */
            for (int64_t j = 0; j < kw; j++)
                FN(spread_tap_any_stride)(share, sw, gx_row + c0 * sw - s->pad_w + j, n);
        }
        for (int64_t ow = hi; ow < s->w_out; ow++)
            FN(avg_spread_window)(s, g[ow], ow, i1 - i0, rows_pad, count_include_pad,
                                  divisor_override, gx_row);
    }
}

/* Whether the windows lie side by side inside the input (stride = kernel, no padding, none
 * past the edge): each input value is then in at most one window, whose share it takes. A
 * global average pool is one such window per plane. */
static int FN(avg_windows_tile)(const pyconv_pool_shape *s)
{
    return s->stride_h == s->kh && s->stride_w == s->kw && s->pad_h == 0 && s->pad_w == 0 &&
           s->h_out * s->kh <= s->h_in && s->w_out * s->kw <= s->w_in;
}

/* Input row h of one plane when the windows tile (avg_windows_tile): its window row's shares,
 * each over its kw columns, zeros past the last window. */
static void FN(avgpool_backward_tiled_row)(const pyconv_pool_shape *s, const real *PYCONV_RESTRICT gy,
                                           real *PYCONV_RESTRICT gx_row, int64_t oh, real divisor)
{
    const int64_t windows = oh < s->h_out ? s->w_out : 0;
    for (int64_t ow = 0; ow < windows; ow++) {
        const real v = gy[oh * s->w_out + ow] / divisor;
        for (int64_t j = 0; j < s->kw; j++) gx_row[ow * s->kw + j] = v;
    }
    for (int64_t w = windows * s->kw; w < s->w_in; w++) gx_row[w] = 0;
}

/* Input-gradient rows [lo, hi) of all planes under a global pool (avg_is_global): the plane's
 * share, one division, fills its rows in one vector loop. Row by row, a division and a short
 * scalar loop per row took three quarters of a network's global pool backward. */
PYCONV_SIMD_CLONES static pyconv_status FN(avgpool_backward_global)(const void *ctx, int64_t lo,
                                                                    int64_t hi,
                                                                    const pyconv_thread *th)
{
    const FN(avgpool_args) *a = (const FN(avgpool_args) *)ctx;
    const pyconv_pool_shape *s = a->s;
    const real divisor = (real)FN(avg_divisor)(s->kh, s->kw, s->kh, s->kw, 1, a->divisor_override);
    (void)th;
    for (int64_t r = lo; r < hi;) {
        const int64_t p = r / s->h_in, end = PYCONV_MIN(hi, (p + 1) * s->h_in);
        const real v = a->src[p] / divisor;
        real *PYCONV_RESTRICT dst = a->dst + r * s->w_in;
        const int64_t n = (end - r) * s->w_in;
        for (int64_t t = 0; t < n; t++) dst[t] = v;
        r = end;
    }
    return PYCONV_OK;
}

/* Input-gradient rows [lo, hi) of all planes, row r = plane r / h_in, row r % h_in. */
static pyconv_status FN(avgpool_backward_rows)(const void *ctx, int64_t lo, int64_t hi,
                                               const pyconv_thread *th)
{
    const FN(avgpool_args) *a = (const FN(avgpool_args) *)ctx;
    const pyconv_pool_shape *s = a->s;
    const int tiled = FN(avg_windows_tile)(s);
    const real divisor = (real)FN(avg_divisor)(s->kh, s->kw, s->kh, s->kw, 1, a->divisor_override);
    (void)th;
    /* plane p, row h of row r, and h's window row h / kh, stepped (not divided out per row:
     * small planes have many) */
    int64_t p = lo / s->h_in, h = lo % s->h_in, oh = h / s->kh, in_window = h % s->kh;
    for (int64_t r = lo; r < hi; r++) {
        const real *gy = a->src + p * s->h_out * s->w_out;
        if (tiled)
            FN(avgpool_backward_tiled_row)(s, gy, a->dst + r * s->w_in, oh, divisor);
        else
            FN(avgpool_backward_row)(s, gy, a->dst + r * s->w_in, h, a->lo, a->hi,
                                     a->count_include_pad, a->divisor_override);
        if (++in_window == s->kh) {
            in_window = 0;
            oh++;
        }
        if (++h == s->h_in) {
            h = in_window = oh = 0;
            p++;
        }
    }
    return PYCONV_OK;
}

pyconv_status FN(pyconv_avgpool2d_backward)(const pyconv_pool_shape *s, const real *gy,
                                            real *gx, int count_include_pad,
                                            int64_t divisor_override, int n_threads)
{
    if (pyconv_pool_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1) return PYCONV_ERR_ARG;
    FN(avgpool_args) a = {s, gy, gx, 0, 0, count_include_pad, divisor_override};
    pool_interior(s->w_out, s->kw, s->stride_w, s->pad_w, 1, s->w_in, &a.lo, &a.hi);
    return pyconv_parallel_for(s->n_planes * s->h_in, FN(avgpool_work)(s), n_threads,
                               FN(avg_is_global)(s) ? FN(avgpool_backward_global)
                                                    : FN(avgpool_backward_rows), &a,
                               PYCONV_NO_SCRATCH);
}
