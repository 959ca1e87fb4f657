/* Template: the 6 x (2 vectors) SIMD micro-kernel, for one instruction set per including file:
 * AVX2 + FMA (32-byte vectors: 6x16 float, 6x8 double) and AVX-512 (64-byte vectors: 6x32
 * float, 6x16 double). The including file defines
 *   PYCONV_SIMD_BYTES      the vector width in bytes,
 *   PYCONV_SIMD_TARGET     the target attribute that enables the instructions,
 *   PYCONV_SIMD_CFG(x)     the gemm_config.h name of blocking parameter x for this ISA,
 *   PYCONV_SIMD_NAME(f)    the exported name of function f for this ISA.
 * Written with GCC vector extensions (one source for every width and dtype); in a function
 * compiled for the target, `acc += scalar * vec` becomes a broadcast and a vfmadd. 12
 * accumulators, 2 B vectors and a broadcast: 15 registers (of 16 ymm / 32 zmm).
 * One body, two entry points: A from a packed micro-panel (the GEMM), or gathered through
 * row pointers and an offset table (the convolution's implicit GEMM, gemm_internal.h). */
typedef real FN(vec) __attribute__((vector_size(PYCONV_SIMD_BYTES)));
/* The same vector with the element's alignment, for loads and stores of C. */
typedef real FN(vec_u) __attribute__((vector_size(PYCONV_SIMD_BYTES), aligned(sizeof(real))));

/* A(i, p) = a[p*6 + i] when off is NULL, else rows[i][off[p]]. */
__attribute__((target(PYCONV_SIMD_TARGET), always_inline))
static inline void FN(simd_tile)(int64_t kc, real alpha, const real *PYCONV_RESTRICT a,
                                 const int64_t *PYCONV_RESTRICT off, const real *const *rows,
                                 const real *PYCONV_RESTRICT b, real beta,
                                 real *PYCONV_RESTRICT c, int64_t ldc)
{
    typedef FN(vec) vec;
    typedef FN(vec_u) vec_u;
    enum { L = PYCONV_SIMD_BYTES / sizeof(real) };
    _Static_assert(FN(PYCONV_SIMD_CFG(MR)) == 6 && FN(PYCONV_SIMD_CFG(NR)) == 2 * L,
                   "the SIMD micro-kernel is written for 6 x (2 vectors) tiles");
    vec c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
    vec c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    for (int64_t r = 0; r < 6; r++) __builtin_prefetch(c + r * ldc, 1);
#define PYCONV_SIMD_STEP(a0, a1, a2, a3, a4, a5)                                              \
    do {                                                                                        \
        vec b0 = *(const vec *)b, b1 = *(const vec *)(b + L);                                  \
        c00 += (a0) * b0; c01 += (a0) * b1;                                                     \
        c10 += (a1) * b0; c11 += (a1) * b1;                                                     \
        c20 += (a2) * b0; c21 += (a2) * b1;                                                     \
        c30 += (a3) * b0; c31 += (a3) * b1;                                                     \
        c40 += (a4) * b0; c41 += (a4) * b1;                                                     \
        c50 += (a5) * b0; c51 += (a5) * b1;                                                     \
    } while (0)
    if (off == NULL) {
#pragma GCC unroll 4
        for (int64_t p = 0; p < kc; p++, a += 6, b += 2 * L) {
            __builtin_prefetch(a + 64);
            PYCONV_SIMD_STEP(a[0], a[1], a[2], a[3], a[4], a[5]);
        }
    } else {
        const real *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
        const real *r3 = rows[3], *r4 = rows[4], *r5 = rows[5];
#pragma GCC unroll 4
        for (int64_t p = 0; p < kc; p++, b += 2 * L) {
            const int64_t o = off[p];
            PYCONV_SIMD_STEP(r0[o], r1[o], r2[o], r3[o], r4[o], r5[o]);
        }
    }
#undef PYCONV_SIMD_STEP
#define PYCONV_SIMD_STORE_ROW(r, v0, v1)                                                      \
    do {                                                                                        \
        vec_u *row = (vec_u *)(c + (r) * ldc);                                                 \
        if (beta == 0) {                                                                        \
            row[0] = alpha * v0;                                                                \
            row[1] = alpha * v1;                                                                \
        } else {                                                                                \
            row[0] = alpha * v0 + beta * row[0];                                                \
            row[1] = alpha * v1 + beta * row[1];                                                \
        }                                                                                       \
    } while (0)
    PYCONV_SIMD_STORE_ROW(0, c00, c01);
    PYCONV_SIMD_STORE_ROW(1, c10, c11);
    PYCONV_SIMD_STORE_ROW(2, c20, c21);
    PYCONV_SIMD_STORE_ROW(3, c30, c31);
    PYCONV_SIMD_STORE_ROW(4, c40, c41);
    PYCONV_SIMD_STORE_ROW(5, c50, c51);
#undef PYCONV_SIMD_STORE_ROW
}

#define PYCONV_UKERNEL_TILE simd_tile
#define PYCONV_UKERNEL_NAME(f) PYCONV_SIMD_NAME(f)
#define PYCONV_UKERNEL_ATTR __attribute__((target(PYCONV_SIMD_TARGET)))
#include "gemm/ukernel_entry_t.h"
