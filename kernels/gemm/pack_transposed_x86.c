/* Packing a B micro-panel from NR rows of a row-major matrix (the weights of a convolution:
 * one row per filter) is a transpose: dst[p*NR + r] = src[r*sx + p]. Element by element it costs
 * one load and one store per value and was a quarter of the implicit GEMM's time on 512-filter
 * layers at batch 1 (docs/performance.md). Here it runs on L x L register transposes (L values a
 * vector): L rows are loaded a vector at a time, transposed by unpack and lane shuffles, and
 * stored as L k-indices of the panel; a last block of fewer than L k-indices is loaded masked.
 * The rows of a half panel (L of them) are walked to the end before the next L start: rows
 * whose distance is a multiple of a large power of two share a few L1 sets, and 2 L of them
 * would not stay there. One function per instruction set and dtype (gemm_internal.h), in
 * dispatch.c's tables; compiled function by function for its instructions (target attribute). */
#include "gemm/gemm_internal.h"

#if PYCONV_HAVE_AVX2
#include <immintrin.h>

#define PYCONV_AVX2 __attribute__((target("avx2,fma")))
#define PYCONV_AVX512 __attribute__((target("avx512f")))

/* Lanes [0, n) set: the masked loads of the last block. */
PYCONV_AVX2 static inline __m256i lanes_below_avx2(int64_t n, int64_t lanes)
{
    const __m256i index = lanes == 8 ? _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
                                     : _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), index);
}

/* 8 rows x n <= 8 k-indices of float: dst[q*ldd + r] = src[r*sx + q]. */
PYCONV_AVX2 static inline void transpose8_avx2_f32(const float *src, int64_t sx, int64_t n,
                                                   float *dst, int64_t ldd)
{
    const __m256i mask = lanes_below_avx2(n, 8);
    __m256 r[8], t[8], s[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_maskload_ps(src + i * sx, mask);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    /* s[4b + j]: k-index j (low 128 bits) and 4 + j (high) of rows 4b .. 4b + 3 */
    for (int b = 0; b < 8; b += 4) {
        s[b] = _mm256_shuffle_ps(t[b], t[b + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[b + 1] = _mm256_shuffle_ps(t[b], t[b + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[b + 2] = _mm256_shuffle_ps(t[b + 1], t[b + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[b + 3] = _mm256_shuffle_ps(t[b + 1], t[b + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
        if (j < n) _mm256_storeu_ps(dst + j * ldd, _mm256_permute2f128_ps(s[j], s[4 + j], 0x20));
        if (4 + j < n)
            _mm256_storeu_ps(dst + (4 + j) * ldd, _mm256_permute2f128_ps(s[j], s[4 + j], 0x31));
    }
}

/* 4 rows x n <= 4 k-indices of double. */
PYCONV_AVX2 static inline void transpose4_avx2_f64(const double *src, int64_t sx, int64_t n,
                                                   double *dst, int64_t ldd)
{
    const __m256i mask = lanes_below_avx2(n, 4);
    __m256d r[4], t[4];
    for (int i = 0; i < 4; i++) r[i] = _mm256_maskload_pd(src + i * sx, mask);
    t[0] = _mm256_unpacklo_pd(r[0], r[1]);
    t[1] = _mm256_unpackhi_pd(r[0], r[1]);
    t[2] = _mm256_unpacklo_pd(r[2], r[3]);
    t[3] = _mm256_unpackhi_pd(r[2], r[3]);
    const __m256d c[4] = {_mm256_permute2f128_pd(t[0], t[2], 0x20),
                          _mm256_permute2f128_pd(t[1], t[3], 0x20),
                          _mm256_permute2f128_pd(t[0], t[2], 0x31),
                          _mm256_permute2f128_pd(t[1], t[3], 0x31)};
    for (int j = 0; j < 4; j++)
        if (j < n) _mm256_storeu_pd(dst + j * ldd, c[j]);
}

/* 16 rows x n <= 16 k-indices of float. */
PYCONV_AVX512 static inline void transpose16_avx512_f32(const float *src, int64_t sx, int64_t n,
                                                        float *dst, int64_t ldd)
{
    const __mmask16 mask = (__mmask16)((1u << n) - 1);
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(mask, src + i * sx);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* u[4b + j], 128-bit lane l: k-index 4l + j of rows 4b .. 4b + 3 */
    for (int j = 0; j < 4; j++) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
        const __m512 v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
        const __m512 v2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        const __m512 v3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
        const __m512 c[4] = {_mm512_shuffle_f32x4(v0, v2, 0x88), _mm512_shuffle_f32x4(v1, v3, 0x88),
                             _mm512_shuffle_f32x4(v0, v2, 0xdd), _mm512_shuffle_f32x4(v1, v3, 0xdd)};
        for (int l = 0; l < 4; l++)
            if (4 * l + j < n) _mm512_storeu_ps(dst + (4 * l + j) * ldd, c[l]);
    }
}

/* 8 rows x n <= 8 k-indices of double. */
PYCONV_AVX512 static inline void transpose8_avx512_f64(const double *src, int64_t sx, int64_t n,
                                                       double *dst, int64_t ldd)
{
    const __mmask8 mask = (__mmask8)((1u << n) - 1);
    __m512d r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = _mm512_maskz_loadu_pd(mask, src + i * sx);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    /* u[4b + j], 128-bit lane l: k-indices of rows 4b .. 4b + 3 (see the stores) */
    for (int b = 0; b < 8; b += 4) {
        u[b] = _mm512_shuffle_f64x2(t[b], t[b + 2], 0x88);
        u[b + 1] = _mm512_shuffle_f64x2(t[b], t[b + 2], 0xdd);
        u[b + 2] = _mm512_shuffle_f64x2(t[b + 1], t[b + 3], 0x88);
        u[b + 3] = _mm512_shuffle_f64x2(t[b + 1], t[b + 3], 0xdd);
    }
    /* u[b]: k-indices 0 and 4, u[b + 1]: 2 and 6, u[b + 2]: 1 and 5, u[b + 3]: 3 and 7 */
    static const int first[4] = {0, 2, 1, 3};
    for (int j = 0; j < 4; j++) {
        const int q = first[j];
        if (q < n) _mm512_storeu_pd(dst + q * ldd, _mm512_shuffle_f64x2(u[j], u[4 + j], 0x88));
        if (q + 4 < n)
            _mm512_storeu_pd(dst + (q + 4) * ldd, _mm512_shuffle_f64x2(u[j], u[4 + j], 0xdd));
    }
}

/* Loop the L x L transpose over the panel: for each half (L rows), every block of L k-indices. */
#define PYCONV_PACK_TRANSPOSED(isa, sfx, real, attr, transpose, L, NR)                         \
    attr void pyconv_pack_transposed_##isa##_##sfx(const real *src, int64_t sx, int64_t np,    \
                                                   real *dst)                                  \
    {                                                                                          \
        for (int64_t h = 0; h < (NR); h += (L))                                                \
            for (int64_t p = 0; p < np; p += (L))                                              \
                transpose(src + h * sx + p, sx, PYCONV_MIN((L), np - p), dst + p * (NR) + h,   \
                          (NR));                                                               \
    }

PYCONV_PACK_TRANSPOSED(avx2, f32, float, PYCONV_AVX2, transpose8_avx2_f32, 8, PYCONV_AVX2_NR_f32)
PYCONV_PACK_TRANSPOSED(avx2, f64, double, PYCONV_AVX2, transpose4_avx2_f64, 4, PYCONV_AVX2_NR_f64)
PYCONV_PACK_TRANSPOSED(avx512, f32, float, PYCONV_AVX512, transpose16_avx512_f32, 16,
                       PYCONV_AVX512_NR_f32)
PYCONV_PACK_TRANSPOSED(avx512, f64, double, PYCONV_AVX512, transpose8_avx512_f64, 8,
                       PYCONV_AVX512_NR_f64)
#undef PYCONV_PACK_TRANSPOSED
_Static_assert(PYCONV_AVX512X12_NR_f32 == PYCONV_AVX512_NR_f32 &&
                   PYCONV_AVX512X12_NR_f64 == PYCONV_AVX512_NR_f64,
               "both AVX-512 kernels share the panel width of the AVX-512 transposes");
#endif
