/* Shared by every kernel source: index type, portability macros, aligned allocation. */
#ifndef PYCONV_COMMON_H
#define PYCONV_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyconv_kernels.h"

#if defined(_MSC_VER)
#define PYCONV_RESTRICT __restrict
#define PYCONV_INLINE static __inline
#else
#define PYCONV_RESTRICT __restrict__
#define PYCONV_INLINE static inline
#endif

/* In a loop body: keeps GCC/clang from turning the loop into a memcpy/memset call (an empty
 * asm statement, no code), for loops known to be too short for the call to pay off. */
#if defined(__GNUC__)
#define PYCONV_NO_LIBCALL_LOOP() __asm__("")
#else
#define PYCONV_NO_LIBCALL_LOOP() ((void)0)
#endif

#define PYCONV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PYCONV_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Cache-line (and AVX-512) aligned buffers for packed panels and workspaces. */
#define PYCONV_ALIGN 64

/* The hot loops (direct kernels, packing, pooling) are compiled twice, for x86-64-v3 (AVX2 +
 * FMA) and for baseline x86-64, and the loader picks one for the CPU (GCC function
 * multi-versioning); one version elsewhere. OpenMP outlines parallel-loop bodies into functions
 * that do not inherit the attribute, so it goes on the per-task function a loop calls. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define PYCONV_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), noinline))
#else
#define PYCONV_SIMD_CLONES
#endif

/* For inner loops whose stride argument must become a compile-time constant at the call. */
#if defined(__GNUC__)
#define PYCONV_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define PYCONV_ALWAYS_INLINE static __forceinline
#else
#define PYCONV_ALWAYS_INLINE static inline
#endif

/* Element counts stay far from int64 overflow (pyconv._args.MAX_ELEMENTS is the same). */
#define PYCONV_MAX_ELEMENTS ((int64_t)1 << 62)

/* a*b*c*d (all >= 0) is at most PYCONV_MAX_ELEMENTS. */
PYCONV_INLINE int pyconv_fits(int64_t a, int64_t b, int64_t c, int64_t d)
{
    const int64_t f[4] = {a, b, c, d};
    int64_t product = 1;
    for (int i = 0; i < 4; i++) {
        if (f[i] != 0 && product > PYCONV_MAX_ELEMENTS / f[i]) return 0;
        product *= f[i];
    }
    return 1;
}

void *pyconv_aligned_alloc(size_t nbytes);
void pyconv_aligned_free(void *p);

#endif /* PYCONV_COMMON_H */
