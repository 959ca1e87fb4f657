/* Winograd F(4x4, 3x3) weight gradient (template; instantiated after conv/winograd_t.h in
 * conv/winograd.c, whose input transform and tiles it shares).
 *
 * The forward's output tile is y = A^T [ sum_c U_c .* V_c ] A with U = G g G^T, V = B^T d B;
 * its adjoint gives, per filter f and input channel c,
 *     dg[f, c] = G^T [ sum over tiles  V_e(c, tile) * Y_e(f, tile) ]_e G,   Y = A gy_tile A^T,
 * gy_tile the tile's 4x4 block of grad_output (zeros past the output's edge) and V the
 * forward's transform of the tile's 6x6 input patch (same tiles, same padding). The sum over
 * tiles is 36 GEMMs per group, dU_e^T (C_in x C_out) = V_e (C_in x tiles) @ Y_e^T, run on the
 * macro-kernel with A gathered from V (channels as micro-tile rows, one offset per tile: the
 * forward's layout as is) and B = Y, which the gy transform writes as B micro-panels; then
 * dg = G^T dU G per (channel, filter).
 *
 * Tiles go in blocks of a size fixed by the shape (not the thread count); for each block, one
 * team (common/parallel.h) transforms the input (threads split the channels) and grad_output
 * (threads split the tiles), meets at a barrier, and adds the block's products into dU, each
 * thread owning fixed micro-tile rows of dU for the whole call. Every value of dU is so summed
 * in the same order, block after block, whatever the thread count: the result is bit-identical
 * at any thread count. (Partial sums per block of tiles, the gemm-patches weight gradient's
 * scheme, would take 36 C_in C_out values per block: 38 MiB each for 512x512 filters.) With one
 * block of few tiles, each thread instead sums all 36 elements of MR channels at a time in its L2
 * and transforms them back there (PYCONV_WINO_WEIGHT_L2_Y_BYTES). The workspace -- one block's V
 * and Y, dU (4x the weights) or each thread's MR channels of it -- does not depend on the batch. */

#ifndef PYCONV_WINO_WEIGHT_BLOCK_BYTES
/* V and Y of one block in about this many bytes, and between PYCONV_WINO_WEIGHT_MIN_TILES
 * tiles (the GEMMs' depth: fewer would load and store dU's micro-tiles for too few products)
 * and PYCONV_WINO_WEIGHT_MAX_TILES. */
#define PYCONV_WINO_WEIGHT_BLOCK_BYTES ((int64_t)4 << 20)
#define PYCONV_WINO_WEIGHT_MIN_TILES 128
#define PYCONV_WINO_WEIGHT_MAX_TILES 512
/* With one block whose Y takes at most this many bytes (few tiles; Y is then read once per MR
 * channels, from the outer caches), each thread sums dU for MR channels at a time, all 36
 * elements, in a buffer that stays in its L2, and transforms them back at once: dU (36 C_in
 * C_out values, the main cost of few tiles) never goes to memory and back. */
#define PYCONV_WINO_WEIGHT_L2_Y_BYTES ((int64_t)4 << 20)

/* A z for the four values z0..z3 (A = (A^T)^T, the forward's output transform transposed):
 * grad_output's transform along one axis. */
#define PYCONV_WINO_A(z0, z1, z2, z3, o0, o1, o2, o3, o4, o5)                                  \
    do {                                                                                       \
        const real e02 = (z0) + (z2), o13 = (z1) + (z3);                                       \
        const real e4 = (z0) + 4 * (z2), o8 = 2 * (z1) + 8 * (z3);                             \
        (o0) = (z0);                                                                           \
        (o1) = e02 + o13;                                                                      \
        (o2) = e02 - o13;                                                                      \
        (o3) = e4 + o8;                                                                        \
        (o4) = e4 - o8;                                                                        \
        (o5) = (z3);                                                                           \
    } while (0)

/* G^T m for m0..m5: the filter transform's adjoint along one axis (three values). */
#define PYCONV_WINO_GT(m0, m1, m2, m3, m4, m5, o0, o1, o2)                                      \
    do {                                                                                       \
        const real p12 = (m1) + (m2), n12 = (m1) - (m2);                                       \
        const real p34 = (m3) + (m4), n34 = (m3) - (m4);                                       \
        (o0) = (m0) * (real)0.25 - p12 * (real)(1.0 / 6) + p34 * (real)(1.0 / 24);             \
        (o1) = n34 * (real)(1.0 / 12) - n12 * (real)(1.0 / 6);                                 \
        (o2) = (p34 - p12) * (real)(1.0 / 6) + (m5);                                           \
    } while (0)

/* One call's blocks and workspace (wino_weight_layout_of). */
typedef struct {
    int64_t tiles_h, tiles_w, n_tiles;
    int64_t nb, n_blocks, max_runs;  /* tiles per block (or all tiles) */
    int64_t ldv;                     /* V's row length, as the forward's */
    int64_t panels, ldc;             /* filters per group in NR-wide panels; dU's row length */
    int64_t cpad;                    /* input channels per group in whole micro-tile rows */
    /* distances between consecutive elements e (as the forward's, a cache line over their
     * data): in V; in Y (panels of nb x NR) */
    int64_t v_estride, y_estride;
    /* distance between consecutive channels in dU, whose 36 elements' rows of ldc filters are
     * side by side (read together by the final transform), plus a cache line (so that the
     * micro-tiles' rows do not all map to the same cache sets) */
    int64_t u_cstride;
    int nt;                          /* threads */
    int in_l2;                       /* dU by MR channels per thread, in its L2
                                        (PYCONV_WINO_WEIGHT_L2_Y_BYTES) */
    /* shared, in the calling thread's arena (slot GEMM_B): dU unless in_l2 */
    size_t v_at, y_at, u_at, rows_at, off_at, shared_bytes;
    /* per thread (slot CONV_1): the input transform's runs and rows, grad_output's tile, and
     * when in_l2 the MR channels' dU and the final transform's rows */
    size_t runs_at, buf_at, z_at, uc_at, t_at, work_bytes;
    size_t filter_bytes;             /* per thread of the final G^T dU G, unless in_l2 */
} pyconv_wino_weight_layout;
#endif

/* The one-axis transforms along arrays of n values, the k-th input array at in + k * is, the
 * k-th output array at out + k * os: out_k[q] is output k of in_0[q], in_1[q], ... The arrays
 * do not overlap (the strides are at least n), which simd tells the vectorizer. */
PYCONV_SIMD_CLONES
static void FN(wino_a_lines)(int64_t n, const real *in, int64_t is, real *out, int64_t os)
{
#pragma omp simd
    for (int64_t q = 0; q < n; q++)
        PYCONV_WINO_A(in[q], in[is + q], in[2 * is + q], in[3 * is + q], out[q], out[os + q],
                      out[2 * os + q], out[3 * os + q], out[4 * os + q], out[5 * os + q]);
}

PYCONV_SIMD_CLONES
static void FN(wino_gt_lines)(int64_t n, const real *in, int64_t is, real *out, int64_t os)
{
#pragma omp simd
    for (int64_t q = 0; q < n; q++)
        PYCONV_WINO_GT(in[q], in[is + q], in[2 * is + q], in[3 * is + q], in[4 * is + q],
                       in[5 * is + q], out[q], out[os + q], out[2 * os + q]);
}

/* The blocks and workspace of the weight gradient of s (as pyconv_weight_winograd asks) on up
 * to n_threads threads. Everything but nt is a function of the shape only. */
static pyconv_wino_weight_layout FN(wino_weight_layout_of)(const pyconv_conv_shape *s,
                                                           int n_threads)
{
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr, line = PYCONV_ALIGN / (int64_t)sizeof(real);
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    pyconv_wino_weight_layout l;
    pyconv_wino_tiles(s, &l.tiles_h, &l.tiles_w, &l.n_tiles);
    l.panels = (cout_g + nr - 1) / nr;
    l.ldc = l.panels * nr;
    l.cpad = (cin_g + mr - 1) / mr * mr;
    const int64_t tile_bytes =
        PYCONV_WINO_ELEMS * (s->c_in + s->groups * l.ldc) * (int64_t)sizeof(real);
    l.nb = PYCONV_MIN(PYCONV_MAX(PYCONV_MIN(PYCONV_WINO_WEIGHT_BLOCK_BYTES / tile_bytes,
                                            PYCONV_WINO_WEIGHT_MAX_TILES),
                                 PYCONV_WINO_WEIGHT_MIN_TILES),
                      l.n_tiles);
    l.n_blocks = (l.n_tiles + l.nb - 1) / l.nb;
    l.max_runs = PYCONV_MIN(l.nb, (l.nb - 1) / l.tiles_w + 2);
    l.ldv = l.nb + l.max_runs;
    l.v_estride = s->c_in * l.ldv + line;
    l.y_estride = l.panels * l.nb * nr + line;
    l.u_cstride = PYCONV_WINO_ELEMS * l.ldc + line;
    const int64_t y_bytes = s->groups * PYCONV_WINO_ELEMS * l.y_estride * (int64_t)sizeof(real);
    l.in_l2 = l.n_blocks == 1 && y_bytes <= PYCONV_WINO_WEIGHT_L2_Y_BYTES;
    l.nt = pyconv_threads_for(
        (double)PYCONV_WINO_ELEMS * (double)l.n_tiles * (double)cin_g * (double)s->c_out,
        s->groups * (l.in_l2 ? 1 : PYCONV_WINO_ELEMS) * (l.cpad / mr), n_threads);
    size_t bytes = 0;
    l.v_at = pyconv_layout_part(&bytes, (size_t)(PYCONV_WINO_ELEMS * l.v_estride) * sizeof(real));
    l.y_at = pyconv_layout_part(
        &bytes, (size_t)(s->groups * PYCONV_WINO_ELEMS * l.y_estride) * sizeof(real));
    l.u_at = pyconv_layout_part(
        &bytes, l.in_l2 ? 0 : (size_t)(s->groups * l.cpad * l.u_cstride) * sizeof(real));
    l.rows_at = pyconv_layout_part(
        &bytes, (size_t)(s->groups * PYCONV_WINO_ELEMS * l.cpad) * sizeof(real *));
    l.off_at = pyconv_layout_part(&bytes, (size_t)l.nb * sizeof(int64_t));
    l.shared_bytes = bytes;
    bytes = 0;
    l.runs_at = pyconv_layout_part(&bytes, (size_t)l.max_runs * sizeof(pyconv_wino_run));
    l.buf_at = pyconv_layout_part(&bytes, (size_t)(3 * 6 * 4 * l.ldv) * sizeof(real));
    l.z_at = pyconv_layout_part(&bytes, (size_t)((16 + 24) * nr) * sizeof(real));
    l.filter_bytes = (size_t)(27 * l.ldc) * sizeof(real);
    l.uc_at = pyconv_layout_part(&bytes, l.in_l2 ? (size_t)(mr * l.u_cstride) * sizeof(real) : 0);
    l.t_at = pyconv_layout_part(&bytes, l.in_l2 ? l.filter_bytes : 0);
    l.work_bytes = bytes;
    return l;
}

/* One call's arguments and the data its threads share. */
typedef struct {
    const pyconv_conv_shape *s;
    const real *x, *gy;
    real *gw;
    real *v;              /* V of the block: the forward's layout */
    real *y;              /* Y of the block: y[(g * 36 + e) * y_estride + (jp * nb + p) * nr + r]
                             = Y_e of tile p, filter jp * nr + r of group g */
    real *u;              /* dU^T: u[(g * cpad + c) * u_cstride + e * ldc + f]; NULL when in_l2 */
    const real **rows;    /* rows[(g * 36 + e) * cpad + c]: channel c < C_in / groups of
                             group g in V_e */
    int64_t *off;         /* off[p]: the V column of the block's tile p */
    pyconv_wino_weight_layout l;
} FN(wino_weight_args);

/* Y of tile t of the batch, the block's tile p, for every filter: gy's 4x4 block (zeros past
 * the output's edge) gathered NR filters at a time into z (16 x NR), transformed along its
 * columns into z + 16 NR (24 x NR), then along its rows into Y's B micro-panels. */
static void FN(wino_grad_tile)(const FN(wino_weight_args) *a, int64_t t, int64_t p, real *z)
{
    const pyconv_conv_shape *s = a->s;
    const pyconv_wino_weight_layout *l = &a->l;
    const int64_t nr = pyconv_gemm_active_arch()->FN(blocking).nr, cout_g = s->c_out / s->groups;
    const int64_t plane = s->h_out * s->w_out, ys = l->y_estride;
    real *tz = z + 16 * nr;
    int64_t img, ti, tj;
    pyconv_wino_tile(l->tiles_h, l->tiles_w, t, &img, &ti, &tj);
    const int64_t oh = PYCONV_WINO_M * ti, ow = PYCONV_WINO_M * tj;
    const int64_t hv = PYCONV_MIN(PYCONV_WINO_M, s->h_out - oh);
    const int64_t wv = PYCONV_MIN(PYCONV_WINO_M, s->w_out - ow);
    for (int64_t g = 0; g < s->groups; g++) {
        for (int64_t jp = 0; jp < l->panels; jp++) {
            const int64_t f0 = jp * nr, n_filters = PYCONV_MIN(nr, cout_g - f0);
            const real *src =
                a->gy + (img * s->c_out + g * cout_g + f0) * plane + oh * s->w_out + ow;
            memset(z, 0, (size_t)(16 * nr) * sizeof(real));
            for (int64_t r = 0; r < n_filters; r++)
                for (int64_t i = 0; i < hv; i++)
                    for (int64_t j = 0; j < wv; j++)
                        z[(i * 4 + j) * nr + r] = src[r * plane + i * s->w_out + j];
            /* along the tile's columns: tz[(k * 4 + j) * nr + r] */
            for (int64_t j = 0; j < 4; j++)
                FN(wino_a_lines)(nr, z + j * nr, 4 * nr, tz + j * nr, 4 * nr);
            /* along its rows: element k * 6 + j' */
            for (int64_t k = 0; k < 6; k++) {
                FN(wino_a_lines)(
                    nr, tz + k * 4 * nr, nr,
                    a->y + (g * PYCONV_WINO_ELEMS + k * 6) * ys + (jp * l->nb + p) * nr, ys);
            }
        }
    }
}

/* dU^T rows of n micro-tiles of group g's channels from micro-tile i0 on, element e:
 * (+)= V_e Y_e^T over the block's nb tiles, KC tiles at a time, into u (row stride ldu);
 * overwritten when first. */
static void FN(wino_weight_sum)(const FN(wino_weight_args) *a, int64_t g, int64_t e, int64_t i0,
                                int64_t n, int64_t nb, int first, real *u, int64_t ldu)
{
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const pyconv_wino_weight_layout *l = &a->l;
    const int64_t ge = g * PYCONV_WINO_ELEMS + e;
    const real *y = a->y + ge * l->y_estride;
    /* the group's channels in these micro-tiles: those of the last one may be fewer */
    const int64_t rows = PYCONV_MIN(n * blk.mr, a->s->c_in / a->s->groups - i0 * blk.mr);
    for (int64_t pc = 0; pc < nb; pc += blk.kc) {
        const FN(pyconv_a_source) v = {NULL, a->rows + ge * l->cpad + i0 * blk.mr, a->off + pc};
        FN(pyconv_macro_kernel)(arch, rows, l->ldc, PYCONV_MIN(blk.kc, nb - pc), 0,
                                l->panels, 1, &v, y + pc * blk.nr, l->nb * blk.nr,
                                first && pc == 0 ? 0 : 1, u, ldu);
    }
}

/* Items [lo, hi) of (group, element, micro-tile row of the group's channels) of the block's
 * sums into the shared dU: runs of an element's micro-tiles at once. */
static void FN(wino_weight_products)(const FN(wino_weight_args) *a, int64_t lo, int64_t hi,
                                     int64_t nb, int first)
{
    const pyconv_wino_weight_layout *l = &a->l;
    const int64_t mr = pyconv_gemm_active_arch()->FN(blocking).mr, row_tiles = l->cpad / mr;
    for (int64_t item = lo; item < hi;) {
        const int64_t ge = item / row_tiles, i0 = item % row_tiles;
        const int64_t g = ge / PYCONV_WINO_ELEMS, e = ge % PYCONV_WINO_ELEMS;
        const int64_t n = PYCONV_MIN(hi - item, row_tiles - i0);
        FN(wino_weight_sum)(a, g, e, i0, n, nb, first,
                            a->u + (g * l->cpad + i0 * mr) * l->u_cstride + e * l->ldc,
                            l->u_cstride);
        item += n;
    }
}

/* gw = G^T dU G of input channel c of group g, across the group's filters, from the channel's
 * 36 rows of dU^T at m (element e at m + e * ldc); t holds 27 * ldc values. */
static void FN(wino_weight_filter)(const FN(wino_weight_args) *a, const real *m, int64_t g,
                                   int64_t c, real *t)
{
    const pyconv_conv_shape *s = a->s;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups, ldc = a->l.ldc;
    real *o = t + 18 * ldc;
    /* along the rows of the 6x6 domain: t[(i * 3 + k') * ldc + f] */
    for (int64_t i = 0; i < 6; i++)
        FN(wino_gt_lines)(cout_g, m + i * 6 * ldc, ldc, t + i * 3 * ldc, ldc);
    /* then along its columns: tap (k, k') of filter f at o[(k * 3 + k') * ldc + f] */
    for (int64_t j = 0; j < 3; j++)
        FN(wino_gt_lines)(cout_g, t + j * ldc, 3 * ldc, o + j * ldc, 3 * ldc);
    real *dst = a->gw + g * cout_g * cin_g * 9 + c * 9;
    for (int64_t f = 0; f < cout_g; f++)
        for (int64_t k = 0; k < 9; k++) dst[f * cin_g * 9 + k] = o[k * ldc + f];
}

/* Items [lo, hi) of (group, micro-tile row of its channels) of the one block, in L2 (in_l2):
 * the MR channels' 36 sums into uc, then their filters' gradients. */
static void FN(wino_weight_channels)(const FN(wino_weight_args) *a, int64_t lo, int64_t hi,
                                     int64_t nb, real *uc, real *t)
{
    const pyconv_wino_weight_layout *l = &a->l;
    const int64_t mr = pyconv_gemm_active_arch()->FN(blocking).mr, row_tiles = l->cpad / mr;
    const int64_t cin_g = a->s->c_in / a->s->groups;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t g = item / row_tiles, c0 = item % row_tiles * mr;
        for (int64_t e = 0; e < PYCONV_WINO_ELEMS; e++)
            FN(wino_weight_sum)(a, g, e, c0 / mr, 1, nb, 1, uc + e * l->ldc, l->u_cstride);
        for (int64_t c = c0; c < PYCONV_MIN(c0 + mr, cin_g); c++)
            FN(wino_weight_filter)(a, uc + (c - c0) * l->u_cstride, g, c, t);
    }
}

/* The team body: every block in order, the transforms split over the threads, then each
 * thread's fixed share of dU's micro-tile rows. */
static pyconv_status FN(wino_weight_team)(const void *ctx, const pyconv_thread *th)
{
    const FN(wino_weight_args) *a = (const FN(wino_weight_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const pyconv_wino_weight_layout *l = &a->l;
    const int64_t mr = pyconv_gemm_active_arch()->FN(blocking).mr;
    char *base = (char *)th->scratch;
    pyconv_wino_run *runs = (pyconv_wino_run *)(base + l->runs_at);
    real *buf = (real *)(base + l->buf_at), *z = (real *)(base + l->z_at);
    const int64_t plane_in = s->h_in * s->w_in;
    int64_t c_lo, c_hi, m_lo, m_hi;
    pyconv_team_share(th, s->c_in, &c_lo, &c_hi);
    pyconv_team_share(th, s->groups * (l->in_l2 ? 1 : PYCONV_WINO_ELEMS) * (l->cpad / mr), &m_lo,
                      &m_hi);
    for (int64_t b = 0; b < l->n_blocks; b++) {
        const int64_t t0 = b * l->nb, nb = PYCONV_MIN(l->nb, l->n_tiles - t0);
        int64_t t_lo, t_hi, n_cols;
        /* everyone is done with the previous block's V, Y and offsets */
        if (b > 0) pyconv_team_barrier(th);
        const int64_t n_runs = pyconv_wino_runs(s, l->tiles_h, l->tiles_w, t0, nb, runs, &n_cols);
        if (th->tid == 0)
            for (int64_t q = 0, p = 0; q < n_runs; q++)
                for (int64_t u = 0; u < runs[q].ns; u++) a->off[p++] = runs[q].col + u;
        for (int64_t c = c_lo; c < c_hi; c++)
            FN(wino_input_channel)(s, a->x + c * plane_in, runs, n_runs, n_cols, buf,
                                   a->v + c * l->ldv, l->v_estride);
        pyconv_team_share(th, nb, &t_lo, &t_hi);
        for (int64_t p = t_lo; p < t_hi; p++) FN(wino_grad_tile)(a, t0 + p, p, z);
        pyconv_team_barrier(th);
        if (l->in_l2)
            FN(wino_weight_channels)(a, m_lo, m_hi, nb, (real *)(base + l->uc_at),
                                     (real *)(base + l->t_at));
        else
            FN(wino_weight_products)(a, m_lo, m_hi, nb, b == 0);
    }
    return PYCONV_OK;
}

/* gw = G^T dU G for items [lo, hi) of (group, input channel), from the shared dU. */
static pyconv_status FN(wino_weight_filters)(const void *ctx, int64_t lo, int64_t hi,
                                             const pyconv_thread *th)
{
    const FN(wino_weight_args) *a = (const FN(wino_weight_args) *)ctx;
    const int64_t cin_g = a->s->c_in / a->s->groups;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t g = item / cin_g, c = item % cin_g;
        FN(wino_weight_filter)(a, a->u + (g * a->l.cpad + c) * a->l.u_cstride, g, c,
                               (real *)th->scratch);
    }
    return PYCONV_OK;
}

/* 3x3, stride 1, dilation 1, input channels in every group, a non-empty result and
 * reduction (conv/select.c). */
pyconv_status FN(pyconv_weight_winograd)(const pyconv_conv_shape *s, const real *x,
                                         const real *gy, real *gw, int n_threads)
{
    FN(wino_weight_args) a = {.s = s, .x = x, .gy = gy, .gw = gw,
                              .l = FN(wino_weight_layout_of)(s, n_threads)};
    const pyconv_wino_weight_layout *l = &a.l;
    char *ws = (char *)pyconv_arena_get(PYCONV_ARENA_GEMM_B, l->shared_bytes);
    if (ws == NULL) return PYCONV_ERR_NOMEM;
    a.v = (real *)(ws + l->v_at);
    a.y = (real *)(ws + l->y_at);
    a.u = l->in_l2 ? NULL : (real *)(ws + l->u_at);
    a.rows = (const real **)(ws + l->rows_at);
    a.off = (int64_t *)(ws + l->off_at);
    const int64_t cin_g = s->c_in / s->groups;
    for (int64_t g = 0; g < s->groups; g++)
        for (int64_t e = 0; e < PYCONV_WINO_ELEMS; e++)
            for (int64_t c = 0; c < cin_g; c++)
                a.rows[(g * PYCONV_WINO_ELEMS + e) * l->cpad + c] =
                    a.v + e * l->v_estride + (g * cin_g + c) * l->ldv;
    const pyconv_status st = pyconv_run_team(l->nt, FN(wino_weight_team), &a,
                                             (pyconv_scratch){PYCONV_ARENA_CONV_1, l->work_bytes});
    if (st != PYCONV_OK || l->in_l2) return st;
    return pyconv_parallel_for(s->c_in,
                               (double)PYCONV_WINO_ELEMS * (double)s->c_out * (double)cin_g,
                               n_threads, FN(wino_weight_filters), &a,
                               (pyconv_scratch){PYCONV_ARENA_CONV_1, l->filter_bytes});
}

double FN(pyconv_weight_winograd_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_wino_weight_layout l = FN(wino_weight_layout_of)(s, n_threads);
    /* the team's scratch, then (unless in_l2) the final transform's, in the same slot */
    return (double)l.shared_bytes +
           (l.in_l2 ? (double)l.nt * (double)l.work_bytes
                    : (double)n_threads * (double)PYCONV_MAX(l.work_bytes, l.filter_bytes));
}
