#include "conv/conv_internal.h"

#define PYCONV_TEMPLATE "conv/conv_direct_t.h"
#include "common/pyconv_instantiate.h"
