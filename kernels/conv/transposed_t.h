/* Template helper (included from conv_direct_t.h and conv_gemm_t.h, once per dtype, so no
 * include guard): the input gradient of a stride-1 convolution is a forward convolution of gy
 * with the weights flipped in space and transposed per group, padded by the dilated kernel's
 * extent minus the original padding. Both algorithms run it through their forward kernel,
 * which reads its values (a gather) instead of scattering them. */

/* t = that forward convolution of s; 0 when s is strided or t's padding would be negative
 * (padding beyond the kernel's extent), where the input gradient is no such forward. */
PYCONV_INLINE int FN(input_as_forward)(const pyconv_conv_shape *s, pyconv_conv_shape *t)
{
    *t = *s;
    t->c_in = s->c_out;
    t->h_in = s->h_out;
    t->w_in = s->w_out;
    t->c_out = s->c_in;
    t->h_out = s->h_in;
    t->w_out = s->w_in;
    t->pad_top = (s->kh - 1) * s->dil_h - s->pad_top;
    t->pad_left = (s->kw - 1) * s->dil_w - s->pad_left;
    return s->stride_h == 1 && s->stride_w == 1 && t->pad_top >= 0 && t->pad_left >= 0;
}

/* t's weights (c_in, c_out/groups, kh, kw): w flipped in space and transposed per group, in
 * the calling thread's arena (slot CONV_2); NULL when out of memory. */
PYCONV_INLINE real *FN(flipped_weights)(const pyconv_conv_shape *s, const real *w)
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
