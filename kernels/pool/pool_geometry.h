/* Window geometry shared by the max- and average-pooling templates (dtype independent). */
#ifndef PYCONV_POOL_GEOMETRY_H
#define PYCONV_POOL_GEOMETRY_H

#include "common/parallel.h"

/* Interior output columns are processed in chunks of this many (a stack buffer's length). */
#define POOL_CHUNK 256

/* Taps t in [*first, *last) of a window whose tap t sits at start + t*dil fall inside
 * [0, size); *first == *last when none does. */
PYCONV_INLINE void pool_taps_in_bounds(int64_t start, int64_t taps, int64_t dil, int64_t size,
                                       int64_t *first, int64_t *last)
{
    int64_t lo, hi;
    if (dil == 1) { /* the common case, without divisions */
        lo = start < 0 ? -start : 0;
        hi = PYCONV_MIN(taps, size - start);
    } else {
        lo = start < 0 ? (-start + dil - 1) / dil : 0;
        hi = start >= size ? 0 : PYCONV_MIN(taps, (size - 1 - start) / dil + 1);
    }
    *first = PYCONV_MIN(lo, taps);
    *last = PYCONV_MAX(*first, hi);
}

/* Output positions [*lo, *hi) along one axis whose every tap lies inside [0, size): the
 * span the vectorised inner loops cover; the positions outside it take the bounds-checked
 * path. */
PYCONV_INLINE void pool_interior(int64_t out, int64_t taps, int64_t stride, int64_t pad,
                                 int64_t dil, int64_t size, int64_t *lo, int64_t *hi)
{
    int64_t last_start = size - 1 - (taps - 1) * dil + pad; /* o*stride must not exceed it */
    int64_t b = last_start < 0 ? 0 : PYCONV_MIN(out, last_start / stride + 1);
    /* ceil(pad / stride) without pad + stride, which can pass INT64_MAX */
    *lo = PYCONV_MIN(pad / stride + (pad % stride != 0), b);
    *hi = b;
}

#endif /* PYCONV_POOL_GEOMETRY_H */
