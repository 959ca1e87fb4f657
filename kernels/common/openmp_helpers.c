/* The only C file that calls the OpenMP runtime API (kernels use pragmas only). */
#include "common/pyconv_common.h"

int pyconv_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int pyconv_openmp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
