#include "conv/conv_internal.h"

#define PYCONV_TEMPLATE "conv/col2im_t.h"
#include "common/pyconv_instantiate.h"
