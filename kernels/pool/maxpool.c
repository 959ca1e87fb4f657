#include <math.h>

#include "pool/pool_geometry.h"

#define PYCONV_TEMPLATE "pool/maxpool_t.h"
#include "common/pyconv_instantiate.h"
