/* Template: the GEMM driver (loops around the micro-kernel) and the strided-matrix GEMM. */

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

/* A rows x cols tile at the edge of C: the micro-kernel writes a full tile into a temporary,
 * then only the valid part is merged into C. */
static void FN(edge_tile)(FN(pyconv_ukernel) ukernel, int64_t kc, real alpha, const real *a,
                          const real *b, real beta, real *c, int64_t ldc, int64_t rows,
                          int64_t cols, int64_t nr)
{
    real tile[PYCONV_GEMM_MAX_TILE];
    ukernel(kc, alpha, a, b, 0, tile, nr);
    for (int64_t i = 0; i < rows; i++) {
        const real *t = tile + i * nr;
        real *row = c + i * ldc;
        if (beta == 0)
            FN(copy_short)(row, t, cols);
        else
            for (int64_t j = 0; j < cols; j++) row[j] = t[j] + beta * row[j];
    }
}

/* The macro-kernel: a packed mc x kc A block times the packed B micro-panels
 * [jp_lo, jp_hi) of a kc x nc block, into C (which points at the block's top-left). */
static void FN(macro_kernel)(FN(pyconv_ukernel) ukernel, const pyconv_gemm_blocking *blk,
                             int64_t mc, int64_t nc, int64_t kc, int64_t jp_lo, int64_t jp_hi,
                             real alpha, const real *a_block, const real *b_block, real beta,
                             real *c, int64_t ldc)
{
    const int64_t mr = blk->mr, nr = blk->nr;
    /* loop 2 around the micro-kernel: NR-wide micro-panels of B (one stays in L1) */
    for (int64_t jp = jp_lo; jp < jp_hi; jp++) {
        const real *b_panel = b_block + jp * kc * nr;
        int64_t cols = PYCONV_MIN(nr, nc - jp * nr);
        /* loop 1 around the micro-kernel: MR-tall micro-panels of A (streamed from L2) */
        for (int64_t i = 0; i < mc; i += mr) {
            const real *a_panel = a_block + i * kc;
            real *c_tile = c + i * ldc + jp * nr;
            int64_t rows = PYCONV_MIN(mr, mc - i);
            if (rows == mr && cols == nr)
                ukernel(kc, alpha, a_panel, b_panel, beta, c_tile, ldc);
            else
                FN(edge_tile)(ukernel, kc, alpha, a_panel, b_panel, beta, c_tile, ldc, rows,
                              cols, nr);
        }
    }
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
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const FN(pyconv_ukernel) ukernel = arch->FN(ukernel);
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr;
    const int64_t mp = (m + mr - 1) / mr;                          /* micro-panels of A */
    const int64_t np_max = (PYCONV_MIN(n, blk.nc) + nr - 1) / nr;  /* ... of a B block */
    const int64_t kc_max = PYCONV_MIN(k, blk.kc);
    const int nt = pyconv_gemm_thread_count(m, n, k, mp * np_max, n_threads);
    int t_ic = 1, t_jr = 1;
    choose_thread_grid(mp, np_max, nt, &t_ic, &t_jr);

    /* The B block is shared by all threads (the caller's arena); each thread packs its own
     * A block into its own arena. */
    const size_t a_bytes = (size_t)(PYCONV_MIN(mp * mr, blk.mc) * kc_max) * sizeof(real);
    real *b_block = (real *)pyconv_arena_get(PYCONV_ARENA_GEMM_B,
                                             (size_t)(np_max * nr * kc_max) * sizeof(real));
    if (b_block == NULL) return PYCONV_ERR_NOMEM;
    int failed = 0;

#pragma omp parallel num_threads(nt)
    {
        pyconv_fpmode fpmode = pyconv_ftz_enter();
        /* A thread without its A block skips its share of C; the call then fails as a whole. */
        real *a_block = (real *)pyconv_arena_get(PYCONV_ARENA_GEMM_A, a_bytes);
        if (a_block == NULL) {
#pragma omp atomic write
            failed = 1;
        }
        /* loop 5 around the micro-kernel: NC-wide column blocks of B and C */
        for (int64_t jc = 0; jc < n; jc += blk.nc) {
            const int64_t nc = PYCONV_MIN(blk.nc, n - jc);
            const int64_t np = (nc + nr - 1) / nr;
            /* loop 4 around the micro-kernel: KC-deep slices of A and B */
            for (int64_t pc = 0; pc < k; pc += blk.kc) {
                const int64_t kc = PYCONV_MIN(blk.kc, k - pc);
                const real beta_pc = pc == 0 ? beta : (real)1;
                /* Everyone is done with the previous B block before it is overwritten (the
                 * compute loop below ends without a barrier: the region's end is one). */
                if (jc > 0 || pc > 0) {
#pragma omp barrier
                }
                /* The threads pack disjoint ranges of B micro-panels; the loop's implicit
                 * barrier completes the block before anyone reads it. */
#pragma omp for schedule(static)
                for (int t = 0; t < nt; t++) {
                    int64_t lo = np * t / nt, hi = np * (t + 1) / nt;
                    if (hi > lo)
                        pack_b(b_ctx, jc + lo * nr, PYCONV_MIN(hi * nr, nc) - lo * nr, pc, kc,
                               nr, b_block + lo * kc * nr);
                }
                /* One (rows, micro-panel columns) part of the C block per thread. */
#pragma omp for schedule(static) nowait
                for (int t = 0; t < nt; t++) {
                    const int ti = t / t_jr, tj = t % t_jr;
                    const int64_t i_lo = mp * ti / t_ic * mr;
                    const int64_t i_hi = PYCONV_MIN(m, mp * (ti + 1) / t_ic * mr);
                    const int64_t jp_lo = np * tj / t_jr, jp_hi = np * (tj + 1) / t_jr;
                    if (jp_hi == jp_lo || a_block == NULL) continue;
                    /* loop 3 around the micro-kernel: MC-tall row blocks of A and C */
                    for (int64_t ic = i_lo; ic < i_hi; ic += blk.mc) {
                        const int64_t mc = PYCONV_MIN(blk.mc, i_hi - ic);
                        pack_a(a_ctx, ic, mc, pc, kc, mr, a_block);
                        FN(macro_kernel)(ukernel, &blk, mc, nc, kc, jp_lo, jp_hi, alpha, a_block,
                                         b_block, beta_pc, c + ic * ldc + jc, ldc);
                    }
                }
            }
        }
        pyconv_ftz_exit(fpmode);
    }
    return failed ? PYCONV_ERR_NOMEM : PYCONV_OK;
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
    /* As pack sources: A(i, p) and B(p, j), indexed (panel index, k index). */
    const FN(pyconv_strided) a_mat = {a, trans_a ? 1 : lda, trans_a ? lda : 1};
    const FN(pyconv_strided) b_mat = {b, trans_b ? ldb : 1, trans_b ? 1 : ldb};
    return FN(pyconv_gemm_driver)(m, n, k, alpha, FN(pyconv_pack_strided), &a_mat,
                                  FN(pyconv_pack_strided), &b_mat, beta, c, ldc, n_threads);
}
