/* Template: the NEON micro-kernel (aarch64: 32 registers of 16 bytes), MR rows x NV vectors,
 * with the tile shapes BLIS's armv8a kernels use: 8 x 12 float (8 x 3 vectors: 24
 * accumulators, 3 B vectors, 2 vectors of A) and 6 x 8 double (6 x 4 vectors: 24
 * accumulators, 4 B vectors, 3 vectors of A); gemm_config.h sets MR and NR per dtype. Written
 * with GCC vector extensions as ukernel_simd_t.h (one source for both dtypes); the loops over
 * the tile have constant bounds and are unrolled, so the accumulators live in registers and
 * `acc += lane * vec` becomes an fmla by element. A is packed or gathered, as in ukernel_simd_t.h. */
typedef real FN(neon_vec) __attribute__((vector_size(16), aligned(sizeof(real))));

/* A(i, p) = a[p*MR + i] when off is NULL, else rows[i][off[p]]; rows i < m (a constant once
 * inlined) of C are computed; pf's lines fetched one per k step. */
__attribute__((always_inline))
static inline void FN(neon_tile)(const int m, int64_t kc, real alpha, const real *PYCONV_RESTRICT a,
                                 const int64_t *PYCONV_RESTRICT off, const real *const *rows,
                                 const real *PYCONV_RESTRICT b, real beta,
                                 real *PYCONV_RESTRICT c, int64_t ldc, pyconv_prefetch pf)
{
    typedef FN(neon_vec) vec;
    enum { L = 16 / sizeof(real), MR = FN(PYCONV_NEON_MR), NV = FN(PYCONV_NEON_NR) / L };
    _Static_assert(FN(PYCONV_NEON_NR) % L == 0 && MR % L == 0, "MR and NR must be whole vectors");
    const int h = m < MR ? m : MR;
    vec acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < h; i++)
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) acc[i][j] = (vec){0};
    for (int64_t p = 0; p < kc; p++, b += NV * L) {
        if (p < pf.lines) __builtin_prefetch((const char *)pf.next + p * PYCONV_ALIGN, 0, 2);
        vec bv[NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) bv[j] = *(const vec *)(b + j * L);
        /* A's MR values as MR / L vectors, used lane by lane (fmla by element): MR scalar
         * registers would leave too few for the accumulators */
        vec av[MR / L];
        if (off == NULL) {
#pragma GCC unroll 4
            for (int v = 0; v < MR / L; v++) av[v] = *(const vec *)(a + p * MR + v * L);
        } else {
            const int64_t o = off[p];
#pragma GCC unroll 8
            for (int i = 0; i < h; i++) av[i / L][i % L] = rows[i][o];
        }
#pragma GCC unroll 8
        for (int i = 0; i < h; i++)
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) acc[i][j] += av[i / L][i % L] * bv[j];
    }
#pragma GCC unroll 8
    for (int i = 0; i < h; i++) {
        vec *row = (vec *)(c + i * ldc);
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++)
            row[j] = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * row[j];
    }
}

#define PYCONV_UKERNEL_TILE neon_tile
#define PYCONV_UKERNEL_MR FN(PYCONV_NEON_MR)
#define PYCONV_UKERNEL_NAME(f) f##_neon
#define PYCONV_UKERNEL_ATTR
#include "gemm/ukernel_entry_t.h"
