/* Helpers shared by the convolution kernels in kernels/conv/ (not part of the public C API). */
#ifndef PYCONV_CONV_INTERNAL_H
#define PYCONV_CONV_INTERNAL_H

#include "common/parallel.h"

/* Kernel taps i in [*lo, *hi) for which base + i*dil lies in [0, size): the valid taps of
 * one output row (base = oh*stride - pad). Empty ranges come out as lo == hi. */
PYCONV_INLINE void pyconv_tap_range(int64_t base, int64_t size, int64_t k, int64_t dil,
                                    int64_t *lo, int64_t *hi)
{
    int64_t l = base < 0 ? (-base + dil - 1) / dil : 0;
    int64_t h = base < size ? (size - 1 - base) / dil + 1 : 0;
    h = PYCONV_MIN(h, k);
    *lo = PYCONV_MIN(l, h);
    *hi = h;
}

/* Outputs o in [*lo, *hi) for which o*stride + offset lies in [0, size): the output columns a
 * kernel column (offset = j*dil - pad) reads inside the input. Empty ranges: lo == hi. */
PYCONV_INLINE void pyconv_out_range(int64_t offset, int64_t size, int64_t stride, int64_t n_out,
                                    int64_t *lo, int64_t *hi)
{
    int64_t l = offset < 0 ? (-offset + stride - 1) / stride : 0;
    int64_t h = offset < size ? (size - 1 - offset) / stride + 1 : 0;
    h = PYCONV_MIN(h, n_out);
    *lo = PYCONV_MIN(l, h);
    *hi = h;
}

/* Extent of the padded input along one axis: pad zeros, then the input, then zeros up to the
 * last value the last output's last tap reads (none when that lies inside the input). */
PYCONV_INLINE int64_t pyconv_padded_extent(int64_t size, int64_t pad, int64_t n_out,
                                           int64_t stride, int64_t k, int64_t dil)
{
    return pad + PYCONV_MAX(size, (n_out - 1) * stride + (k - 1) * dil - pad + 1);
}

/* Per-kernel-column output ranges [lo[j], hi[j]) of one geometry; NULL when out of memory. */
PYCONV_INLINE int64_t *pyconv_column_ranges(const pyconv_conv_shape *s)
{
    int64_t *r = (int64_t *)pyconv_aligned_alloc((size_t)(2 * s->kw) * sizeof(int64_t));
    if (r == NULL) return NULL;
    for (int64_t j = 0; j < s->kw; j++)
        pyconv_out_range(j * s->dil_w - s->pad_left, s->w_in, s->stride_w, s->w_out,
                         &r[j], &r[s->kw + j]);
    return r;
}

/* Largest padded plane the implicit GEMM copies, as a multiple of the input plane (plus 64 Ki
 * values, so small images always qualify): padding far wider than the image (legal, if odd)
 * would make the copy huge, and the direct kernel reads padding as zeros without storing it. */
#define PYCONV_MAX_PADDED_PLANE_RATIO 4.0

/* The plane the implicit GEMM gathers from: the input zero-padded on every side the
 * convolution reads (hp x wp), or the input itself (padded == 0). */
typedef struct {
    int64_t hp, wp;
    int padded;
} pyconv_gather_extent;

PYCONV_INLINE pyconv_gather_extent pyconv_gather_extent_of(const pyconv_conv_shape *s)
{
    pyconv_gather_extent e;
    e.hp = pyconv_padded_extent(s->h_in, s->pad_top, s->h_out, s->stride_h, s->kh, s->dil_h);
    e.wp = pyconv_padded_extent(s->w_in, s->pad_left, s->w_out, s->stride_w, s->kw, s->dil_w);
    e.padded = e.hp != s->h_in || e.wp != s->w_in;
    return e;
}

/* Whether the implicit GEMM can gather s: taps to multiply, and a padded plane of bounded size. */
PYCONV_INLINE int pyconv_gather_fits(const pyconv_conv_shape *s)
{
    const pyconv_gather_extent e = pyconv_gather_extent_of(s);
    return s->c_in > 0 && (double)e.hp * (double)e.wp <=
                              PYCONV_MAX_PADDED_PLANE_RATIO * (double)s->h_in * (double)s->w_in + 65536.0;
}

/* A 1x1, stride-1, unpadded convolution: its output planes are GEMMs of the input planes. */
PYCONV_INLINE int pyconv_is_pointwise(const pyconv_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_top == 0 &&
           s->pad_left == 0 && s->h_out == s->h_in && s->w_out == s->w_in;
}

/* Images per step of the implicit GEMM: small images are batched so a step has at least this
 * many pixels (or GEMM depth, for the weight gradient). */
#define PYCONV_MIN_GEMM_PIXELS 512

/* Lays a workspace out as named parts: each part starts PYCONV_ALIGN-aligned at the offset
 * this returns, and *bytes grows to hold it. */
PYCONV_INLINE size_t pyconv_layout_part(size_t *bytes, size_t part_bytes)
{
    const size_t at = *bytes;
    *bytes += (part_bytes + PYCONV_ALIGN - 1) / PYCONV_ALIGN * PYCONV_ALIGN;
    return at;
}

#define PYCONV_DECLARE_CONV_INTERNAL(real, sfx)                                               \
/* The arguments of a one-input, one-output pass over planes (im2col, col2im, padding). */     \
typedef struct {                                                                              \
    const pyconv_conv_shape *s;                                                               \
    const real *src;                                                                          \
    real *dst;                                                                                \
} pyconv_conv_io_##sfx;                                                                        \
/* What the implicit GEMM reads (conv/gather_t.h): the images as pyconv_gather_extent says,   \
 * and one offset per kernel tap, so that tap p of output pixel q is at image[pixel(q) +      \
 * off[p]] (pyconv_gather_pixels gives pixel(q)). */                                          \
typedef struct {                                                                              \
    const pyconv_conv_shape *s;                                                               \
    const real *x;                                                                            \
    pyconv_gather_extent e;                                                                   \
    const int64_t *off;   /* tap (c, i, j) of the whole input: c_in * kh * kw of them */      \
} pyconv_gather_##sfx;                                                                         \
/* g for s over x; its offsets go to off (c_in * kh * kw of them). */                         \
void pyconv_gather_init_##sfx(pyconv_gather_##sfx *g, const pyconv_conv_shape *s,             \
                              const real *x, int64_t *off);                                   \
/* Images [img, img + imgs) as the gather reads them: x itself, or a padded copy in the        \
 * calling thread's arena (slot CONV_0); NULL when out of memory. */                          \
const real *pyconv_gather_images_##sfx(const pyconv_gather_##sfx *g, int64_t img,             \
                                       int64_t imgs, int n_threads);                          \
/* pix[t] = offset of the first value (tap 0, channel 0) that output pixel q0 + t of the      \
 * gathered images reads, t < n. */                                                           \
void pyconv_gather_pixels_##sfx(const pyconv_gather_##sfx *g, int64_t q0, int64_t n,          \
                                int64_t *pix);                                                \
/* col2im of n_planes consecutive (h_in, w_in) planes: plane p owns the kh*kw rows starting    \
 * at row p*kh*kw of col, each row h_out*w_out values, ld apart. */                            \
pyconv_status pyconv_col2im_planes_##sfx(const pyconv_conv_shape *s, const real *col,        \
                                         int64_t ld, real *x, int64_t n_planes,                \
                                         int n_threads);                                      \
/* The forward pass's output stage (conv/epilogue_t.h). */                                    \
typedef struct {                                                                              \
    const real *bias;                                                                         \
    const real *residual;                                                                     \
    pyconv_activation activation;                                                             \
} pyconv_epilogue_##sfx;                                                                       \
/* The algorithms, one file each; pyconv_conv_plan_make (conv/select.c) chooses among them   \
 * and states each one's preconditions. */                                                   \
pyconv_status pyconv_forward_direct_##sfx(const pyconv_conv_shape *s, const real *x,         \
                                          const real *w, const pyconv_epilogue_##sfx *ep,     \
                                          real *y, int n_threads);                            \
/* flipped: w are the weights of the convolution whose stride-1 input gradient this is;       \
 * packed: w as pyconv_conv2d_pack_weight packs them (not flipped), or NULL */                 \
pyconv_status pyconv_forward_implicit_##sfx(const pyconv_conv_shape *s, const real *x,       \
                                            const real *w, int flipped, const real *packed,   \
                                            const pyconv_epilogue_##sfx *ep, real *y,         \
                                            int n_threads);                                   \
pyconv_status pyconv_forward_pointwise_##sfx(const pyconv_conv_shape *s, const real *x,      \
                                             const real *w, const pyconv_epilogue_##sfx *ep,  \
                                             real *y, int n_threads);                         \
/* Winograd F(4x4, 3x3) (conv/winograd_t.h): 3x3, stride 1, dilation 1, input channels in    \
 * every group; the input gradient of such a convolution as its transposed forward. packed:  \
 * w as pyconv_conv2d_pack_weight packs them, or NULL (the filter transform reads its taps).  */ \
pyconv_status pyconv_forward_winograd_##sfx(const pyconv_conv_shape *s, const real *x,       \
                                            const real *w, const real *packed,                \
                                            const pyconv_epilogue_##sfx *ep, real *y,         \
                                            int n_threads);                                   \
pyconv_status pyconv_input_winograd_##sfx(const pyconv_conv_shape *s, const real *w,         \
                                          const real *gy, real *gx, int n_threads);           \
/* Its weight gradient in the Winograd domain (conv/winograd_weight_t.h).                    */ \
pyconv_status pyconv_weight_winograd_##sfx(const pyconv_conv_shape *s, const real *x,        \
                                           const real *gy, real *gw, int n_threads);          \
pyconv_status pyconv_input_direct_##sfx(const pyconv_conv_shape *s, const real *w,           \
                                        const real *gy, real *gx, int n_threads);             \
pyconv_status pyconv_input_transposed_##sfx(const pyconv_conv_shape *s, int implicit,        \
                                            const real *w, const real *gy, real *gx,          \
                                            int n_threads);                                   \
pyconv_status pyconv_input_gemm_col2im_##sfx(const pyconv_conv_shape *s, const real *w,      \
                                             const real *gy, real *gx, int n_threads);        \
pyconv_status pyconv_weight_direct_##sfx(const pyconv_conv_shape *s, const real *x,          \
                                         const real *gy, real *gw, int n_threads);            \
pyconv_status pyconv_weight_implicit_##sfx(const pyconv_conv_shape *s, const real *x,        \
                                           const real *gy, real *gw, int n_threads);          \
pyconv_status pyconv_weight_gemm_##sfx(const pyconv_conv_shape *s, const real *x,            \
                                       const real *gy, real *gw, int n_threads);              \
/* Bytes of workspace each algorithm takes for s with n_threads (all threads together). */   \
double pyconv_forward_implicit_workspace_##sfx(const pyconv_conv_shape *s, int n_threads);   \
double pyconv_winograd_workspace_##sfx(const pyconv_conv_shape *s, int n_threads);           \
double pyconv_weight_winograd_workspace_##sfx(const pyconv_conv_shape *s, int n_threads);    \
double pyconv_weight_implicit_workspace_##sfx(const pyconv_conv_shape *s, int n_threads);    \
double pyconv_weight_gemm_workspace_##sfx(const pyconv_conv_shape *s, int n_threads);        \
double pyconv_input_gemm_col2im_workspace_##sfx(const pyconv_conv_shape *s, int n_threads);   \
/* Depthwise convolutions (groups == c_in == c_out; conv/depthwise_t.h): every op, any        \
 * geometry, and the bytes of workspace op takes. */                                          \
pyconv_status pyconv_forward_depthwise_##sfx(const pyconv_conv_shape *s, const real *x,      \
                                             const real *w, const pyconv_epilogue_##sfx *ep,  \
                                             real *y, int n_threads);                         \
pyconv_status pyconv_input_depthwise_##sfx(const pyconv_conv_shape *s, const real *w,        \
                                           const real *gy, real *gx, int n_threads);          \
pyconv_status pyconv_weight_depthwise_##sfx(const pyconv_conv_shape *s, const real *x,       \
                                            const real *gy, real *gw, int n_threads);         \
double pyconv_depthwise_workspace_##sfx(const pyconv_conv_shape *s, pyconv_conv_op op,       \
                                        int n_threads);

PYCONV_DECLARE_CONV_INTERNAL(float, f32)
PYCONV_DECLARE_CONV_INTERNAL(double, f64)
#undef PYCONV_DECLARE_CONV_INTERNAL

/* The stride-1 input gradient as a forward convolution (conv/transposed_t.h): t = that
 * forward of s; 0 when s is strided or t's padding would be negative (padding beyond the
 * kernel's extent), where the input gradient is no such forward. */
PYCONV_INLINE int pyconv_input_as_forward(const pyconv_conv_shape *s, pyconv_conv_shape *t)
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

#endif /* PYCONV_CONV_INTERNAL_H */
