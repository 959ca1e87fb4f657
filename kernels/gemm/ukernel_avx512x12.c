/* AVX-512 (F) micro-kernels with 12-row tiles (12x32 float, 12x16 double): the SIMD template at
 * the AVX-512 width and twice the AVX2 kernel's height, compiled for AVX-512 function by
 * function; dispatch.c calls them only on CPUs (and operating systems) with AVX-512F. */
#include "gemm/gemm_internal.h"

#if PYCONV_HAVE_AVX2
#define PYCONV_SIMD_BYTES 64
#define PYCONV_SIMD_TARGET "avx512f"
#define PYCONV_SIMD_CFG(x) PYCONV_AVX512X12_##x
#define PYCONV_SIMD_NAME(f) f##_avx512x12
#define PYCONV_TEMPLATE "gemm/ukernel_simd_t.h"
#include "common/pyconv_instantiate.h"
#endif
