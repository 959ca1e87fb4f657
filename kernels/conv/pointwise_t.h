/* Pointwise forward convolution by plain GEMM (template): a 1x1, stride-1, unpadded
 * convolution of an NCHW image is, per image and group, y_g (M x L) = W_g (M x K) @ x_g (K x L)
 * with x_g and y_g the image's channel planes as row-major matrices: no gather, no transpose.
 * The output stage (bias, residual, activation) runs over each image's output after its GEMMs,
 * while they are still in cache. */
#include "conv/epilogue_t.h"

typedef struct {
    const pyconv_conv_shape *s;
    const real *x, *w;
    const FN(pyconv_epilogue) *ep;
    real *y;
} FN(pointwise_args);

/* Images [img, img + imgs), n_threads inside each image's GEMMs. */
static pyconv_status FN(pointwise_images)(const void *ctx, int64_t img, int64_t imgs, int n_threads)
{
    const FN(pointwise_args) *a = (const FN(pointwise_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t l = s->h_out * s->w_out;
    for (int64_t m = img; m < img + imgs; m++) {
        const real *x = a->x + m * s->c_in * l;
        real *y = a->y + m * s->c_out * l;
        for (int64_t g = 0; g < s->groups; g++) {
            const pyconv_status st = FN(pyconv_gemm)(0, 0, cout_g, l, cin_g, 1, a->w + g * cout_g * cin_g,
                                                     cin_g, x + g * cin_g * l, l, 0, y + g * cout_g * l, l,
                                                     n_threads);
            if (st != PYCONV_OK) return st;
        }
        for (int64_t oc = 0; oc < s->c_out; oc++) {
            real *plane = y + oc * l;
            if (a->ep->bias != NULL) {
                const real b = a->ep->bias[oc];
                for (int64_t t = 0; t < l; t++) plane[t] += b;
            }
            if (FN(epilogue_fused)(a->ep))
                FN(finish_run)(plane, a->ep->residual ? a->ep->residual + (m * s->c_out + oc) * l : NULL, l,
                               a->ep->activation);
        }
    }
    return PYCONV_OK;
}

/* Needs a pointwise geometry (pyconv_is_pointwise). */
pyconv_status FN(pyconv_forward_pointwise)(const pyconv_conv_shape *s, const real *x, const real *w,
                                           const FN(pyconv_epilogue) *ep, real *y, int n_threads)
{
    if (!pyconv_is_pointwise(s)) return PYCONV_ERR_ARG;
    const FN(pointwise_args) a = {s, x, w, ep, y};
    return pyconv_parallel_chunks(s->n, 1, n_threads, FN(pointwise_images), &a);
}
