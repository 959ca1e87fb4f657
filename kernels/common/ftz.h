/* Flush-to-zero / denormals-are-zero for the duration of a kernel's parallel region.
 *
 * Denormal operands slow x86 arithmetic by up to ~100x; kernels treat them as zero instead.
 * MXCSR is per thread, so each thread of a parallel region enters and leaves the guard itself:
 *     pyconv_fpmode saved = pyconv_ftz_enter();
 *     ... arithmetic ...
 *     pyconv_ftz_exit(saved);
 * The caller's floating-point mode is restored on exit. No-ops on other architectures. */
#ifndef PYCONV_FTZ_H
#define PYCONV_FTZ_H

#include "common/pyconv_common.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>

typedef unsigned int pyconv_fpmode;

/* MXCSR bit 15 = flush-to-zero, bit 6 = denormals-are-zero. */
#define PYCONV_MXCSR_FTZ_DAZ 0x8040u

PYCONV_INLINE pyconv_fpmode pyconv_ftz_enter(void)
{
    pyconv_fpmode saved = _mm_getcsr();
    _mm_setcsr(saved | PYCONV_MXCSR_FTZ_DAZ);
    return saved;
}

PYCONV_INLINE void pyconv_ftz_exit(pyconv_fpmode saved) { _mm_setcsr(saved); }

#else
typedef int pyconv_fpmode;
PYCONV_INLINE pyconv_fpmode pyconv_ftz_enter(void) { return 0; }
PYCONV_INLINE void pyconv_ftz_exit(pyconv_fpmode saved) { (void)saved; }
#endif

#endif /* PYCONV_FTZ_H */
