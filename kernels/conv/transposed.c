#include "conv/conv_internal.h"

#define PYCONV_TEMPLATE "conv/transposed_t.h"
#include "common/pyconv_instantiate.h"
