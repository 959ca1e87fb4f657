/* AVX-512 (F) micro-kernels: the AVX2 template at twice the width, and the fused Winograd
 * micro-kernel (ukernel_wino_t.h, shared by both AVX-512 tables), compiled for AVX-512
 * function by function; dispatch.c calls them only on CPUs (and operating systems) with
 * AVX-512F. */
#include "gemm/gemm_internal.h"

#if PYCONV_HAVE_AVX2
#define PYCONV_SIMD_BYTES 64
#define PYCONV_SIMD_TARGET "avx512f"
#define PYCONV_SIMD_CFG(x) PYCONV_AVX512_##x
#define PYCONV_SIMD_NAME(f) f##_avx512
#define PYCONV_TEMPLATE "gemm/ukernel_simd_t.h"
#include "common/pyconv_instantiate.h"
#define PYCONV_TEMPLATE "gemm/ukernel_wino_t.h"
#include "common/pyconv_instantiate.h"
#endif
