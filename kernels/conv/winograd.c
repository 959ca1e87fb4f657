#include "common/arena.h"
#include "conv/conv_internal.h"
#include "gemm/gemm_internal.h"

#define PYCONV_TEMPLATE "conv/winograd_t.h"
#include "common/pyconv_instantiate.h"

/* the weight gradient shares the forward's input transform and tiles (static, above) */
#define PYCONV_TEMPLATE "conv/winograd_weight_t.h"
#include "common/pyconv_instantiate.h"
