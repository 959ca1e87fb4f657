/* Template: the MR x (2 vectors) SIMD micro-kernel, for one instruction set and tile height per
 * including file: AVX2 + FMA (32-byte vectors: 6x16 float, 6x8 double) and AVX-512 (64-byte
 * vectors: 7x32 / 7x16, and 12x32 / 12x16). The including file defines
 *   PYCONV_SIMD_BYTES      the vector width in bytes,
 *   PYCONV_SIMD_TARGET     the target attribute that enables the instructions,
 *   PYCONV_SIMD_CFG(x)     the gemm_config.h name of blocking parameter x (MR, NR, ...),
 *   PYCONV_SIMD_NAME(f)    the exported name of function f for this kernel.
 * Written with GCC vector extensions (one source for every width, height and dtype); in a
 * function compiled for the target, `acc += scalar * vec` becomes a broadcast and a vfmadd,
 * and the fully unrolled row loops keep the 2 * MR accumulators in registers: 12 + 3 of 16
 * ymm registers at MR = 6, 14 + 3 of 32 zmm at MR = 7, 24 + 3 at MR = 12. More accumulators hide more FMA
 * latency and load fewer B vectors per FMA (the 12-row tile, for cores whose FMA pipes need
 * them; gemm_config.h).
 * One body, two entry points: A from a packed micro-panel (the GEMM), or gathered through
 * row pointers and an offset table (the convolution's implicit GEMM, gemm_internal.h); each
 * instantiated per tile height m = 1 .. MR (ukernel_entry_t.h), so a short tile at C's edge
 * costs its m rows' multiply-adds, not MR's. */
typedef real FN(vec) __attribute__((vector_size(PYCONV_SIMD_BYTES)));
/* The same vector with the element's alignment, for loads and stores of C. */
typedef real FN(vec_u) __attribute__((vector_size(PYCONV_SIMD_BYTES), aligned(sizeof(real))));

/* A(i, p) = a[p*MR + i] when off is NULL, else rows[i][off[p]]; rows i < m (a constant once
 * inlined) of C are computed; pf's lines fetched one per k step. */
__attribute__((target(PYCONV_SIMD_TARGET), always_inline))
static inline void FN(simd_tile)(const int m, int64_t kc, real alpha, const real *PYCONV_RESTRICT a,
                                 const int64_t *PYCONV_RESTRICT off, const real *const *rows,
                                 const real *PYCONV_RESTRICT b, real beta,
                                 real *PYCONV_RESTRICT c, int64_t ldc, pyconv_prefetch pf)
{
    typedef FN(vec) vec;
    typedef FN(vec_u) vec_u;
    enum { L = PYCONV_SIMD_BYTES / sizeof(real), MR = FN(PYCONV_SIMD_CFG(MR)) };
    _Static_assert(FN(PYCONV_SIMD_CFG(NR)) == 2 * L, "the SIMD micro-kernel's tiles are 2 vectors wide");
    const int h = m < MR ? m : MR;
    vec acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < h; r++) {
        acc0[r] = (vec){0};
        acc1[r] = (vec){0};
        __builtin_prefetch(c + r * ldc, 1);
    }
    /* the first n_pf k steps fetch pf's lines, one each; the loop after them runs without
     * the test (it cost 3-5% of a pointwise layer whose weights come from L3) */
    const int64_t n_pf = pf.lines < kc ? pf.lines : kc;
    int64_t p = 0;
/* k step p: the B micro-panel's row times A(r, p) = av for the tile's rows */
#define PYCONV_SIMD_STEP(av)                                                                   \
    do {                                                                                       \
        const vec b0 = *(const vec *)b, b1 = *(const vec *)(b + L);                            \
        _Pragma("GCC unroll 16") for (int r = 0; r < h; r++) {                                 \
            acc0[r] += (av) * b0;                                                              \
            acc1[r] += (av) * b1;                                                              \
        }                                                                                      \
    } while (0)
#define PYCONV_SIMD_FETCH() __builtin_prefetch((const char *)pf.next + p * PYCONV_ALIGN, 0, 2)
    if (off == NULL) {
        for (; p < n_pf; p++, a += MR, b += 2 * L) {
            PYCONV_SIMD_FETCH();
            __builtin_prefetch(a + 8 * MR);
            PYCONV_SIMD_STEP(a[r]);
        }
#pragma GCC unroll 2
        for (; p < kc; p++, a += MR, b += 2 * L) {
            __builtin_prefetch(a + 8 * MR);
            PYCONV_SIMD_STEP(a[r]);
        }
    } else {
        const real *row[MR];
#pragma GCC unroll 16
        for (int r = 0; r < h; r++) row[r] = rows[r];
        for (; p < n_pf; p++, b += 2 * L) {
            PYCONV_SIMD_FETCH();
            PYCONV_SIMD_STEP(row[r][off[p]]);
        }
#pragma GCC unroll 2
        for (; p < kc; p++, b += 2 * L) PYCONV_SIMD_STEP(row[r][off[p]]);
    }
#undef PYCONV_SIMD_FETCH
#undef PYCONV_SIMD_STEP
#pragma GCC unroll 16
    for (int r = 0; r < h; r++) {
        vec_u *out = (vec_u *)(c + r * ldc);
        if (beta == 0) {
            out[0] = alpha * acc0[r];
            out[1] = alpha * acc1[r];
        } else {
            out[0] = alpha * acc0[r] + beta * out[0];
            out[1] = alpha * acc1[r] + beta * out[1];
        }
    }
}

#define PYCONV_UKERNEL_TILE simd_tile
#define PYCONV_UKERNEL_MR FN(PYCONV_SIMD_CFG(MR))
#define PYCONV_UKERNEL_NAME(f) PYCONV_SIMD_NAME(f)
#define PYCONV_UKERNEL_ATTR __attribute__((target(PYCONV_SIMD_TARGET)))
#include "gemm/ukernel_entry_t.h"
