/* AVX2 + FMA micro-kernels, compiled for those instructions function by function (target
 * attribute), so the rest of the library stays baseline x86-64 and dispatch.c only calls
 * them on CPUs that have AVX2 and FMA. */
#include "gemm/gemm_internal.h"

#if PYCONV_HAVE_AVX2
#define PYCONV_SIMD_BYTES 32
#define PYCONV_SIMD_TARGET "avx2,fma"
#define PYCONV_SIMD_CFG(x) PYCONV_AVX2_##x
#define PYCONV_SIMD_NAME(f) f##_avx2
#define PYCONV_TEMPLATE "gemm/ukernel_simd_t.h"
#include "common/pyconv_instantiate.h"
#endif
