/* Template: the Winograd F(4x4, 3x3) products with the filter transform fused in, for an
 * instruction set with 32 vector registers (AVX-512), at the width the including file defines
 * (PYCONV_SIMD_BYTES, PYCONV_SIMD_TARGET, PYCONV_SIMD_CFG, PYCONV_SIMD_NAME; ukernel_simd_t.h).
 *
 * The GEMM path of conv/winograd_t.h transforms a panel's filters (U = G g G^T: 36 values a
 * filter and channel, four times the weights) into L2 and reads them back in 36 GEMMs; with
 * few tiles (batch 1, 7x7 and 14x14 images) that round trip and the transform cost as much as
 * the products. Here a filter's 36 values are made in registers from its 9 taps, one row of the
 * 6x6 at a time, and used at once by TG tiles: 6 x TG accumulators (24 of the 32 registers at
 * TG = 4), so nothing but the taps and the transformed input is read. The transform uses G's
 * rows scaled to small integers, G = D Gs with
 *     D = diag(1/4, -1/6, -1/6, 1/24, 1/24, 1),  Gs = [1 0 0; 1 1 1; 1 -1 1; 1 2 4; 1 -2 4; 0 0 1],
 * which costs 6 additions or multiply-adds a row instead of 9 and moves the scales (d_a d_b for
 * element e = 6a + b) to the store of M, once per accumulator. */
typedef real FN(wino_vec) __attribute__((vector_size(PYCONV_SIMD_BYTES)));
typedef real FN(wino_vec_u) __attribute__((vector_size(PYCONV_SIMD_BYTES), aligned(sizeof(real))));

/* Row a of the 6x6 (elements 6a .. 6a + 5) for the filters of vector h of the panel: the sum
 * over channels c < kc of U_e(c, filter) * V(c, e, t) for the TG tiles t, into
 * m[e * m_estride + t * ldm + h * L] (added to it when beta is 1). a and flipped are constants
 * once inlined. */
__attribute__((target(PYCONV_SIMD_TARGET), always_inline))
static inline void FN(wino_fused_row)(const int a, const int flipped, int64_t kc,
                                      const real *PYCONV_RESTRICT taps, int h,
                                      const real *PYCONV_RESTRICT v, real beta,
                                      real *PYCONV_RESTRICT m, int64_t m_estride, int64_t ldm)
{
    typedef FN(wino_vec) vec;
    typedef FN(wino_vec_u) vec_u;
    enum {
        L = PYCONV_SIMD_BYTES / sizeof(real),
        NR = FN(PYCONV_SIMD_CFG(NR)),
        TG = PYCONV_SIMD_CFG(WINO_TILES)
    };
    static const double d[6] = {1.0 / 4, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24, 1.0};
    vec acc[6][TG];
#pragma GCC unroll 6
    for (int b = 0; b < 6; b++)
#pragma GCC unroll 8
        for (int t = 0; t < TG; t++) acc[b][t] = (vec){0};
    for (int64_t c = 0; c < kc; c++) {
        const real *g = taps + c * 9 * NR + h * L;
/* tap (i, j) of the 3x3, read flipped for the input gradient's transposed convolution */
#define PYCONV_WINO_TAP(i, j)                                                                   \
    (*(const vec_u *)(g + (flipped ? 8 - 3 * (i) - (j) : 3 * (i) + (j)) * NR))
/* Gs row a applied down column j of the taps */
#define PYCONV_WINO_GS_COL(j)                                                                   \
    (a == 0   ? PYCONV_WINO_TAP(0, j)                                                          \
     : a == 1 ? PYCONV_WINO_TAP(0, j) + PYCONV_WINO_TAP(1, j) + PYCONV_WINO_TAP(2, j)          \
     : a == 2 ? PYCONV_WINO_TAP(0, j) - PYCONV_WINO_TAP(1, j) + PYCONV_WINO_TAP(2, j)          \
     : a == 3 ? PYCONV_WINO_TAP(0, j) + 2 * PYCONV_WINO_TAP(1, j) + 4 * PYCONV_WINO_TAP(2, j)  \
     : a == 4 ? PYCONV_WINO_TAP(0, j) - 2 * PYCONV_WINO_TAP(1, j) + 4 * PYCONV_WINO_TAP(2, j)  \
              : PYCONV_WINO_TAP(2, j))
        const vec r0 = PYCONV_WINO_GS_COL(0), r1 = PYCONV_WINO_GS_COL(1);
        const vec r2 = PYCONV_WINO_GS_COL(2);
#undef PYCONV_WINO_GS_COL
#undef PYCONV_WINO_TAP
        /* then Gs along the row */
        const vec s02 = r0 + r2, q02 = r0 + 4 * r2;
        const vec u[6] = {r0, s02 + r1, s02 - r1, q02 + 2 * r1, q02 - 2 * r1, r2};
        const real *vc = v + (c * 36 + 6 * a) * TG;
#pragma GCC unroll 6
        for (int b = 0; b < 6; b++)
#pragma GCC unroll 8
            for (int t = 0; t < TG; t++) acc[b][t] += vc[b * TG + t] * u[b];
    }
#pragma GCC unroll 6
    for (int b = 0; b < 6; b++) {
        const real scale = (real)(d[a] * d[b]);
#pragma GCC unroll 8
        for (int t = 0; t < TG; t++) {
            vec_u *out = (vec_u *)(m + (6 * a + b) * m_estride + t * ldm + h * L);
            *out = beta == 0 ? scale * acc[b][t] : scale * acc[b][t] + *out;
        }
    }
}

/* M_e(t, f) = sum_c V(c, e, t) U_e(c, f) (+ M_e(t, f) when beta is 1) for the 36 elements e,
 * the TG tiles t of one group and the NR filters f of one panel, channels c < kc:
 *     taps[(c * 9 + k) * NR + f]   tap k of filter f, channel c (the 3x3 flipped when flipped),
 *     v[(c * 36 + e) * TG + t]     the transformed input,
 *     m[e * m_estride + t * ldm + f]. */
__attribute__((target(PYCONV_SIMD_TARGET)))
void FN(PYCONV_SIMD_NAME(pyconv_ukernel_wino))(int64_t kc, const real *taps, int flipped,
                                                const real *v, real beta, real *m,
                                                int64_t m_estride, int64_t ldm)
{
    enum { L = PYCONV_SIMD_BYTES / sizeof(real), NR = FN(PYCONV_SIMD_CFG(NR)) };
    _Static_assert(NR % L == 0, "the panel is whole vectors");
#define PYCONV_WINO_ROWS(flip)                                                                  \
    for (int h = 0; h < NR / L; h++) {                                                         \
        FN(wino_fused_row)(0, flip, kc, taps, h, v, beta, m, m_estride, ldm);                  \
        FN(wino_fused_row)(1, flip, kc, taps, h, v, beta, m, m_estride, ldm);                  \
        FN(wino_fused_row)(2, flip, kc, taps, h, v, beta, m, m_estride, ldm);                  \
        FN(wino_fused_row)(3, flip, kc, taps, h, v, beta, m, m_estride, ldm);                  \
        FN(wino_fused_row)(4, flip, kc, taps, h, v, beta, m, m_estride, ldm);                  \
        FN(wino_fused_row)(5, flip, kc, taps, h, v, beta, m, m_estride, ldm);                  \
    }
    if (flipped) {
        PYCONV_WINO_ROWS(1)
    } else {
        PYCONV_WINO_ROWS(0)
    }
#undef PYCONV_WINO_ROWS
}
