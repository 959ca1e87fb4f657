/* Packing a strided matrix into micro-panels (the format is in gemm_internal.h). */
#include "gemm/gemm_internal.h"

#define PYCONV_TEMPLATE "gemm/pack_t.h"
#include "common/pyconv_instantiate.h"
