#include <math.h>

#include "common/transpose.h"
#include "conv/conv_internal.h"
#include "gemm/gemm_internal.h"

#define PYCONV_TEMPLATE "conv/implicit_weight_t.h"
#include "common/pyconv_instantiate.h"
