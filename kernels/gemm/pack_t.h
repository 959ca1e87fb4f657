/* Template: pack X(x, p) = base[x*sx + p*sp] into w-wide micro-panels, and a gathered A block
 * into MR-row ones. */

/* One micro-panel of `width` <= w valid rows, the rest zero. Inlined with constant w and
 * sx (below), so full panels become unrolled copies (sx == 1: the panel's values are
 * contiguous, as in B or a transposed A) or unrolled gathers of w rows (sp == 1). */
PYCONV_INLINE void FN(pack_panel)(const real *PYCONV_RESTRICT src, int64_t sx, int64_t sp,
                                  int64_t width, int64_t kc, int64_t w,
                                  real *PYCONV_RESTRICT dst)
{
    if (width == w && sx == 1) {
        /* A constant-size memcpy is inlined; the equivalent loop became a call per row. */
        for (int64_t p = 0; p < kc; p++) memcpy(dst + p * w, src + p * sp, (size_t)w * sizeof(real));
        return;
    }
    if (sp == 1) {
        /* a transpose: B from a row-major weight matrix, A from a column-major one */
        FN(pyconv_pack_rows)(src, sx, width, kc, w, dst);
        return;
    }
    if (width == w) {
        for (int64_t p = 0; p < kc; p++)
            for (int64_t r = 0; r < w; r++) dst[p * w + r] = src[p * sp + r * sx];
        return;
    }
    for (int64_t p = 0; p < kc; p++) {
        for (int64_t r = 0; r < width; r++) dst[p * w + r] = src[p * sp + r * sx];
        for (int64_t r = width; r < w; r++) dst[p * w + r] = 0;
    }
}

void FN(pyconv_pack_rows)(const real *src, int64_t sx, int64_t width, int64_t np, int64_t w,
                          real *dst)
{
    const FN(pyconv_pack_transposed) transposed = pyconv_gemm_active_arch()->FN(pack_transposed);
    if (transposed != NULL) {
        transposed(src, sx, width, np, w, dst);
        return;
    }
    /* blocks of 16 k-indices, so each row's cache line is read once, whole, and the block's
     * 16 x w values are written while they are in L1 */
    for (int64_t p = 0; p < np; p += 16) {
        const int64_t nq = PYCONV_MIN(16, np - p);
        for (int64_t r = 0; r < width; r++)
            for (int64_t q = 0; q < nq; q++) dst[(p + q) * w + r] = src[r * sx + p + q];
        for (int64_t q = 0; q < nq; q++)
            for (int64_t r = width; r < w; r++) dst[(p + q) * w + r] = 0;
    }
}

/* Every micro-panel width in gemm_config.h gets its own constant-width copy. */
#define PYCONV_PACK_WIDTH(W)                                                                  \
    case W:                                                                                     \
        if (sx == 1)                                                                            \
            FN(pack_panel)(src, 1, sp, width, kc, W, dst);                                      \
        else                                                                                    \
            FN(pack_panel)(src, sx, sp, width, kc, W, dst);                                     \
        break;

void FN(pyconv_pack_strided)(const void *ctx, int64_t x0, int64_t nx, int64_t p0, int64_t kc,
                             int64_t w, real *dst)
{
    const FN(pyconv_strided) *m = (const FN(pyconv_strided) *)ctx;
    const int64_t sx = m->sx, sp = m->sp;
    for (int64_t x = 0; x < nx; x += w, dst += kc * w) {
        const real *src = m->base + (x0 + x) * sx + p0 * sp;
        const int64_t width = PYCONV_MIN(w, nx - x);
        switch (w) {
            PYCONV_PACK_WIDTH(4)
            PYCONV_PACK_WIDTH(6)
            PYCONV_PACK_WIDTH(8)
            PYCONV_PACK_WIDTH(12)
            PYCONV_PACK_WIDTH(16)
            PYCONV_PACK_WIDTH(32)
            default: FN(pack_panel)(src, sx, sp, width, kc, w, dst);
        }
    }
}
#undef PYCONV_PACK_WIDTH

/* One mr-row micro-panel of a gathered A; mr is a constant once inlined (below), so a full
 * tile of rows one value apart (a stride-1 convolution's pixels along an output row) is one
 * constant-size copy per k index, any other full tile mr unrolled loads from row pointers
 * held in registers; only the short tile at the block's end loops over its h rows. */
PYCONV_INLINE void FN(pack_gathered_panel)(const real *const *PYCONV_RESTRICT rows,
                                           const int64_t *PYCONV_RESTRICT off, int64_t h,
                                           int64_t kc, int64_t mr, real *PYCONV_RESTRICT dst)
{
    if (h < mr) {
        for (int64_t p = 0; p < kc; p++)
            for (int64_t r = 0; r < h; r++) dst[p * mr + r] = rows[r][off[p]];
        return;
    }
    int contiguous = 1;
    for (int64_t r = 1; r < mr; r++) contiguous &= rows[r] == rows[0] + r;
    if (contiguous) {
        for (int64_t p = 0; p < kc; p++)
            memcpy(dst + p * mr, rows[0] + off[p], (size_t)mr * sizeof(real));
        return;
    }
    for (int64_t p = 0; p < kc; p++)
        for (int64_t r = 0; r < mr; r++) dst[p * mr + r] = rows[r][off[p]];
}

#define PYCONV_PACK_HEIGHT(H)                                                                \
    case H:                                                                                  \
        FN(pack_gathered_panel)(rows + i, off, PYCONV_MIN(H, m - i), kc, H, dst + i * kc);   \
        break;

void FN(pyconv_pack_gathered)(const real *const *rows, const int64_t *off, int64_t m, int64_t kc,
                              int64_t mr, real *dst)
{
    for (int64_t i = 0; i < m; i += mr) {
        switch (mr) {
            PYCONV_PACK_HEIGHT(4)
            PYCONV_PACK_HEIGHT(6)
            PYCONV_PACK_HEIGHT(7)
            PYCONV_PACK_HEIGHT(8)
            PYCONV_PACK_HEIGHT(12)
            default:
                FN(pack_gathered_panel)(rows + i, off, PYCONV_MIN(mr, m - i), kc, mr, dst + i * kc);
        }
    }
}
#undef PYCONV_PACK_HEIGHT
