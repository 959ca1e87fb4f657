/* Direct convolution template: forward, input gradient, weight gradient and bias gradient.
 *
 * Every loop nest walks output rows; the kernel rows valid for an output row come from
 * pyconv_tap_range and the output columns valid for a kernel column from the precomputed
 * ranges cols[j] .. cols[kw + j], so the innermost loops (along the output width, contiguous
 * for stride 1 and vectorized) carry no bounds checks; only the forward pass's few border
 * columns test each tap. Each parallel task (common/parallel.h) owns what it
 * writes (an output plane, an input-gradient plane, one filter's kernel), so no reduction
 * across threads is needed and results do not depend on the thread count. Denormals are
 * flushed to zero inside (common/ftz.h), as in the GEMM. A stride-1 input gradient runs as a
 * forward pass (transposed_t.h); strided ones scatter (pyconv_input_direct). */

#include "conv/epilogue_t.h"

/* x_row[ow*sw + off] += wv * gy_row[ow] for ow in [lo, hi). */
PYCONV_INLINE void FN(scatter_row)(real *PYCONV_RESTRICT x_row, const real *PYCONV_RESTRICT gy_row,
                                   real wv, int64_t off, int64_t sw, int64_t lo, int64_t hi)
{
    if (sw == 1) {
        #pragma omp simd
        for (int64_t ow = lo; ow < hi; ow++) x_row[ow + off] += wv * gy_row[ow];
    } else {
        for (int64_t ow = lo; ow < hi; ow++) x_row[ow * sw + off] += wv * gy_row[ow];
    }
}

/* y[t] = b + sum over the group's channels c, kernel rows i in [i_lo, i_hi) and taps j of
 * w[c, i, j] * x[c, i*dh + j*dw - pl + t*sw] for t < block, x pointing at the row `base` of
 * the first channel: every product of a block goes into registers, so y is stored once.
 * block and sw are constants at the wide calls, so those compile to vector code. */
PYCONV_INLINE void FN(plane_block)(real *PYCONV_RESTRICT y, const real *PYCONV_RESTRICT x,
                                   const real *wo, real b, const pyconv_conv_shape *s,
                                   int64_t i_lo, int64_t i_hi, int block, int64_t sw)
{
    real acc[32];
    const int64_t kh = s->kh, kw = s->kw, plane = s->h_in * s->w_in;
    for (int t = 0; t < block; t++) acc[t] = b;
    for (int64_t c = 0; c < s->c_in / s->groups; c++) {
        for (int64_t i = i_lo; i < i_hi; i++) {
            const real *w_row = wo + (c * kh + i) * kw;
            const real *x_row = x + c * plane + i * s->dil_h * s->w_in - s->pad_left;
            for (int64_t j = 0; j < kw; j++) {
                const real wv = w_row[j];
                const real *xs = x_row + j * s->dil_w;
                for (int t = 0; t < block; t++) acc[t] += wv * xs[t * sw];
            }
        }
    }
    for (int t = 0; t < block; t++) y[t] = acc[t];
}

/* One border output column ow (some kernel columns fall outside the input): the same sum
 * as plane_block over the taps whose column ranges cols[j] .. cols[kw + j] hold ow. */
PYCONV_INLINE real FN(border_output)(const real *x, const real *wo, real b,
                                     const pyconv_conv_shape *s, const int64_t *cols,
                                     int64_t i_lo, int64_t i_hi, int64_t ow)
{
    const int64_t kh = s->kh, kw = s->kw, plane = s->h_in * s->w_in;
    real acc = b;
    for (int64_t c = 0; c < s->c_in / s->groups; c++) {
        for (int64_t i = i_lo; i < i_hi; i++) {
            const real *w_row = wo + (c * kh + i) * kw;
            const real *x_row = x + c * plane + i * s->dil_h * s->w_in + ow * s->stride_w -
                                s->pad_left;
            for (int64_t j = 0; j < kw; j++)
                if (cols[j] <= ow && ow < cols[kw + j]) acc += w_row[j] * x_row[j * s->dil_w];
        }
    }
    return acc;
}

/* Output plane (img, oc): y = bias + sum over the group's channels and taps. Inside
 * [inner_lo, inner_hi), where every kernel column is valid, blocks of outputs take all their
 * products in registers; a last block that does not fit ends at inner_hi, overlapping the one
 * before (recomputing the same values). The border columns go one by one. */
PYCONV_SIMD_CLONES
static void FN(forward_plane)(const pyconv_conv_shape *s, const int64_t *cols, const real *xg,
                              const real *wo, real b, real *y_plane)
{
    const int64_t kw = s->kw, w_in = s->w_in, w_out = s->w_out, sw = s->stride_w;
    int64_t inner_lo = 0, inner_hi = w_out;  /* the columns every kernel column reaches */
    for (int64_t j = 0; j < kw; j++) {
        inner_lo = PYCONV_MAX(inner_lo, cols[j]);
        inner_hi = PYCONV_MIN(inner_hi, cols[kw + j]);
    }
    if (inner_hi <= inner_lo) inner_lo = inner_hi = 0;  /* no interior: all columns are border */
    const int64_t width = inner_hi - inner_lo;
    for (int64_t oh = 0; oh < s->h_out; oh++) {
        real *y_row = y_plane + oh * w_out;
        const int64_t base = oh * s->stride_h - s->pad_top;
        const real *x_base = xg + base * w_in;
        int64_t i_lo, i_hi;
        pyconv_tap_range(base, s->h_in, s->kh, s->dil_h, &i_lo, &i_hi);
        for (int64_t ow = 0; ow < inner_lo; ow++)
            y_row[ow] = FN(border_output)(x_base, wo, b, s, cols, i_lo, i_hi, ow);
        for (int64_t ow = inner_hi; ow < w_out; ow++)
            y_row[ow] = FN(border_output)(x_base, wo, b, s, cols, i_lo, i_hi, ow);
        int64_t ow = inner_lo;
        if (sw == 1) {  /* register blocks of 32, 16, 8, 4 outputs */
            while (inner_hi - ow >= 4 || (ow < inner_hi && width >= 4)) {
                const int64_t rem = inner_hi - ow;
                const int block = rem >= 32 || (rem > 16 && width >= 32) ? 32
                                : rem >= 16 || (rem > 8 && width >= 16) ? 16
                                : rem >= 8 || (rem > 4 && width >= 8) ? 8 : 4;
                ow = PYCONV_MIN(ow, inner_hi - block);
                if (block == 32)
                    FN(plane_block)(y_row + ow, x_base + ow, wo, b, s, i_lo, i_hi, 32, 1);
                else if (block == 16)
                    FN(plane_block)(y_row + ow, x_base + ow, wo, b, s, i_lo, i_hi, 16, 1);
                else if (block == 8)
                    FN(plane_block)(y_row + ow, x_base + ow, wo, b, s, i_lo, i_hi, 8, 1);
                else
                    FN(plane_block)(y_row + ow, x_base + ow, wo, b, s, i_lo, i_hi, 4, 1);
                ow += block;
            }
        }
        for (; ow < inner_hi; ow++)
            FN(plane_block)(y_row + ow, x_base + ow * sw, wo, b, s, i_lo, i_hi, 1, sw);
    }
}

/* Input-gradient plane (img, ic) += the contributions of output plane gy_plane through the
 * kernel wk (kh x kw). */
PYCONV_SIMD_CLONES
static void FN(input_plane)(const pyconv_conv_shape *s, const int64_t *cols, const real *wk,
                            const real *gy_plane, real *gx_plane)
{
    const int64_t kh = s->kh, kw = s->kw, w_in = s->w_in, w_out = s->w_out;
    for (int64_t oh = 0; oh < s->h_out; oh++) {
        const int64_t base = oh * s->stride_h - s->pad_top;
        int64_t i_lo, i_hi;
        pyconv_tap_range(base, s->h_in, kh, s->dil_h, &i_lo, &i_hi);
        for (int64_t i = i_lo; i < i_hi; i++) {
            real *gx_row = gx_plane + (base + i * s->dil_h) * w_in;
            for (int64_t j = 0; j < kw; j++)
                FN(scatter_row)(gx_row, gy_plane + oh * w_out, wk[i * kw + j],
                                j * s->dil_w - s->pad_left, s->stride_w, cols[j], cols[kw + j]);
        }
    }
}

/* Kernel gradient of one input plane and one output plane, as elementwise products:
 * acc[(i*kw + j)*w_out + ow] += gy[oh, ow] * x[oh*sh - pt + i*dh, ow*sw - pl + j*dw], summed
 * over the output rows oh. Summing acc over ow afterwards gives the gradient: one horizontal
 * sum per tap and kernel, not one per tap and output row. */
PYCONV_SIMD_CLONES
static void FN(weight_plane)(const pyconv_conv_shape *s, const int64_t *cols, const real *x_plane,
                             const real *gy_plane, real *PYCONV_RESTRICT acc)
{
    const int64_t kh = s->kh, kw = s->kw, w_in = s->w_in, w_out = s->w_out, sw = s->stride_w;
    for (int64_t oh = 0; oh < s->h_out; oh++) {
        const int64_t base = oh * s->stride_h - s->pad_top;
        const real *PYCONV_RESTRICT g = gy_plane + oh * w_out;
        int64_t i_lo, i_hi;
        pyconv_tap_range(base, s->h_in, kh, s->dil_h, &i_lo, &i_hi);
        for (int64_t i = i_lo; i < i_hi; i++) {
            for (int64_t j = 0; j < kw; j++) {
                const real *PYCONV_RESTRICT x_row =
                    x_plane + (base + i * s->dil_h) * w_in + j * s->dil_w - s->pad_left;
                real *PYCONV_RESTRICT a = acc + (i * kw + j) * w_out;
                if (sw == 1) {
                    #pragma omp simd
                    for (int64_t ow = cols[j]; ow < cols[kw + j]; ow++) a[ow] += g[ow] * x_row[ow];
                } else {
                    for (int64_t ow = cols[j]; ow < cols[kw + j]; ow++)
                        a[ow] += g[ow] * x_row[ow * sw];
                }
            }
        }
    }
}

/* The arguments of a direct kernel, and the per-kernel-column output ranges of its geometry
 * (cols[j] .. cols[kw + j], pyconv_column_ranges). */
typedef struct {
    const pyconv_conv_shape *s;
    const int64_t *cols;
    const real *x, *w, *gy;
    const FN(pyconv_epilogue) *ep;  /* forward only */
    real *y, *gx, *gw;
} FN(direct_args);

/* Output planes [lo, hi) of the forward pass (plane t = image t / c_out, filter t % c_out). */
static pyconv_status FN(forward_planes)(const void *ctx, int64_t lo, int64_t hi,
                                        const pyconv_thread *th)
{
    const FN(direct_args) *a = (const FN(direct_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    (void)th;
    const int64_t plane_out = s->h_out * s->w_out;
    for (int64_t t = lo; t < hi; t++) {
        const int64_t img = t / s->c_out, oc = t % s->c_out;
        FN(forward_plane)(s, a->cols, a->x + (img * s->c_in + oc / cout_g * cin_g) * s->h_in * s->w_in,
                          a->w + oc * cin_g * s->kh * s->kw, a->ep->bias ? a->ep->bias[oc] : (real)0,
                          a->y + t * plane_out);
        /* the plane is still in cache */
        if (FN(epilogue_fused)(a->ep))
            FN(finish_run)(a->y + t * plane_out, a->ep->residual ? a->ep->residual + t * plane_out : NULL,
                           plane_out, a->ep->activation);
    }
    return PYCONV_OK;
}

/* Input-gradient planes [lo, hi) (plane t = image t / c_in, channel t % c_in), scattered. */
static pyconv_status FN(input_planes)(const void *ctx, int64_t lo, int64_t hi,
                                      const pyconv_thread *th)
{
    const FN(direct_args) *a = (const FN(direct_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    (void)th;
    for (int64_t t = lo; t < hi; t++) {
        const int64_t img = t / s->c_in, ic = t % s->c_in, g = ic / cin_g;
        memset(a->gx + t * plane_in, 0, (size_t)plane_in * sizeof(real));
        for (int64_t oc = g * cout_g; oc < (g + 1) * cout_g; oc++)
            FN(input_plane)(s, a->cols, a->w + (oc * cin_g + ic - g * cin_g) * s->kh * s->kw,
                            a->gy + (img * s->c_out + oc) * plane_out, a->gx + t * plane_in);
    }
    return PYCONV_OK;
}

/* Kernels [lo, hi) of the weight gradient (kernel t = filter t / cin_g, its channel t % cin_g),
 * each summed over the batch in a fixed order into the thread's scratch accumulator. */
static pyconv_status FN(weight_kernels)(const void *ctx, int64_t lo, int64_t hi,
                                        const pyconv_thread *th)
{
    const FN(direct_args) *a = (const FN(direct_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    const int64_t taps = s->kh * s->kw;
    real *acc = (real *)th->scratch;
    for (int64_t t = lo; t < hi; t++) {
        const int64_t oc = t / cin_g, ic = oc / cout_g * cin_g + t % cin_g;
        memset(acc, 0, (size_t)(taps * s->w_out) * sizeof(real));
        for (int64_t img = 0; img < s->n; img++)
            FN(weight_plane)(s, a->cols, a->x + (img * s->c_in + ic) * plane_in,
                             a->gy + (img * s->c_out + oc) * plane_out, acc);
        for (int64_t tap = 0; tap < taps; tap++) {
            real sum = 0;
            for (int64_t ow = 0; ow < s->w_out; ow++) sum += acc[tap * s->w_out + ow];
            a->gw[t * taps + tap] = sum;
        }
    }
    return PYCONV_OK;
}

/* Runs one of the tasks above over n_items with the column ranges of a's geometry. The work
 * is the convolution's multiply-adds, the same in all three. */
static pyconv_status FN(run_direct)(FN(direct_args) *a, int64_t n_items, pyconv_range_fn task,
                                    pyconv_scratch scratch, int n_threads)
{
    const pyconv_conv_shape *s = a->s;
    int64_t *cols = pyconv_column_ranges(s);
    if (cols == NULL) return PYCONV_ERR_NOMEM;
    a->cols = cols;
    const pyconv_status st = pyconv_parallel_for(
        n_items, (double)(s->n * s->c_out) * (double)(s->h_out * s->w_out) *
                     (double)(s->c_in / s->groups * s->kh * s->kw),
        n_threads, task, a, scratch);
    pyconv_aligned_free(cols);
    return st;
}

pyconv_status FN(pyconv_forward_direct)(const pyconv_conv_shape *s, const real *x,
                                       const real *w, const FN(pyconv_epilogue) *ep, real *y,
                                       int n_threads)
{
    const int64_t plane_out = s->h_out * s->w_out;
    if (s->c_in == 0) {  /* no input channels (x may be NULL): the output is the bias */
        for (int64_t t = 0; t < s->n * s->c_out; t++) {
            for (int64_t p = 0; p < plane_out; p++)
                y[t * plane_out + p] = ep->bias ? ep->bias[t % s->c_out] : (real)0;
            FN(finish_run)(y + t * plane_out, ep->residual ? ep->residual + t * plane_out : NULL,
                           plane_out, ep->activation);
        }
        return PYCONV_OK;
    }
    FN(direct_args) a = {s, NULL, x, w, NULL, ep, y, NULL, NULL};
    return FN(run_direct)(&a, s->n * s->c_out, FN(forward_planes), PYCONV_NO_SCRATCH, n_threads);
}

/* Strided input gradient: every output's contributions scattered into gx. */
pyconv_status FN(pyconv_input_direct)(const pyconv_conv_shape *s, const real *w,
                                      const real *gy, real *gx, int n_threads)
{
    FN(direct_args) a = {s, NULL, NULL, w, gy, NULL, NULL, gx, NULL};
    return FN(run_direct)(&a, s->n * s->c_in, FN(input_planes), PYCONV_NO_SCRATCH, n_threads);
}

pyconv_status FN(pyconv_weight_direct)(const pyconv_conv_shape *s, const real *x,
                                              const real *gy, real *gw, int n_threads)
{
    FN(direct_args) a = {s, NULL, x, NULL, gy, NULL, NULL, NULL, gw};
    const pyconv_scratch acc = {PYCONV_ARENA_CONV_0,
                                (size_t)(s->kh * s->kw * s->w_out) * sizeof(real)};
    return FN(run_direct)(&a, s->c_out * (s->c_in / s->groups), FN(weight_kernels), acc, n_threads);
}

/* Bias gradients [lo, hi): each filter's grad_output summed over images, then pixels. */
static pyconv_status FN(bias_filters)(const void *ctx, int64_t lo, int64_t hi,
                                      const pyconv_thread *th)
{
    const FN(pyconv_conv_io) *a = (const FN(pyconv_conv_io) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t plane = s->h_out * s->w_out;
    (void)th;
    for (int64_t oc = lo; oc < hi; oc++) {
        real total = 0;
        for (int64_t img = 0; img < s->n; img++) {
            const real *p = a->src + (img * s->c_out + oc) * plane;
            real acc = 0;
            #pragma omp simd reduction(+:acc)
            for (int64_t k = 0; k < plane; k++) acc += p[k];
            total += acc;
        }
        a->dst[oc] = total;
    }
    return PYCONV_OK;
}

pyconv_status FN(pyconv_conv2d_bias)(const pyconv_conv_shape *s, const real *gy, real *gb,
                                     int n_threads)
{
    if (pyconv_conv_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1) return PYCONV_ERR_ARG;
    const FN(pyconv_conv_io) a = {s, gy, gb};
    return pyconv_parallel_for(s->c_out, (double)(s->n * s->c_out) * (double)(s->h_out * s->w_out),
                               n_threads, FN(bias_filters), &a, PYCONV_NO_SCRATCH);
}
