/* Template: the two entry points of a micro-kernel (gemm_internal.h), around the including
 * template's tile function FN(tile)(kc, alpha, a, off, rows, b, beta, c, ldc): A packed, or A
 * gathered through row pointers and offsets (alpha 1). The including template defines
 *   PYCONV_UKERNEL_TILE      the tile function's name (before FN),
 *   PYCONV_UKERNEL_NAME(f)   the exported name of entry point f for its instruction set,
 *   PYCONV_UKERNEL_ATTR      attributes of the entry points (may be empty),
 * which this file undefines. */
PYCONV_UKERNEL_ATTR
void FN(PYCONV_UKERNEL_NAME(pyconv_ukernel))(int64_t kc, real alpha, const real *a,
                                             const real *b, real beta, real *c, int64_t ldc)
{
    FN(PYCONV_UKERNEL_TILE)(kc, alpha, a, NULL, NULL, b, beta, c, ldc);
}

PYCONV_UKERNEL_ATTR
void FN(PYCONV_UKERNEL_NAME(pyconv_ukernel_gather))(int64_t kc, const int64_t *off,
                                                    const real *const *rows, const real *b,
                                                    real beta, real *c, int64_t ldc)
{
    FN(PYCONV_UKERNEL_TILE)(kc, 1, NULL, off, rows, b, beta, c, ldc);
}

#undef PYCONV_UKERNEL_TILE
#undef PYCONV_UKERNEL_NAME
#undef PYCONV_UKERNEL_ATTR
