#include "common/pyconv_common.h"

#if defined(_MSC_VER)
#include <malloc.h>
#endif

void *pyconv_aligned_alloc(size_t nbytes)
{
    if (nbytes == 0) nbytes = PYCONV_ALIGN;
#if defined(_MSC_VER)
    return _aligned_malloc(nbytes, PYCONV_ALIGN);
#else
    void *p = NULL;
    if (posix_memalign(&p, PYCONV_ALIGN, nbytes) != 0) return NULL;
    return p;
#endif
}

void pyconv_aligned_free(void *p)
{
#if defined(_MSC_VER)
    _aligned_free(p);
#else
    free(p);
#endif
}
