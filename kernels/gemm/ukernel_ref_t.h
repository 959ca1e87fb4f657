/* Template: the portable MR x NR micro-kernel (plain loops the compiler vectorizes), with A
 * packed or gathered as in ukernel_simd_t.h; rows i < m of C are computed. It fetches nothing
 * ahead (pf unused): plain C. */
PYCONV_INLINE void FN(ref_tile)(const int m, int64_t kc, real alpha, const real *PYCONV_RESTRICT a,
                                const int64_t *PYCONV_RESTRICT off, const real *const *rows,
                                const real *PYCONV_RESTRICT b, real beta,
                                real *PYCONV_RESTRICT c, int64_t ldc, pyconv_prefetch pf)
{
    (void)pf;
    enum { MR = FN(PYCONV_REF_MR), NR = FN(PYCONV_REF_NR) };
    real acc[MR][NR] = {{0}};
    for (int64_t p = 0; p < kc; p++, b += NR) {
        for (int i = 0; i < m; i++) {
            const real ai = off == NULL ? a[p * MR + i] : rows[i][off[p]];
            for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
        }
    }
    for (int i = 0; i < m; i++, c += ldc) {
        if (beta == 0)
            for (int j = 0; j < NR; j++) c[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < NR; j++) c[j] = alpha * acc[i][j] + beta * c[j];
    }
}

#define PYCONV_UKERNEL_TILE ref_tile
#define PYCONV_UKERNEL_MR FN(PYCONV_REF_MR)
#define PYCONV_UKERNEL_NAME(f) f##_ref
#define PYCONV_UKERNEL_ATTR
#include "gemm/ukernel_entry_t.h"
