/* Template helper (included once per dtype by each template that uses it, so no include
 * guard): copy n values of a row of a micro-tile or micro-panel. Such rows are a few to a few
 * dozen values long; a plain copy loop becomes a memmove call whose overhead dominates copies
 * this short, so the copy is made of constant-size 4-value blocks (vector moves), the last
 * one overlapping its predecessor. */
PYCONV_INLINE void FN(copy_short)(real *PYCONV_RESTRICT dst, const real *PYCONV_RESTRICT src,
                                  int64_t n)
{
    if (n >= 4) {
        for (int64_t t = 0; t < n - 4; t += 4) {
            memcpy(dst + t, src + t, 4 * sizeof(real));
            PYCONV_NO_LIBCALL_LOOP();
        }
        memcpy(dst + n - 4, src + n - 4, 4 * sizeof(real));
        return;
    }
    if (n > 0) dst[0] = src[0];
    if (n > 1) dst[1] = src[1];
    if (n > 2) dst[2] = src[2];
}
