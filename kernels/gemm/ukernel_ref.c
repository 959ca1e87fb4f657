/* Portable C micro-kernel: always built, the fallback on every CPU (PYCONV_ARCH=reference). */
#include "gemm/gemm_internal.h"

#define PYCONV_TEMPLATE "gemm/ukernel_ref_t.h"
#include "common/pyconv_instantiate.h"
