/* The input gradient of a stride-1 convolution is a forward convolution of gy with the weights
 * flipped in space and transposed per group, padded by the dilated kernel's extent minus the
 * original padding (pyconv_input_as_forward). Both algorithms run it through their forward
 * kernel, which reads its values (a gather) instead of scattering them: the implicit GEMM
 * reads the weights flipped in place as it packs them, the direct kernel from a flipped copy. */

/* t's weights (c_in, c_out/groups, kh, kw): w flipped in space and transposed per group, in
 * the calling thread's arena (slot CONV_2); NULL when out of memory. */
static real *FN(flipped_weights)(const pyconv_conv_shape *s, const real *w)
{
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t taps = s->kh * s->kw;
    real *w_t = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_2,
                                         (size_t)(s->c_in * cout_g * taps) * sizeof(real));
    if (w_t == NULL) return NULL;
    for (int64_t ic = 0; ic < s->c_in; ic++) {
        const int64_t g = ic / cin_g;
        for (int64_t oc = 0; oc < cout_g; oc++) {
            const real *src = w + ((g * cout_g + oc) * cin_g + ic % cin_g) * taps;
            real *dst = w_t + (ic * cout_g + oc) * taps;
            for (int64_t k = 0; k < taps; k++) dst[k] = src[taps - 1 - k];
        }
    }
    return w_t;
}

pyconv_status FN(pyconv_input_transposed)(const pyconv_conv_shape *s, int implicit,
                                          const real *w, const real *gy, real *gx, int n_threads)
{
    pyconv_conv_shape t;
    if (!pyconv_input_as_forward(s, &t)) return PYCONV_ERR_ARG;
    const FN(pyconv_epilogue) none = {NULL, NULL, PYCONV_ACT_NONE};
    if (implicit) return FN(pyconv_forward_implicit)(&t, gy, w, 1, NULL, &none, gx, n_threads);
    const real *w_t = FN(flipped_weights)(s, w);
    return w_t == NULL ? PYCONV_ERR_NOMEM : FN(pyconv_forward_direct)(&t, gy, w_t, &none, gx, n_threads);
}
