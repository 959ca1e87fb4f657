/* Instantiate a dtype-generic template twice, for float (suffix f32) and double (f64).
 *
 * Usage, in kernels/<area>/<algorithm>.c:
 *     #define PYCONV_TEMPLATE "conv/conv_direct_t.h"
 *     #include "common/pyconv_instantiate.h"
 * Inside the template, `real` is the element type and FN(name) appends the suffix:
 * FN(pyconv_conv2d_direct) -> pyconv_conv2d_direct_f32. Template-local helpers must be
 * `static` and named through FN() too, so the two instantiations do not collide. */
#ifndef PYCONV_TEMPLATE
#error "define PYCONV_TEMPLATE before including pyconv_instantiate.h"
#endif

#define PYCONV_CAT_(a, b) a##_##b
#define PYCONV_CAT(a, b) PYCONV_CAT_(a, b)

#define real float
#define PYCONV_SFX f32
#define FN(name) PYCONV_CAT(name, PYCONV_SFX)
#include PYCONV_TEMPLATE
#undef real
#undef PYCONV_SFX

#define real double
#define PYCONV_SFX f64
#include PYCONV_TEMPLATE
#undef real
#undef PYCONV_SFX
#undef FN
#undef PYCONV_TEMPLATE
