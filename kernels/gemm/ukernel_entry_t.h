/* Template: the two entry points of a micro-kernel (gemm_internal.h), around the including
 * template's tile function FN(tile)(m, kc, alpha, a, off, rows, b, beta, c, ldc, pf): A packed, or
 * A gathered through row pointers and offsets (alpha 1). The tile function is inlined once per
 * tile height m = 1 .. MR, a constant in each copy, so every height has its row loops unrolled
 * and runs only its own rows' multiply-adds. The including template defines
 *   PYCONV_UKERNEL_TILE      the tile function's name (before FN),
 *   PYCONV_UKERNEL_MR        the tile's full height MR (at most 16),
 *   PYCONV_UKERNEL_NAME(f)   the exported name of entry point f for its instruction set,
 *   PYCONV_UKERNEL_ATTR      attributes of the entry points (may be empty),
 * which this file undefines. */
_Static_assert(PYCONV_UKERNEL_MR <= 16, "the entry points switch over heights 1 .. 16");

/* CALL(h) for the height h == m, among 1 .. MR. */
#define PYCONV_UKERNEL_HEIGHT(h, CALL) \
    case h:                            \
        if (h <= PYCONV_UKERNEL_MR) CALL(h); \
        break;
#define PYCONV_UKERNEL_HEIGHTS(CALL)                                                            \
    switch (m) {                                                                                \
        PYCONV_UKERNEL_HEIGHT(1, CALL) PYCONV_UKERNEL_HEIGHT(2, CALL) PYCONV_UKERNEL_HEIGHT(3, CALL) \
        PYCONV_UKERNEL_HEIGHT(4, CALL) PYCONV_UKERNEL_HEIGHT(5, CALL) PYCONV_UKERNEL_HEIGHT(6, CALL) \
        PYCONV_UKERNEL_HEIGHT(7, CALL) PYCONV_UKERNEL_HEIGHT(8, CALL) PYCONV_UKERNEL_HEIGHT(9, CALL) \
        PYCONV_UKERNEL_HEIGHT(10, CALL) PYCONV_UKERNEL_HEIGHT(11, CALL)                         \
        PYCONV_UKERNEL_HEIGHT(12, CALL) PYCONV_UKERNEL_HEIGHT(13, CALL)                         \
        PYCONV_UKERNEL_HEIGHT(14, CALL) PYCONV_UKERNEL_HEIGHT(15, CALL)                         \
        PYCONV_UKERNEL_HEIGHT(16, CALL)                                                         \
    }

PYCONV_UKERNEL_ATTR
void FN(PYCONV_UKERNEL_NAME(pyconv_ukernel))(int64_t m, int64_t kc, real alpha, const real *a,
                                             const real *b, real beta, real *c, int64_t ldc,
                                             pyconv_prefetch pf)
{
#define PYCONV_UKERNEL_PACKED(h) \
    FN(PYCONV_UKERNEL_TILE)(h, kc, alpha, a, NULL, NULL, b, beta, c, ldc, pf)
    PYCONV_UKERNEL_HEIGHTS(PYCONV_UKERNEL_PACKED)
#undef PYCONV_UKERNEL_PACKED
}

PYCONV_UKERNEL_ATTR
void FN(PYCONV_UKERNEL_NAME(pyconv_ukernel_gather))(int64_t m, int64_t kc, const int64_t *off,
                                                    const real *const *rows, const real *b,
                                                    real beta, real *c, int64_t ldc,
                                                    pyconv_prefetch pf)
{
#define PYCONV_UKERNEL_GATHERED(h) \
    FN(PYCONV_UKERNEL_TILE)(h, kc, 1, NULL, off, rows, b, beta, c, ldc, pf)
    PYCONV_UKERNEL_HEIGHTS(PYCONV_UKERNEL_GATHERED)
#undef PYCONV_UKERNEL_GATHERED
}

#undef PYCONV_UKERNEL_HEIGHTS
#undef PYCONV_UKERNEL_HEIGHT
#undef PYCONV_UKERNEL_TILE
#undef PYCONV_UKERNEL_MR
#undef PYCONV_UKERNEL_NAME
#undef PYCONV_UKERNEL_ATTR
