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
 * at any thread count. Partial sums per block of tiles (the gemm-patches weight gradient's
 * scheme) would take 36 C_in C_out values per block: 38 MiB each for 512x512 filters. The
 * workspace -- one block's V and Y, dU (4x the weights) -- does not depend on the batch. */

#ifndef PYCONV_WINO_WEIGHT_BLOCK_BYTES
/* V and Y of one block in about this many bytes, in whole KC blocks of tiles (the GEMMs' depth):
 * at least one, at most PYCONV_WINO_WEIGHT_MAX_KC_BLOCKS. */
#define PYCONV_WINO_WEIGHT_BLOCK_BYTES ((int64_t)4 << 20)
#define PYCONV_WINO_WEIGHT_MAX_KC_BLOCKS 4

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
    int64_t nb, n_blocks, max_runs;  /* tiles per block (whole KC blocks, or all tiles) */
    int64_t ldv;                     /* V's row length, as the forward's */
    int64_t panels, ldc;             /* filters per group in NR-wide panels; dU's row length */
    int64_t cpad;                    /* input channels per group in whole micro-tile rows */
    /* distances between consecutive elements e (as the forward's, a cache line over their
     * data): in V; in Y (panels of nb x NR); in dU (cpad x ldc) */
    int64_t v_estride, y_estride, u_estride;
    int nt;                          /* threads */
    /* shared, in the calling thread's arena (slot GEMM_B) */
    size_t v_at, y_at, u_at, rows_at, off_at, shared_bytes;
    /* per thread (slot CONV_1): the input transform's runs and rows, grad_output's tile */
    size_t runs_at, buf_at, z_at, work_bytes;
    size_t filter_bytes;             /* per thread of the final G^T dU G */
} pyconv_wino_weight_layout;
#endif

PYCONV_SIMD_CLONES
static void FN(wino_a_lines)(int64_t n, const real *PYCONV_RESTRICT z0,
                             const real *PYCONV_RESTRICT z1, const real *PYCONV_RESTRICT z2,
                             const real *PYCONV_RESTRICT z3, real *PYCONV_RESTRICT o0,
                             real *PYCONV_RESTRICT o1, real *PYCONV_RESTRICT o2,
                             real *PYCONV_RESTRICT o3, real *PYCONV_RESTRICT o4,
                             real *PYCONV_RESTRICT o5)
{
    for (int64_t q = 0; q < n; q++)
        PYCONV_WINO_A(z0[q], z1[q], z2[q], z3[q], o0[q], o1[q], o2[q], o3[q], o4[q], o5[q]);
}

PYCONV_SIMD_CLONES
static void FN(wino_gt_lines)(int64_t n, const real *PYCONV_RESTRICT m0,
                              const real *PYCONV_RESTRICT m1, const real *PYCONV_RESTRICT m2,
                              const real *PYCONV_RESTRICT m3, const real *PYCONV_RESTRICT m4,
                              const real *PYCONV_RESTRICT m5, real *PYCONV_RESTRICT o0,
                              real *PYCONV_RESTRICT o1, real *PYCONV_RESTRICT o2)
{
    for (int64_t q = 0; q < n; q++)
        PYCONV_WINO_GT(m0[q], m1[q], m2[q], m3[q], m4[q], m5[q], o0[q], o1[q], o2[q]);
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
    l.tiles_h = (s->h_out + PYCONV_WINO_M - 1) / PYCONV_WINO_M;
    l.tiles_w = (s->w_out + PYCONV_WINO_M - 1) / PYCONV_WINO_M;
    l.n_tiles = s->n * l.tiles_h * l.tiles_w;
    l.panels = (cout_g + nr - 1) / nr;
    l.ldc = l.panels * nr;
    l.cpad = (cin_g + mr - 1) / mr * mr;
    const int64_t tile_bytes =
        PYCONV_WINO_ELEMS * (s->c_in + s->groups * l.ldc) * (int64_t)sizeof(real);
    const int64_t kc_blocks = PYCONV_MAX(
        1, PYCONV_MIN(PYCONV_WINO_WEIGHT_BLOCK_BYTES / (tile_bytes * blk.kc),
                      PYCONV_WINO_WEIGHT_MAX_KC_BLOCKS));
    l.nb = PYCONV_MIN(kc_blocks * blk.kc, l.n_tiles);
    l.n_blocks = (l.n_tiles + l.nb - 1) / l.nb;
    l.max_runs = PYCONV_MIN(l.nb, (l.nb - 1) / l.tiles_w + 2);
    l.ldv = l.nb + l.max_runs;
    l.v_estride = s->c_in * l.ldv + line;
    l.y_estride = l.panels * l.nb * nr + line;
    l.u_estride = l.cpad * l.ldc + line;
    const int64_t row_tiles = s->groups * PYCONV_WINO_ELEMS * (l.cpad / mr);
    l.nt = pyconv_threads_for(
        (double)PYCONV_WINO_ELEMS * (double)l.n_tiles * (double)cin_g * (double)s->c_out,
        row_tiles, n_threads);
    size_t bytes = 0;
    l.v_at = pyconv_layout_part(&bytes, (size_t)(PYCONV_WINO_ELEMS * l.v_estride) * sizeof(real));
    l.y_at = pyconv_layout_part(
        &bytes, (size_t)(s->groups * PYCONV_WINO_ELEMS * l.y_estride) * sizeof(real));
    l.u_at = pyconv_layout_part(
        &bytes, (size_t)(s->groups * PYCONV_WINO_ELEMS * l.u_estride) * sizeof(real));
    l.rows_at = pyconv_layout_part(
        &bytes, (size_t)(s->groups * PYCONV_WINO_ELEMS * l.cpad) * sizeof(real *));
    l.off_at = pyconv_layout_part(&bytes, (size_t)l.nb * sizeof(int64_t));
    l.shared_bytes = bytes;
    bytes = 0;
    l.runs_at = pyconv_layout_part(&bytes, (size_t)l.max_runs * sizeof(pyconv_wino_run));
    l.buf_at = pyconv_layout_part(&bytes, (size_t)(3 * 6 * 4 * l.ldv) * sizeof(real));
    l.z_at = pyconv_layout_part(&bytes, (size_t)((16 + 24) * nr) * sizeof(real));
    l.work_bytes = bytes;
    l.filter_bytes = (size_t)(27 * l.ldc) * sizeof(real);
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
    real *u;              /* dU^T: u[(g * 36 + e) * u_estride + c * ldc + f] */
    const real **rows;    /* rows[(g * 36 + e) * cpad + c]: channel c of group g in V_e (rows
                             past the group's channels repeat its first; never read back) */
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
            const real *src = a->gy + (img * s->c_out + g * cout_g + f0) * plane + oh * s->w_out + ow;
            memset(z, 0, (size_t)(16 * nr) * sizeof(real));
            for (int64_t r = 0; r < n_filters; r++)
                for (int64_t i = 0; i < hv; i++)
                    for (int64_t j = 0; j < wv; j++)
                        z[(i * 4 + j) * nr + r] = src[r * plane + i * s->w_out + j];
            /* along the tile's columns: tz[(k * 4 + j) * nr + r] */
            for (int64_t j = 0; j < 4; j++)
                FN(wino_a_lines)(nr, z + j * nr, z + (4 + j) * nr, z + (8 + j) * nr,
                                 z + (12 + j) * nr, tz + j * nr, tz + (4 + j) * nr,
                                 tz + (8 + j) * nr, tz + (12 + j) * nr, tz + (16 + j) * nr,
                                 tz + (20 + j) * nr);
            /* along its rows: element k * 6 + j' */
            for (int64_t k = 0; k < 6; k++) {
                const real *tk = tz + k * 4 * nr;
                real *yk = a->y + (g * PYCONV_WINO_ELEMS + k * 6) * ys + (jp * l->nb + p) * nr;
                FN(wino_a_lines)(nr, tk, tk + nr, tk + 2 * nr, tk + 3 * nr, yk, yk + ys,
                                 yk + 2 * ys, yk + 3 * ys, yk + 4 * ys, yk + 5 * ys);
            }
        }
    }
}

/* dU^T += V_e Y_e^T over the block's nb tiles (dU^T = that, first block) for items [lo, hi)
 * of (group, element, micro-tile row of the group's channels), KC tiles at a time. */
static void FN(wino_weight_products)(const FN(wino_weight_args) *a, int64_t lo, int64_t hi,
                                     int64_t nb, int first)
{
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const pyconv_wino_weight_layout *l = &a->l;
    const int64_t mr = blk.mr, nr = blk.nr, row_tiles = l->cpad / mr;
    for (int64_t item = lo; item < hi;) {
        const int64_t ge = item / row_tiles, i0 = item % row_tiles;
        const int64_t n = PYCONV_MIN(hi - item, row_tiles - i0);
        const real *y = a->y + ge * l->y_estride;
        real *u = a->u + ge * l->u_estride + i0 * mr * l->ldc;
        for (int64_t pc = 0; pc < nb; pc += blk.kc) {
            const FN(pyconv_a_source) v = {NULL, a->rows + ge * l->cpad + i0 * mr, a->off + pc};
            FN(pyconv_macro_kernel)(arch, n * mr, l->ldc, PYCONV_MIN(blk.kc, nb - pc), 0,
                                    l->panels, 1, &v, y + pc * nr, l->nb * nr,
                                    first && pc == 0 ? 0 : 1, u, l->ldc);
        }
        item += n;
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
    pyconv_team_share(th, s->groups * PYCONV_WINO_ELEMS * (l->cpad / mr), &m_lo, &m_hi);
    for (int64_t b = 0; b < l->n_blocks; b++) {
        const int64_t t0 = b * l->nb, nb = PYCONV_MIN(l->nb, l->n_tiles - t0);
        int64_t t_lo, t_hi, n_cols;
        /* everyone is done with the previous block's V, Y and offsets */
        if (b > 0) pyconv_team_barrier();
        const int64_t n_runs = pyconv_wino_runs(s, l->tiles_h, l->tiles_w, t0, nb, runs, &n_cols);
        if (th->tid == 0)
            for (int64_t q = 0, p = 0; q < n_runs; q++)
                for (int64_t u = 0; u < runs[q].ns; u++) a->off[p++] = runs[q].col + u;
        for (int64_t c = c_lo; c < c_hi; c++)
            FN(wino_input_channel)(s, a->x + c * plane_in, runs, n_runs, n_cols, buf,
                                   a->v + c * l->ldv, l->v_estride);
        pyconv_team_share(th, nb, &t_lo, &t_hi);
        for (int64_t p = t_lo; p < t_hi; p++) FN(wino_grad_tile)(a, t0 + p, p, z);
        pyconv_team_barrier();
        FN(wino_weight_products)(a, m_lo, m_hi, nb, b == 0);
    }
    return PYCONV_OK;
}

/* gw = G^T dU G for items [lo, hi) of (group, input channel), across the group's filters. */
static pyconv_status FN(wino_weight_filters)(const void *ctx, int64_t lo, int64_t hi,
                                             const pyconv_thread *th)
{
    const FN(wino_weight_args) *a = (const FN(wino_weight_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t ldc = a->l.ldc, us = a->l.u_estride;
    real *t = (real *)th->scratch, *o = t + 18 * ldc;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t g = item / cin_g, c = item % cin_g;
        const real *m = a->u + g * PYCONV_WINO_ELEMS * us + c * ldc;
        /* along the rows of the 6x6 domain: t[(i * 3 + k') * ldc + f] */
        for (int64_t i = 0; i < 6; i++) {
            const real *mi = m + i * 6 * us;
            FN(wino_gt_lines)(cout_g, mi, mi + us, mi + 2 * us, mi + 3 * us, mi + 4 * us,
                              mi + 5 * us, t + i * 3 * ldc, t + (i * 3 + 1) * ldc,
                              t + (i * 3 + 2) * ldc);
        }
        /* then along its columns: tap (k, k') of filter f at o[(k * 3 + k') * ldc + f] */
        for (int64_t j = 0; j < 3; j++)
            FN(wino_gt_lines)(cout_g, t + j * ldc, t + (3 + j) * ldc, t + (6 + j) * ldc,
                              t + (9 + j) * ldc, t + (12 + j) * ldc, t + (15 + j) * ldc,
                              o + j * ldc, o + (3 + j) * ldc, o + (6 + j) * ldc);
        real *dst = a->gw + g * cout_g * cin_g * 9 + c * 9;
        for (int64_t f = 0; f < cout_g; f++)
            for (int64_t k = 0; k < 9; k++) dst[f * cin_g * 9 + k] = o[k * ldc + f];
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
    a.u = (real *)(ws + l->u_at);
    a.rows = (const real **)(ws + l->rows_at);
    a.off = (int64_t *)(ws + l->off_at);
    const int64_t cin_g = s->c_in / s->groups;
    for (int64_t g = 0; g < s->groups; g++)
        for (int64_t e = 0; e < PYCONV_WINO_ELEMS; e++)
            for (int64_t c = 0; c < l->cpad; c++)
                a.rows[(g * PYCONV_WINO_ELEMS + e) * l->cpad + c] =
                    a.v + e * l->v_estride + (g * cin_g + (c < cin_g ? c : 0)) * l->ldv;
    const pyconv_status st = pyconv_run_team(l->nt, FN(wino_weight_team), &a,
                                             (pyconv_scratch){PYCONV_ARENA_CONV_1, l->work_bytes});
    if (st != PYCONV_OK) return st;
    return pyconv_parallel_for(s->c_in, (double)PYCONV_WINO_ELEMS * (double)s->c_out * (double)cin_g,
                               n_threads, FN(wino_weight_filters), &a,
                               (pyconv_scratch){PYCONV_ARENA_CONV_1, l->filter_bytes});
}

double FN(pyconv_weight_winograd_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_wino_weight_layout l = FN(wino_weight_layout_of)(s, n_threads);
    return (double)l.shared_bytes +
           (double)n_threads * (double)PYCONV_MAX(l.work_bytes, l.filter_bytes);
}
