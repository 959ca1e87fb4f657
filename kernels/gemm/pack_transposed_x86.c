/* Packing a micro-panel from rows of a row-major matrix (a B panel from a convolution's weights,
 * one row per filter; an A panel from grad_output's planes in the weight gradient) is a
 * transpose: dst[p*w + r] = src[r*sx + p]. Element by element it costs one load and one store
 * per value and was a quarter of the implicit GEMM's time on 512-filter layers at batch 1
 * (docs/performance.md). Here it runs on L x L register transposes (L values a vector): up to L
 * rows are loaded a vector at a time (rows past the matrix's as zeros, a last block of fewer
 * than L k-indices masked), transposed by unpack and lane shuffles, and stored as L k-indices of
 * the panel, each the panel's lanes of it (when the panel is narrower than a vector: AVX-512's
 * masked store, AVX2's plain 16-, 8- and 4-byte stores).
 * The rows of one vector's worth are walked to the end before the next L start: rows whose
 * distance is a multiple of a large power of two share a few L1 sets, and 2 L of them would not
 * stay there. One function per instruction set and dtype (gemm_internal.h), in dispatch.c's
 * tables; compiled function by function for its instructions (target attribute). */
#include "gemm/gemm_internal.h"

#if PYCONV_HAVE_AVX2
#include <immintrin.h>

#define PYCONV_AVX2 __attribute__((target("avx2,fma")))
#define PYCONV_AVX512 __attribute__((target("avx512f")))

/* Lanes [0, n) set: masked loads and stores. */
PYCONV_AVX2 static inline __m256i lanes_below_avx2(int64_t n, int64_t lanes)
{
    const __m256i index = lanes == 8 ? _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
                                     : _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), index);
}

/* The first `bytes` (a multiple of 4) of v stored at dst, in plain stores of 32, 16, 8 and 4
 * bytes: AMD cores run a masked store (vmaskmovps / vmaskmovpd) as a long microcoded sequence,
 * and the transposes of A's 6-row micro-panels stored every k-index that way: on a Zen 3 they
 * took 15% of a 256 x 256 x 256 GEMM's time. */
PYCONV_AVX2 static inline void store_bytes_avx2(void *dst, __m256i v, int64_t bytes)
{
    char *out = dst;
    if (bytes == 32) {
        _mm256_storeu_si256((__m256i *)out, v);
        return;
    }
    __m128i part = _mm256_castsi256_si128(v);
    if (bytes >= 16) {
        _mm_storeu_si128((__m128i *)out, part);
        part = _mm256_extracti128_si256(v, 1);
        out += 16;
        bytes -= 16;
    }
    if (bytes >= 8) {
        _mm_storel_epi64((__m128i *)out, part);
        part = _mm_srli_si128(part, 8);
        out += 8;
        bytes -= 8;
    }
    if (bytes) {
        const int32_t last = _mm_cvtsi128_si32(part);
        memcpy(out, &last, 4);
    }
}

/* Rows r < rows (<= 8; the rest zeros) x n <= 8 k-indices of float: lanes r < lanes of
 * dst[q*ldd + r] = src[r*sx + q]. Only a last block of fewer than 8 k-indices loads masked. */
PYCONV_AVX2 static inline void transpose8_avx2_f32(const float *src, int64_t sx, int64_t rows,
                                                   int64_t n, float *dst, int64_t ldd,
                                                   int64_t lanes)
{
    const __m256i mask = lanes_below_avx2(n, 8);
    __m256 r[8], t[8], s[8];
    for (int i = 0; i < 8; i++)
        r[i] = i >= rows ? _mm256_setzero_ps()
               : n == 8  ? _mm256_loadu_ps(src + i * sx)
                         : _mm256_maskload_ps(src + i * sx, mask);
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
        const __m256 low = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
        const __m256 high = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
        if (j < n) store_bytes_avx2(dst + j * ldd, _mm256_castps_si256(low), 4 * lanes);
        if (4 + j < n) store_bytes_avx2(dst + (4 + j) * ldd, _mm256_castps_si256(high), 4 * lanes);
    }
}

/* Rows r < rows (<= 4) x n <= 4 k-indices of double, lanes r < lanes stored. */
PYCONV_AVX2 static inline void transpose4_avx2_f64(const double *src, int64_t sx, int64_t rows,
                                                   int64_t n, double *dst, int64_t ldd,
                                                   int64_t lanes)
{
    const __m256i mask = lanes_below_avx2(n, 4);
    __m256d r[4], t[4];
    for (int i = 0; i < 4; i++)
        r[i] = i >= rows ? _mm256_setzero_pd()
               : n == 4  ? _mm256_loadu_pd(src + i * sx)
                         : _mm256_maskload_pd(src + i * sx, mask);
    t[0] = _mm256_unpacklo_pd(r[0], r[1]);
    t[1] = _mm256_unpackhi_pd(r[0], r[1]);
    t[2] = _mm256_unpacklo_pd(r[2], r[3]);
    t[3] = _mm256_unpackhi_pd(r[2], r[3]);
    const __m256d c[4] = {_mm256_permute2f128_pd(t[0], t[2], 0x20),
                          _mm256_permute2f128_pd(t[1], t[3], 0x20),
                          _mm256_permute2f128_pd(t[0], t[2], 0x31),
                          _mm256_permute2f128_pd(t[1], t[3], 0x31)};
    for (int j = 0; j < 4; j++)
        if (j < n) store_bytes_avx2(dst + j * ldd, _mm256_castpd_si256(c[j]), 8 * lanes);
}

/* Rows r < rows (<= 16) x n <= 16 k-indices of float, lanes r < lanes stored. */
PYCONV_AVX512 static inline void transpose16_avx512_f32(const float *src, int64_t sx, int64_t rows,
                                                        int64_t n, float *dst, int64_t ldd,
                                                        int64_t lanes)
{
    const __mmask16 mask = (__mmask16)((1u << n) - 1), out = (__mmask16)((1u << lanes) - 1);
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(mask, src + i * sx) : _mm512_setzero_ps();
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
            if (4 * l + j < n) _mm512_mask_storeu_ps(dst + (4 * l + j) * ldd, out, c[l]);
    }
}

/* Rows r < rows (<= 8) x n <= 8 k-indices of double, lanes r < lanes stored. */
PYCONV_AVX512 static inline void transpose8_avx512_f64(const double *src, int64_t sx, int64_t rows,
                                                       int64_t n, double *dst, int64_t ldd,
                                                       int64_t lanes)
{
    const __mmask8 mask = (__mmask8)((1u << n) - 1), out = (__mmask8)((1u << lanes) - 1);
    __m512d r[8], t[8], u[8];
    for (int i = 0; i < 8; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_pd(mask, src + i * sx) : _mm512_setzero_pd();
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
        if (q < n)
            _mm512_mask_storeu_pd(dst + q * ldd, out, _mm512_shuffle_f64x2(u[j], u[4 + j], 0x88));
        if (q + 4 < n)
            _mm512_mask_storeu_pd(dst + (q + 4) * ldd, out,
                                  _mm512_shuffle_f64x2(u[j], u[4 + j], 0xdd));
    }
}

/* Loop the L x L transpose over the panel: for each L of its w lanes (rows past width zero),
 * every block of L k-indices. */
#define PYCONV_PACK_TRANSPOSED(isa, sfx, real, attr, transpose, L)                            \
    attr void pyconv_pack_transposed_##isa##_##sfx(const real *src, int64_t sx, int64_t width, \
                                                   int64_t np, int64_t w, real *dst)           \
    {                                                                                          \
        for (int64_t h = 0; h < w; h += (L)) {                                                 \
            const int64_t rows = PYCONV_MAX(0, PYCONV_MIN((L), width - h));                    \
            const real *block = rows > 0 ? src + h * sx : src;                                 \
            for (int64_t p = 0; p < np; p += (L))                                              \
                transpose(block + p, sx, rows, PYCONV_MIN((L), np - p), dst + p * w + h, w,    \
                          PYCONV_MIN((L), w - h));                                             \
        }                                                                                      \
    }

PYCONV_PACK_TRANSPOSED(avx2, f32, float, PYCONV_AVX2, transpose8_avx2_f32, 8)
PYCONV_PACK_TRANSPOSED(avx2, f64, double, PYCONV_AVX2, transpose4_avx2_f64, 4)
PYCONV_PACK_TRANSPOSED(avx512, f32, float, PYCONV_AVX512, transpose16_avx512_f32, 16)
PYCONV_PACK_TRANSPOSED(avx512, f64, double, PYCONV_AVX512, transpose8_avx512_f64, 8)
#undef PYCONV_PACK_TRANSPOSED
#endif
