#include "pool/pool_geometry.h"

#define PYCONV_TEMPLATE "pool/avgpool_t.h"
#include "common/pyconv_instantiate.h"
