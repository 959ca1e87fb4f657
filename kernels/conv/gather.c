#include "conv/conv_internal.h"

#define PYCONV_TEMPLATE "conv/gather_t.h"
#include "common/pyconv_instantiate.h"
