/* Depthwise convolution template (groups == c_in == c_out): forward with bias, input
 * gradient, weight gradient; instantiated by depthwise.c.
 *
 * Each (image, channel) plane is first copied into a zero-padded buffer of the thread
 * (pyconv_dw_layout), so no loop tests bounds: every output is the same list of taps, each tap
 * an offset into the buffer. The padding positions are the same for every plane of a call, so
 * a thread zeroes its buffer once and each copy only overwrites the values. A tile of R output
 * rows x B columns keeps its sums in registers across all taps and is stored once; B is a
 * multiple of a 256-bit vector, and narrow planes take more rows per tile, so every tile has
 * eight independent vector sums (the multiply-add latency times its throughput).
 *
 * Strided reads are made contiguous by splitting the buffer's columns by phase (column c goes
 * to row c % stride). The strided input gradient is split the other way round: the positions
 * ih = ih0 + k*sh, iw = iw0 + q*sw of one phase (ih0, iw0) each sum the same taps (those whose
 * output lands on the stride's grid) over a contiguous stretch of grad_output, so each phase
 * is again a list of offsets into a padded copy of grad_output, with no multiply by zero.
 *
 * The weight gradient keeps one vector of sums per tap across every row, column block and
 * image of its channel, reduced once at the end; one thread owns a channel and sums its images
 * in order, so the result does not depend on the thread count. Denormals are flushed to zero
 * inside (common/ftz.h). */

#if defined(__GNUC__)
typedef real FN(dw_vec) __attribute__((vector_size(PYCONV_DW_BYTES), aligned(sizeof(real))));
#else
typedef real FN(dw_vec);
#endif

/* dst[r*dst_row + t*dst_col] = init + sum over k < n_taps of wt[k] * src[r*row_step + off[k] + t]
 * for r < nr <= R, t < nc <= V vectors. R and V are constants at every call (R * V =
 * PYCONV_DW_TILE_VECTORS), so the sums stay in registers across the taps. Rows whose whole
 * vectors end within the `room` elements from dst are stored whole even when nc is shorter:
 * their excess lands on the rows after them, which are stored later (see dw_tiles_of). */
PYCONV_ALWAYS_INLINE void FN(dw_tile)(const real *src, int64_t row_step, const int64_t *off,
                                      const real *wt, int64_t n_taps, real init, real *dst,
                                      int64_t dst_row, int64_t dst_col, int64_t nr, int64_t nc,
                                      int64_t room, int R, int V)
{
    typedef FN(dw_vec) vec;
    enum { L = PYCONV_DW_LANES };
    const vec zero = {0};
    vec acc[PYCONV_DW_TILE_VECTORS];
    for (int e = 0; e < R * V; e++) acc[e] = zero + init;
    for (int64_t k = 0; k < n_taps; k++) {
        const real wv = wt[k];
        const real *s = src + off[k];
        for (int r = 0; r < R; r++)
            for (int v = 0; v < V; v++) acc[r * V + v] += wv * *(const vec *)(s + r * row_step + v * L);
    }
    for (int r = 0; r < R && r < nr; r++) {
        if (dst_col == 1 && (nc == V * L || r * dst_row + V * L <= room)) {
            for (int v = 0; v < V; v++) *(vec *)(dst + r * dst_row + v * L) = acc[r * V + v];
        } else {
            real row[PYCONV_DW_TILE_VECTORS * L];
            memcpy(row, &acc[r * V], (size_t)V * sizeof(vec));
            for (int64_t t = 0; t < nc; t++) dst[r * dst_row + t * dst_col] = row[t];
        }
    }
}

/* Every output of an n_rows x n_cols block through R x V-vector tiles; a last column tile that
 * does not fit ends at n_cols, overlapping the one before (recomputing the same values). Tiles
 * read up to round_up(n_rows, R) rows and max(n_cols, V vectors) columns of src. Rows narrower
 * than a tile and contiguous in dst (dst_row == n_cols) are stored as whole vectors where they
 * end inside the block, each spilling onto the next rows before those are stored; `padded`
 * dst rows have room for whole tiles past n_cols, and always take whole vectors. */
PYCONV_ALWAYS_INLINE void FN(dw_tiles_of)(const real *src, int64_t row_step, const int64_t *off,
                                          const real *wt, int64_t n_taps, real init, real *dst,
                                          int64_t dst_row, int64_t dst_col, int64_t n_rows,
                                          int64_t n_cols, int padded, int R, int V)
{
    const int64_t B = (int64_t)V * PYCONV_DW_LANES;
    const int spill = n_cols < B && dst_col == 1 && dst_row == n_cols;
    for (int64_t r0 = 0; r0 < n_rows; r0 += R)
        for (int64_t c0 = 0; c0 < n_cols; c0 += B) {
            const int64_t c = n_cols >= B ? PYCONV_MIN(c0, n_cols - B) : c0;
            const int64_t nr = PYCONV_MIN(R, n_rows - r0);
            FN(dw_tile)(src + r0 * row_step + c, row_step, off, wt, n_taps, init,
                        dst + r0 * dst_row + c * dst_col, dst_row, dst_col, nr,
                        PYCONV_MIN(B, n_cols - c),
                        padded ? INT64_MAX : spill ? (n_rows - r0) * n_cols : 0, R, V);
        }
}

/* dw_tiles_of with the tile shape for the width: 1, 2 or 4 vectors wide, 8, 4 or 2 rows. */
#define PYCONV_DW_TILES_BY_WIDTH(taps)                                                        \
    do {                                                                                      \
        if (n_cols <= PYCONV_DW_LANES)                                                        \
            FN(dw_tiles_of)(src, row_step, off, wt, taps, init, dst, dst_row, dst_col,        \
                            n_rows, n_cols, padded, 8, 1);                                    \
        else if (n_cols <= 2 * PYCONV_DW_LANES)                                               \
            FN(dw_tiles_of)(src, row_step, off, wt, taps, init, dst, dst_row, dst_col,        \
                            n_rows, n_cols, padded, 4, 2);                                    \
        else                                                                                  \
            FN(dw_tiles_of)(src, row_step, off, wt, taps, init, dst, dst_row, dst_col,        \
                            n_rows, n_cols, padded, 2, 4);                                    \
    } while (0)

/* dw_tiles_of for any tap list; 3x3 kernels (9 taps, the common case) get their own copy,
 * with the tap count known to the compiler. */
PYCONV_ALWAYS_INLINE void FN(dw_tiles)(const real *src, int64_t row_step, const int64_t *off,
                                       const real *wt, int64_t n_taps, real init, real *dst,
                                       int64_t dst_row, int64_t dst_col, int64_t n_rows,
                                       int64_t n_cols, int padded)
{
    if (n_taps == 9)
        PYCONV_DW_TILES_BY_WIDTH(9);
    else
        PYCONV_DW_TILES_BY_WIDTH(n_taps);
}
#undef PYCONV_DW_TILES_BY_WIDTH

/* d[k * d_step] = s[k * s_step] for k < n. The steps are constants at the calls that matter
 * (1 and 2), which compile to vector copies, deinterleaves and interleaves; the loop stays a
 * loop (a library call costs more than the short rows of small planes). */
PYCONV_ALWAYS_INLINE void FN(dw_copy)(real *PYCONV_RESTRICT d, int64_t d_step,
                                      const real *PYCONV_RESTRICT s, int64_t s_step, int64_t n)
{
    typedef FN(dw_vec) vec;
    int64_t k = 0;
    if (d_step == 1 && s_step == 1) {
        for (; k + PYCONV_DW_LANES <= n; k += PYCONV_DW_LANES) {
            PYCONV_NO_LIBCALL_LOOP();
            *(vec *)(d + k) = *(const vec *)(s + k);
        }
        for (; k < n; k++) {
            PYCONV_NO_LIBCALL_LOOP();
            d[k] = s[k];
        }
    } else {
        for (; k < n; k++) d[k * d_step] = s[k * s_step];
    }
}

/* Copy the h x w plane src into buf at l's positions (those that fall inside the buffer).
 * phases == l->phases, a constant at the calls for strides 1 and 2 (no divisions per plane). */
PYCONV_ALWAYS_INLINE void FN(dw_fill_by)(const pyconv_dw_layout *l, int64_t phases,
                                         const real *PYCONV_RESTRICT src, int64_t h, int64_t w,
                                         real *PYCONV_RESTRICT buf)
{
    const int64_t span = phases * l->width;
    const int64_t r_lo = PYCONV_MAX(0, -l->top), r_hi = PYCONV_MIN(h, l->rows - l->top);
    const int64_t c_lo = PYCONV_MAX(0, -l->left), c_hi = PYCONV_MIN(w, span - l->left);
    for (int64_t p = 0; p < phases; p++) {
        /* the first column c >= c_lo with (c + left) % phases == p, and the count */
        const int64_t c0 = c_lo + (p - (c_lo + l->left) % phases + phases) % phases;
        const int64_t n = c0 < c_hi ? (c_hi - c0 + phases - 1) / phases : 0;
        real *d = buf + p * l->width + (c0 + l->left) / phases + l->top * span;
        for (int64_t r = r_lo; r < r_hi; r++) FN(dw_copy)(d + r * span, 1, src + r * w + c0, phases, n);
    }
}

PYCONV_ALWAYS_INLINE void FN(dw_fill)(const pyconv_dw_layout *l, const real *PYCONV_RESTRICT src,
                                      int64_t h, int64_t w, real *PYCONV_RESTRICT buf)
{
    if (l->phases == 1)
        FN(dw_fill_by)(l, 1, src, h, w, buf);
    else if (l->phases == 2)
        FN(dw_fill_by)(l, 2, src, h, w, buf);
    else
        FN(dw_fill_by)(l, l->phases, src, h, w, buf);
}

/* The layout of an input plane for the forward pass and the weight gradient: the padded input,
 * columns split by the stride, holding every value the output tiles read (rows rounded up to
 * the tallest tile, columns to the widest tile and to whole vectors). */
static pyconv_dw_layout FN(dw_input_layout)(const pyconv_conv_shape *s)
{
    const int64_t lanes = PYCONV_DW_LANES;
    const int64_t cols = PYCONV_MAX(pyconv_round_up(s->w_out, lanes), 4 * lanes);
    pyconv_dw_layout l;
    l.rows = (pyconv_round_up(s->h_out, 8) - 1) * s->stride_h + (s->kh - 1) * s->dil_h + 1;
    l.phases = s->stride_w;
    l.width = cols + (s->kw - 1) * s->dil_w / s->stride_w;
    l.top = s->pad_top;
    l.left = s->pad_left;
    return l;
}

static int FN(dw_threads)(const pyconv_conv_shape *s, int n_threads)
{
    return pyconv_threads_for((double)(s->n * s->c_out) * (double)(s->h_out * s->w_out) *
                                  (double)(s->kh * s->kw),
                              n_threads);
}

/* One forward plane: the copy of x, then every output through the tiles. */
PYCONV_SIMD_CLONES
static void FN(dw_forward_plane)(const pyconv_conv_shape *s, const pyconv_dw_layout *l,
                                 const int64_t *off, const real *x, const real *wc, real b,
                                 real *buf, real *y)
{
    FN(dw_fill)(l, x, s->h_in, s->w_in, buf);
    FN(dw_tiles)(buf, s->stride_h * l->phases * l->width, off, wc, s->kh * s->kw, b, y, s->w_out, 1,
                 s->h_out, s->w_out, 0);
}

pyconv_status FN(pyconv_conv2d_depthwise)(const pyconv_conv_shape *s, const real *x,
                                          const real *w, const real *bias, real *y,
                                          int n_threads)
{
    const int64_t taps = s->kh * s->kw, planes = s->n * s->c_out;
    const int64_t plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    const pyconv_dw_layout l = FN(dw_input_layout)(s);
    const size_t buf_bytes = (size_t)pyconv_dw_layout_size(&l) * sizeof(real);
    int64_t *off = (int64_t *)pyconv_aligned_alloc((size_t)taps * sizeof(int64_t));
    if (off == NULL) return PYCONV_ERR_NOMEM;
    pyconv_dw_input_offsets(s, &l, off);
    n_threads = FN(dw_threads)(s, n_threads);
    int failed = 0;
    #pragma omp parallel num_threads(n_threads) if(n_threads > 1)
    {
        pyconv_fpmode fpmode = pyconv_ftz_enter();
        real *buf = (real *)pyconv_dw_zeroed(PYCONV_ARENA_CONV_0, buf_bytes);
        if (buf == NULL) {
            #pragma omp atomic write
            failed = 1;
        }
        int64_t p;
        #pragma omp for schedule(static)
        for (p = 0; p < planes; p++) {
            if (buf == NULL) continue;
            const int64_t c = p % s->c_out;
            FN(dw_forward_plane)(s, &l, off, x + p * plane_in, w + c * taps,
                                 bias ? bias[c] : (real)0, buf, y + p * plane_out);
        }
        pyconv_ftz_exit(fpmode);
    }
    pyconv_aligned_free(off);
    return failed ? PYCONV_ERR_NOMEM : PYCONV_OK;
}

/* One input-gradient plane gx: the copy of gy, then for each phase (ih0, iw0) its list of taps
 * (offsets into buf in off, weights in wt) through the tiles. With unit column stride the
 * tiles write gx; otherwise the phase rows of tmp (row ih, phase iw0 at (ih*sw + iw0) *
 * tmp_width), interleaved into gx at the end. */
PYCONV_SIMD_CLONES
static void FN(dw_input_plane)(const pyconv_conv_shape *s, const pyconv_dw_layout *l,
                               const pyconv_dw_phases *ph, const real *gy, const real *wc,
                               real *buf, int64_t *off, real *wt, real *tmp, int64_t tmp_width,
                               real *gx)
{
    const int64_t sh = s->stride_h, sw = s->stride_w, w_in = s->w_in;
    FN(dw_fill)(l, gy, s->h_out, s->w_out, buf);
    for (int64_t ih0 = 0; ih0 < ph->n_h; ih0++)
        for (int64_t iw0 = 0; iw0 < ph->n_w; iw0++) {
            int64_t n = 0;
            for (int64_t a = ph->start_h[ih0]; a < ph->start_h[ih0 + 1]; a++)
                for (int64_t b = ph->start_w[iw0]; b < ph->start_w[iw0 + 1]; b++) {
                    off[n] = (ph->shift_h[a] + l->top) * l->width + ph->shift_w[b] + l->left;
                    wt[n++] = wc[ph->tap_h[a] * s->kw + ph->tap_w[b]];
                }
            if (sw == 1)
                FN(dw_tiles)(buf, l->width, off, wt, n, (real)0, gx + ih0 * w_in, sh * w_in, 1,
                             ph->count_h[ih0], ph->count_w[iw0], 0);
            else
                FN(dw_tiles)(buf, l->width, off, wt, n, (real)0, tmp + (ih0 * sw + iw0) * tmp_width,
                             sh * sw * tmp_width, 1, ph->count_h[ih0], ph->count_w[iw0], 1);
        }
    if (sw == 1) return;
    for (int64_t ih = 0; ih < s->h_in; ih++)
        for (int64_t iw0 = 0; iw0 < ph->n_w; iw0++) {
            real *d = gx + ih * w_in + iw0;
            const real *t = tmp + (ih * sw + iw0) * tmp_width;
            if (sw == 2)
                FN(dw_copy)(d, 2, t, 1, ph->count_w[iw0]);
            else
                FN(dw_copy)(d, sw, t, 1, ph->count_w[iw0]);
        }
}

pyconv_status FN(pyconv_conv2d_input_depthwise)(const pyconv_conv_shape *s, const real *w,
                                                const real *gy, real *gx, int n_threads)
{
    const int64_t kh = s->kh, kw = s->kw, sh = s->stride_h, sw = s->stride_w, taps = kh * kw;
    const int64_t planes = s->n * s->c_in;
    const int64_t plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    const int64_t lanes = PYCONV_DW_LANES;
    pyconv_dw_phases ph;
    ph.n_h = PYCONV_MIN(sh, s->h_in);
    ph.n_w = PYCONV_MIN(sw, s->w_in);
    /* the widest phase row, in whole tiles */
    const int64_t cols = PYCONV_MAX(pyconv_round_up((s->w_in + sw - 1) / sw, lanes), 4 * lanes);
    /* grad_output padded so that every shift of every phase's rows and columns is inside */
    pyconv_dw_layout l;
    l.phases = 1;
    l.top = (kh - 1) * s->dil_h / sh;
    l.left = (kw - 1) * s->dil_w / sw;
    l.rows = l.top + pyconv_round_up((s->h_in + sh - 1) / sh, 8) + (ph.n_h - 1 + s->pad_top) / sh;
    l.width = l.left + cols + (ph.n_w - 1 + s->pad_left) / sw;
    const size_t buf_bytes = (size_t)pyconv_dw_layout_size(&l) * sizeof(real);
    const size_t list_bytes = (size_t)taps * (sizeof(int64_t) + sizeof(real));
    /* strided columns: every gx row's phase rows, each `cols` wide */
    const size_t tmp_bytes = sw == 1 ? 0 : (size_t)(pyconv_round_up(s->h_in, sh) * sw * cols) * sizeof(real);
    int64_t *axes = (int64_t *)pyconv_aligned_alloc(
        (size_t)(2 * ph.n_h + 1 + 2 * kh + 2 * ph.n_w + 1 + 2 * kw) * sizeof(int64_t));
    if (axes == NULL) return PYCONV_ERR_NOMEM;
    ph.start_h = axes;
    ph.count_h = ph.start_h + ph.n_h + 1;
    ph.tap_h = ph.count_h + ph.n_h;
    ph.shift_h = ph.tap_h + kh;
    ph.start_w = ph.shift_h + kh;
    ph.count_w = ph.start_w + ph.n_w + 1;
    ph.tap_w = ph.count_w + ph.n_w;
    ph.shift_w = ph.tap_w + kw;
    pyconv_dw_phase_taps(ph.n_h, s->h_in, s->pad_top, sh, kh, s->dil_h, ph.start_h, ph.count_h, ph.tap_h,
                         ph.shift_h);
    pyconv_dw_phase_taps(ph.n_w, s->w_in, s->pad_left, sw, kw, s->dil_w, ph.start_w, ph.count_w, ph.tap_w,
                         ph.shift_w);
    n_threads = FN(dw_threads)(s, n_threads);
    int failed = 0;
    #pragma omp parallel num_threads(n_threads) if(n_threads > 1)
    {
        pyconv_fpmode fpmode = pyconv_ftz_enter();
        real *buf = (real *)pyconv_dw_zeroed(PYCONV_ARENA_CONV_0, buf_bytes);
        int64_t *off = (int64_t *)pyconv_arena_get(PYCONV_ARENA_CONV_1, list_bytes);
        real *tmp = sw == 1 ? NULL : (real *)pyconv_arena_get(PYCONV_ARENA_CONV_2, tmp_bytes);
        const int ok = buf != NULL && off != NULL && (sw == 1 || tmp != NULL);
        if (!ok) {
            #pragma omp atomic write
            failed = 1;
        }
        int64_t p;
        #pragma omp for schedule(static)
        for (p = 0; p < planes; p++) {
            if (!ok) continue;
            FN(dw_input_plane)(s, &l, &ph, gy + p * plane_out, w + p % s->c_in * taps, buf, off,
                               (real *)(off + taps), tmp, cols, gx + p * plane_in);
        }
        pyconv_ftz_exit(fpmode);
    }
    pyconv_aligned_free(axes);
    return failed ? PYCONV_ERR_NOMEM : PYCONV_OK;
}

/* acc[k] += sum over rows oh and column blocks q of the vectors g[oh, q..] * x[oh*row_step +
 * off[k] + q..], for k < n_taps <= PYCONV_DW_TAP_CHUNK: the taps' sums stay in registers over
 * the whole plane. g is g_width (whole vectors) wide, zero past the plane's width. */
PYCONV_ALWAYS_INLINE void FN(dw_weight_taps)(const real *xb, int64_t row_step, const int64_t *off,
                                             int64_t n_taps, const real *g, int64_t g_width,
                                             int64_t h_out, FN(dw_vec) *PYCONV_RESTRICT acc)
{
    typedef FN(dw_vec) vec;
    vec a[PYCONV_DW_TAP_CHUNK];
    for (int64_t k = 0; k < n_taps; k++) a[k] = acc[k];
    for (int64_t oh = 0; oh < h_out; oh++)
        for (int64_t q = 0; q < g_width; q += PYCONV_DW_LANES) {
            const vec gv = *(const vec *)(g + oh * g_width + q);
            const real *xv = xb + oh * row_step + q;
            for (int64_t k = 0; k < n_taps; k++) a[k] += gv * *(const vec *)(xv + off[k]);
        }
    for (int64_t k = 0; k < n_taps; k++) acc[k] = a[k];
}

/* One image's contribution to the weight gradient of one channel: the copies of the x and gy
 * planes, then every tap's sums, PYCONV_DW_TAP_CHUNK taps at a time (a 3x3 kernel in one pass,
 * the tap loop unrolled). gy's copy pads its rows to whole vectors with zeros; rows already
 * whole vectors long are read in place. */
PYCONV_SIMD_CLONES
static void FN(dw_weight_plane)(const pyconv_conv_shape *s, const pyconv_dw_layout *lx,
                                const pyconv_dw_layout *lg, const int64_t *off, const real *x,
                                const real *g, real *xb, real *gb, FN(dw_vec) *acc)
{
    const int64_t taps = s->kh * s->kw, row_step = s->stride_h * lx->phases * lx->width;
    FN(dw_fill)(lx, x, s->h_in, s->w_in, xb);
    if (lg->width != s->w_out) {
        FN(dw_fill)(lg, g, s->h_out, s->w_out, gb);
        g = gb;
    }
    for (int64_t k0 = 0; k0 < taps; k0 += PYCONV_DW_TAP_CHUNK) {
        const int64_t n = PYCONV_MIN(PYCONV_DW_TAP_CHUNK, taps - k0);
        if (n == PYCONV_DW_TAP_CHUNK)
            FN(dw_weight_taps)(xb, row_step, off + k0, PYCONV_DW_TAP_CHUNK, g, lg->width, s->h_out,
                               acc + k0);
        else
            FN(dw_weight_taps)(xb, row_step, off + k0, n, g, lg->width, s->h_out, acc + k0);
    }
}

pyconv_status FN(pyconv_conv2d_weight_depthwise)(const pyconv_conv_shape *s, const real *x,
                                                 const real *gy, real *gw, int n_threads)
{
    typedef FN(dw_vec) vec;
    const int64_t taps = s->kh * s->kw, lanes = PYCONV_DW_LANES;
    const int64_t plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    const pyconv_dw_layout lx = FN(dw_input_layout)(s);
    const pyconv_dw_layout lg = {s->h_out, 1, pyconv_round_up(s->w_out, lanes), 0, 0};
    const size_t x_bytes = (size_t)pyconv_dw_layout_size(&lx) * sizeof(real);
    const size_t g_bytes = (size_t)pyconv_dw_layout_size(&lg) * sizeof(real);
    int64_t *off = (int64_t *)pyconv_aligned_alloc((size_t)taps * sizeof(int64_t));
    if (off == NULL) return PYCONV_ERR_NOMEM;
    pyconv_dw_input_offsets(s, &lx, off);
    n_threads = FN(dw_threads)(s, n_threads);
    /* A task is a run of channels, walked image by image: the planes it reads lie side by side
     * in memory. Each channel's sums run over the images in order, whatever the runs. */
    const int64_t run =
        PYCONV_MAX(1, PYCONV_MIN(PYCONV_DW_CHANNEL_RUN, (s->c_out + n_threads - 1) / n_threads));
    const size_t acc_bytes = (size_t)(run * taps) * sizeof(vec);
    int failed = 0;
    #pragma omp parallel num_threads(n_threads) if(n_threads > 1)
    {
        pyconv_fpmode fpmode = pyconv_ftz_enter();
        real *xb = (real *)pyconv_dw_zeroed(PYCONV_ARENA_CONV_0, x_bytes);
        real *gb = (real *)pyconv_dw_zeroed(PYCONV_ARENA_CONV_1, g_bytes);
        vec *acc = (vec *)pyconv_arena_get(PYCONV_ARENA_CONV_2, acc_bytes);
        const int ok = xb != NULL && gb != NULL && acc != NULL;
        if (!ok) {
            #pragma omp atomic write
            failed = 1;
        }
        int64_t t;
        #pragma omp for schedule(static)
        for (t = 0; t < (s->c_out + run - 1) / run; t++) {
            if (!ok) continue;
            const int64_t c0 = t * run, c1 = PYCONV_MIN(s->c_out, c0 + run);
            memset(acc, 0, acc_bytes);
            for (int64_t img = 0; img < s->n; img++)
                for (int64_t c = c0; c < c1; c++)
                    FN(dw_weight_plane)(s, &lx, &lg, off, x + (img * s->c_in + c) * plane_in,
                                        gy + (img * s->c_out + c) * plane_out, xb, gb,
                                        acc + (c - c0) * taps);
            for (int64_t k = 0; k < (c1 - c0) * taps; k++) {
                real lane[PYCONV_DW_LANES], sum = 0;
                memcpy(lane, &acc[k], sizeof lane);
                for (int l = 0; l < PYCONV_DW_LANES; l++) sum += lane[l];
                gw[c0 * taps + k] = sum;
            }
        }
        pyconv_ftz_exit(fpmode);
    }
    pyconv_aligned_free(off);
    return failed ? PYCONV_ERR_NOMEM : PYCONV_OK;
}
