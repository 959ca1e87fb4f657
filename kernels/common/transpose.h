/* In-register transposes of square blocks of 32-byte vectors (8 floats or 4 doubles), written
 * with GCC/clang vector extensions; other compilers have none (PYCONV_TRANSPOSE_BYTES
 * undefined) and their callers keep scalar loops. The depthwise forward's channel blocks and
 * the implicit forward's stores move values between channel-major and pixel-major order
 * through them: a value at a time, that costs as much as the arithmetic of such layers. */
#ifndef PYCONV_TRANSPOSE_H
#define PYCONV_TRANSPOSE_H

#include <stdint.h>

#include "common/pyconv_common.h"

#if defined(__GNUC__)
#define PYCONV_TRANSPOSE_BYTES 32
/* A vector's bits as 32-bit integers, which the transposes shuffle (a double is two). */
typedef int32_t pyconv_tvec __attribute__((vector_size(PYCONV_TRANSPOSE_BYTES)));
enum { PYCONV_TVEC_INTS = PYCONV_TRANSPOSE_BYTES / 4 };
#if defined(__clang__)
#define PYCONV_TVEC_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define PYCONV_TVEC_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (pyconv_tvec){__VA_ARGS__})
#endif
/* Of each 2g-int chunk of (a, b): a's first g ints then b's (LO), a's last g then b's (HI). */
#define PYCONV_TVEC_LO(p, g) ((p) % (2 * (g)) < (g) ? (p) : PYCONV_TVEC_INTS + (p) - (g))
#define PYCONV_TVEC_HI(p, g) ((p) % (2 * (g)) < (g) ? (p) + (g) : PYCONV_TVEC_INTS + (p))
#define PYCONV_TVEC_MASK(M, g) M(0, g), M(1, g), M(2, g), M(3, g), M(4, g), M(5, g), M(6, g), M(7, g)

/* Swaps the off-diagonal h x h blocks of every 2h x 2h block of the n x n matrix v (g = h's
 * elements in ints): vector i's second halves of each 2g-int chunk with vector i+h's first. */
#define PYCONV_TVEC_STAGE(v, n, h, g)                                                         \
    for (int i = 0; i < (n); i++) {                                                           \
        if (i & (h)) continue;                                                                \
        const pyconv_tvec a = v[i], b = v[i + (h)];                                           \
        v[i] = PYCONV_TVEC_SHUFFLE(a, b, PYCONV_TVEC_MASK(PYCONV_TVEC_LO, g));                \
        v[i + (h)] = PYCONV_TVEC_SHUFFLE(a, b, PYCONV_TVEC_MASK(PYCONV_TVEC_HI, g));          \
    }

/* The n x n matrix of n-element vectors v (n = lanes: 8 floats or 4 doubles, an element 8 / n
 * ints) transposed in place, one stage per halving of the block size. */
PYCONV_ALWAYS_INLINE void pyconv_transpose(pyconv_tvec *v, int n)
{
    PYCONV_TVEC_STAGE(v, n, n / 2, 4);
    if (n >= 4) PYCONV_TVEC_STAGE(v, n, n / 4, 2);
    if (n >= 8) PYCONV_TVEC_STAGE(v, n, n / 8, 1);
}
#endif

#endif /* PYCONV_TRANSPOSE_H */
