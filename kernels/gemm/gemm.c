#include "common/pyconv_common.h"

#define PYCONV_TEMPLATE "gemm/gemm_naive_t.h"
#include "common/pyconv_instantiate.h"

const char *pyconv_gemm_isa(void) { return "reference"; }
