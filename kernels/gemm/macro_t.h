/* Template: the macro-kernel (loops 2 and 1 around the micro-kernel, edge tiles) that the GEMM
 * driver and the implicit-GEMM convolutions share, the GEMM driver (loops 5, 4, 3) and the
 * strided-matrix GEMM. */

/* Copy n values of a row of a micro-tile. Such rows are a few to a few dozen values long; a
 * plain copy loop becomes a memmove call whose overhead dominates copies this short, so the
 * copy is made of constant-size 4-value blocks (vector moves), the last one overlapping its
 * predecessor. */
PYCONV_INLINE void FN(copy_short)(real *PYCONV_RESTRICT dst, const real *PYCONV_RESTRICT src,
                                  int64_t n)
{
    if (n >= 4) {
        for (int64_t t = 0; t < n - 4; t += 4) {
            memcpy(dst + t, src + t, 4 * sizeof(real));
            PYCONV_NO_LIBCALL_LOOP();
        }
        memcpy(dst + n - 4, src + n - 4, 4 * sizeof(real));
        return;
    }
    if (n > 0) dst[0] = src[0];
    if (n > 1) dst[1] = src[1];
    if (n > 2) dst[2] = src[2];
}

/* C = beta * C: the whole product when k == 0 or alpha == 0 (beta == 0 does not read C). */
static void FN(scale_c)(int64_t m, int64_t n, real beta, real *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) {
        real *row = c + i * ldc;
        if (beta == 0)
            memset(row, 0, (size_t)n * sizeof(real));
        else if (beta != 1)
            for (int64_t j = 0; j < n; j++) row[j] *= beta;
    }
}

/* The first `rows` rows of an MR x NR tile of A times a B micro-panel: from A's packed
 * micro-panel, or gathered. */
PYCONV_INLINE void FN(tile)(const pyconv_gemm_arch *arch, int64_t rows, int64_t kc, real alpha,
                            const FN(pyconv_a_source) *a, int64_t i, const real *b_panel,
                            real beta, real *c, int64_t ldc, pyconv_prefetch pf)
{
    if (a->rows == NULL)
        arch->FN(ukernel)(rows, kc, alpha, a->packed + i * kc, b_panel, beta, c, ldc, pf);
    else
        arch->FN(ukernel_gather)(rows, kc, a->off, a->rows + i, b_panel, beta, c, ldc, pf);
}

/* A rows x cols tile at the edge of C, cols < NR: the micro-kernel writes the rows' full width
 * into a temporary, then only the valid part is merged into C. */
static void FN(edge_tile)(const pyconv_gemm_arch *arch, int64_t kc, real alpha,
                          const FN(pyconv_a_source) *a, int64_t i, const real *b_panel, real beta,
                          real *c, int64_t ldc, int64_t rows, int64_t cols, int64_t nr)
{
    real tile[PYCONV_GEMM_MAX_TILE];
    FN(tile)(arch, rows, kc, alpha, a, i, b_panel, 0, tile, nr, PYCONV_NO_PREFETCH);
    for (int64_t r = 0; r < rows; r++) {
        const real *t = tile + r * nr;
        real *row = c + r * ldc;
        if (beta == 0)
            FN(copy_short)(row, t, cols);
        else
            for (int64_t j = 0; j < cols; j++) row[j] = t[j] + beta * row[j];
    }
}

void FN(pyconv_macro_kernel)(const pyconv_gemm_arch *arch, int64_t mc, int64_t nc, int64_t kc,
                             int64_t jp_lo, int64_t jp_hi, real alpha, const FN(pyconv_a_source) *a,
                             const real *b_block, int64_t b_panel_stride, real beta, real *c,
                             int64_t ldc)
{
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr;
    /* loop 2 around the micro-kernel: NR-wide micro-panels of B (one stays in L1) */
    for (int64_t jp = jp_lo; jp < jp_hi; jp++) {
        const real *b_panel = b_block + jp * b_panel_stride;
        const int64_t cols = PYCONV_MIN(nr, nc - jp * nr);
        const int has_next = jp + 1 < jp_hi;
        /* the next B micro-panel is fetched into L2 by the tiles of this one, a share each,
         * one line per k step (at most kc lines a tile; pyconv_prefetch): packed weights read
         * once per call (a convolution's, at batch 1) come from memory, and the hardware
         * prefetcher would start on each micro-panel only after its first misses */
        const char *b_next = (const char *)(b_panel + b_panel_stride);
        const int64_t lines = has_next ? kc * nr * (int64_t)sizeof(real) / PYCONV_ALIGN : 0;
        const int64_t lines_per_tile = PYCONV_MIN((lines * mr + mc - 1) / mc, kc);
        /* loop 1 around the micro-kernel: MR-tall micro-panels of A (streamed from L2) */
        for (int64_t i = 0, line = 0; i < mc; i += mr) {
            const int64_t n_lines = PYCONV_MIN(lines_per_tile, lines - line);
            const pyconv_prefetch pf = {b_next + line * PYCONV_ALIGN, n_lines};
            line += n_lines;
            real *c_tile = c + i * ldc + jp * nr;
            const int64_t rows = PYCONV_MIN(mr, mc - i);
            /* the same rows of the next micro-panel's C tile are fetched for writing one
             * column of tiles ahead: with a short kc (pointwise layers) the tile's stores
             * would otherwise wait on memory, C being larger than the caches */
            if (has_next)
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t j = 0; j < nr; j += PYCONV_ALIGN / (int64_t)sizeof(real))
                        __builtin_prefetch(c_tile + r * ldc + nr + j, 1, 3);
            if (cols == nr)
                FN(tile)(arch, rows, kc, alpha, a, i, b_panel, beta, c_tile, ldc, pf);
            else
                FN(edge_tile)(arch, kc, alpha, a, i, b_panel, beta, c_tile, ldc, rows, cols, nr);
        }
    }
}

/* The driver's arguments and the blocking it derived, shared by its team. */
typedef struct {
    const pyconv_gemm_arch *arch;
    pyconv_gemm_blocking blk;
    int64_t m, n, k, mp;
    real alpha, beta;
    FN(pyconv_pack_fn) pack_a, pack_b;
    const void *a_ctx, *b_ctx;
    real *b_block;    /* the packed B block the team shares; NULL: each thread packs its own */
    int64_t a_elems;  /* ... after its A block, in its scratch */
    real *c;
    int64_t ldc;
} FN(driver_args);

/* Loops 5, 4 and 3 around the micro-kernel over the columns [j0, j1) of C, by the threads of
 * th's team, which share the packed B block b_block: they pack disjoint micro-panels of each B
 * block and meet at barriers around it (none for a team of one); a_block is this thread's
 * packed A block. */
static void FN(driver_loops)(const FN(driver_args) *d, int64_t j0, int64_t j1, real *b_block,
                             real *a_block, const pyconv_thread *th)
{
    const pyconv_gemm_blocking blk = d->blk;
    const int tid = th->tid, nt = th->n_threads;
    const int64_t mr = blk.mr, nr = blk.nr;
    int t_ic = 1, t_jr = 1;
    choose_thread_grid(d->mp, (PYCONV_MIN(j1 - j0, blk.nc) + nr - 1) / nr, nt, &t_ic, &t_jr);
    const int ti = tid / t_jr, tj = tid % t_jr;
    const FN(pyconv_a_source) a = {a_block, NULL, NULL};
    /* loop 5 around the micro-kernel: NC-wide column blocks of B and C */
    for (int64_t jc = j0; jc < j1; jc += blk.nc) {
        const int64_t nc = PYCONV_MIN(blk.nc, j1 - jc);
        const int64_t np = (nc + nr - 1) / nr;
        /* loop 4 around the micro-kernel: KC-deep slices of A and B */
        for (int64_t pc = 0; pc < d->k; pc += blk.kc) {
            const int64_t kc = PYCONV_MIN(blk.kc, d->k - pc);
            const real beta = pc == 0 ? d->beta : (real)1;
            /* everyone is done with the previous B block before it is overwritten */
            if (jc > j0 || pc > 0) pyconv_team_barrier(th);
            /* the threads pack disjoint ranges of B micro-panels, complete before use */
            const int64_t lo = np * tid / nt, hi = np * (tid + 1) / nt;
            if (hi > lo)
                d->pack_b(d->b_ctx, jc + lo * nr, PYCONV_MIN(hi * nr, nc) - lo * nr, pc, kc, nr,
                          b_block + lo * kc * nr);
            pyconv_team_barrier(th);
            /* one (rows, micro-panel columns) part of the C block per thread */
            const int64_t i_lo = d->mp * ti / t_ic * mr;
            const int64_t i_hi = PYCONV_MIN(d->m, d->mp * (ti + 1) / t_ic * mr);
            const int64_t jp_lo = np * tj / t_jr, jp_hi = np * (tj + 1) / t_jr;
            if (jp_hi == jp_lo) continue;
            /* loop 3 around the micro-kernel: MC-tall row blocks of A and C */
            for (int64_t ic = i_lo; ic < i_hi; ic += blk.mc) {
                const int64_t mc = PYCONV_MIN(blk.mc, i_hi - ic);
                d->pack_a(d->a_ctx, ic, mc, pc, kc, mr, a_block);
                FN(pyconv_macro_kernel)(d->arch, mc, nc, kc, jp_lo, jp_hi, d->alpha, &a, b_block,
                                        kc * nr, beta, d->c + ic * d->ldc + jc, d->ldc);
            }
        }
    }
}

/* The driver's team body: the whole C with the shared B block. */
static pyconv_status FN(driver_team)(const void *ctx, const pyconv_thread *th)
{
    const FN(driver_args) *d = (const FN(driver_args) *)ctx;
    FN(driver_loops)(d, 0, d->n, d->b_block, (real *)th->scratch, th);
    return PYCONV_OK;
}

/* The driver's range task: column chunks [lo, hi) of C (PYCONV_GEMM_CHUNK_PANELS micro-panels
 * each), with this thread's own A and B blocks and no barriers. */
static pyconv_status FN(driver_columns)(const void *ctx, int64_t lo, int64_t hi,
                                        const pyconv_thread *th)
{
    const FN(driver_args) *d = (const FN(driver_args) *)ctx;
    const int64_t chunk = PYCONV_GEMM_CHUNK_PANELS * d->blk.nr;
    const pyconv_thread alone = {0, 1, th->scratch, NULL, NULL};
    real *a_block = (real *)th->scratch;
    FN(driver_loops)(d, lo * chunk, PYCONV_MIN(hi * chunk, d->n), a_block + d->a_elems, a_block,
                     &alone);
    return PYCONV_OK;
}

pyconv_status FN(pyconv_gemm_driver)(int64_t m, int64_t n, int64_t k, real alpha,
                                     FN(pyconv_pack_fn) pack_a, const void *a_ctx,
                                     FN(pyconv_pack_fn) pack_b, const void *b_ctx, real beta,
                                     real *c, int64_t ldc, int n_threads)
{
    if (m < 0 || n < 0 || k < 0 || n_threads < 1 || (m > 1 && ldc < n)) return PYCONV_ERR_ARG;
    if (m == 0 || n == 0) return PYCONV_OK;
    if (k == 0 || alpha == 0) {
        FN(scale_c)(m, n, beta, c, ldc);
        return PYCONV_OK;
    }
    FN(driver_args) d = {pyconv_gemm_active_arch()};
    d.blk = d.arch->FN(blocking);
    const int64_t mr = d.blk.mr, nr = d.blk.nr;
    d.m = m, d.n = n, d.k = k, d.mp = (m + mr - 1) / mr;
    d.alpha = alpha, d.beta = beta;
    d.pack_a = pack_a, d.pack_b = pack_b, d.a_ctx = a_ctx, d.b_ctx = b_ctx;
    d.c = c, d.ldc = ldc;
    const int64_t np_all = (n + nr - 1) / nr, np_max = (PYCONV_MIN(n, d.blk.nc) + nr - 1) / nr;
    const int64_t kc_max = PYCONV_MIN(k, d.blk.kc);
    const int nt = pyconv_gemm_thread_count(m, n, k, d.mp * np_max, n_threads);
    const int64_t line = PYCONV_ALIGN / (int64_t)sizeof(real);
    d.a_elems = (PYCONV_MIN(d.mp * mr, d.blk.mc) * kc_max + line - 1) / line * line;
    pyconv_scratch scratch = {PYCONV_ARENA_GEMM_A, (size_t)d.a_elems * sizeof(real)};
    /* A of one MC block, or no larger than one packed A block, and columns enough for every
     * thread: the threads take parts of C's columns as they come (chunks of
     * PYCONV_GEMM_CHUNK_PANELS micro-panels), each packing all of A (at most MC x KC values, or
     * MC x K, against as many times a chunk's columns of products) and its own B, never
     * meeting at a barrier: a worker that wakes late does fewer parts. Otherwise the team
     * shares each packed B block (in the caller's arena) and each thread packs the A rows it
     * multiplies. */
    const int64_t chunks = (np_all + PYCONV_GEMM_CHUNK_PANELS - 1) / PYCONV_GEMM_CHUNK_PANELS;
    if (nt > 1 && (d.mp * mr <= d.blk.mc || m * k <= d.blk.mc * d.blk.kc) && chunks >= nt) {
        const int64_t np_own = PYCONV_MIN(
            pyconv_range_part(chunks, nt) * PYCONV_GEMM_CHUNK_PANELS, np_max);
        scratch.bytes += (size_t)(np_own * nr * kc_max) * sizeof(real);
        return pyconv_parallel_for(chunks, (double)m * (double)n * (double)k, nt,
                                   FN(driver_columns), &d, scratch);
    }
    /* the B block is shared by the team (the caller's arena); each thread packs its own A block,
     * its scratch */
    d.b_block = (real *)pyconv_arena_get(PYCONV_ARENA_GEMM_B,
                                         (size_t)(np_max * nr * kc_max) * sizeof(real));
    if (d.b_block == NULL) return PYCONV_ERR_NOMEM;
    return pyconv_run_team(nt, FN(driver_team), &d, scratch);
}

pyconv_status FN(pyconv_gemm)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                              real alpha, const real *a, int64_t lda, const real *b, int64_t ldb,
                              real beta, real *c, int64_t ldc, int n_threads)
{
    if (m < 0 || n < 0 || k < 0) return PYCONV_ERR_ARG;
    /* The stored A is m x k (k x m transposed), B is k x n (n x k): rows at least as long
     * as a row's elements. */
    if (m > 0 && k > 0 && (a == NULL || lda < (trans_a ? m : k))) return PYCONV_ERR_ARG;
    if (n > 0 && k > 0 && (b == NULL || ldb < (trans_b ? k : n))) return PYCONV_ERR_ARG;
    if (m > 0 && n > 0 && (c == NULL || ldc < n)) return PYCONV_ERR_ARG;
    /* every offset the loops form stays within int64 */
    if (!pyconv_fits(PYCONV_MAX(m, k), PYCONV_MAX(lda, 1), 1, 1) ||
        !pyconv_fits(PYCONV_MAX(k, n), PYCONV_MAX(ldb, 1), 1, 1) || !pyconv_fits(m, PYCONV_MAX(ldc, 1), 1, 1))
        return PYCONV_ERR_ARG;
    /* As pack sources: A(i, p) and B(p, j), indexed (panel index, k index). */
    const FN(pyconv_strided) a_mat = {a, trans_a ? 1 : lda, trans_a ? lda : 1};
    const FN(pyconv_strided) b_mat = {b, trans_b ? ldb : 1, trans_b ? 1 : ldb};
    return FN(pyconv_gemm_driver)(m, n, k, alpha, FN(pyconv_pack_strided), &a_mat,
                                  FN(pyconv_pack_strided), &b_mat, beta, c, ldc, n_threads);
}
