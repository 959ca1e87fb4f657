/* Shared by every kernel source: index type, portability macros, aligned allocation. */
#ifndef PYCONV_COMMON_H
#define PYCONV_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyconv_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(_MSC_VER)
#define PYCONV_RESTRICT __restrict
#define PYCONV_INLINE static __inline
#else
#define PYCONV_RESTRICT __restrict__
#define PYCONV_INLINE static inline
#endif

/* For inner loops whose arguments must become compile-time constants at the call (a stride,
 * a tile shape), and that must be compiled for the instruction set of the function calling them. */
#if defined(__GNUC__)
#define PYCONV_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define PYCONV_ALWAYS_INLINE static __forceinline
#else
#define PYCONV_ALWAYS_INLINE static inline
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

/* Fewest work units (multiply-adds, or values a pooling touches) worth one more thread:
 * starting a parallel region costs a few microseconds, about what one thread does in this
 * many. */
#define PYCONV_MIN_WORK_PER_THREAD (128.0 * 1024.0)

/* Threads worth using for `work` units: at most n_threads, at least 1. */
PYCONV_INLINE int pyconv_threads_for(double work, int n_threads)
{
    const double by_work = work / PYCONV_MIN_WORK_PER_THREAD;
    return by_work >= n_threads ? n_threads : by_work < 1 ? 1 : (int)by_work;
}

void *pyconv_aligned_alloc(size_t nbytes);
void pyconv_aligned_free(void *p);

#endif /* PYCONV_COMMON_H */
