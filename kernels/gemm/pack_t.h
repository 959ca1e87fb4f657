/* Template: pack X(x, p) = base[x*sx + p*sp] into w-wide micro-panels. */

/* One micro-panel of `width` <= w valid rows; inlined twice so sx == 1 (B, or a transposed A:
 * the panel's values are contiguous in memory) gets a constant stride the compiler can
 * vectorize. */
PYCONV_INLINE void FN(pack_panel)(const real *PYCONV_RESTRICT src, int64_t sx, int64_t sp,
                                  int64_t width, int64_t kc, int64_t w,
                                  real *PYCONV_RESTRICT dst)
{
    for (int64_t p = 0; p < kc; p++) {
        const real *s = src + p * sp;
        real *d = dst + p * w;
        for (int64_t r = 0; r < width; r++) d[r] = s[r * sx];
        for (int64_t r = width; r < w; r++) d[r] = 0;
    }
}

void FN(pyconv_pack_strided)(const void *ctx, int64_t x0, int64_t nx, int64_t p0, int64_t kc,
                             int64_t w, real *dst)
{
    const FN(pyconv_strided) *m = (const FN(pyconv_strided) *)ctx;
    for (int64_t x = 0; x < nx; x += w, dst += kc * w) {
        const real *src = m->base + (x0 + x) * m->sx + p0 * m->sp;
        int64_t width = PYCONV_MIN(w, nx - x);
        if (m->sx == 1)
            FN(pack_panel)(src, 1, m->sp, width, kc, w, dst);
        else
            FN(pack_panel)(src, m->sx, m->sp, width, kc, w, dst);
    }
}
