/* NEON micro-kernels for aarch64, where NEON (Advanced SIMD) is part of the base instruction
 * set: compiled on every aarch64 build and chosen by dispatch.c there (the portable kernel
 * stays the choice everywhere else, and under PYCONV_ARCH=reference). */
#include "gemm/gemm_internal.h"

#if PYCONV_HAVE_NEON
#define PYCONV_TEMPLATE "gemm/ukernel_neon_t.h"
#include "common/pyconv_instantiate.h"
#endif
