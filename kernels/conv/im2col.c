#include "conv/conv_internal.h"

#define PYCONV_TEMPLATE "conv/im2col_t.h"
#include "common/pyconv_instantiate.h"
