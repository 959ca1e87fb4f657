/* pyconv's C kernel API: the one header the Cython glue (pyconv/_kernels.pxd) declares.
 *
 * Conventions
 *  - C functions never touch Python objects; every kernel returns a pyconv_status.
 *  - All sizes and offsets are int64_t; arrays are C-contiguous NCHW.
 *  - Arguments are validated in the Python layer; kernels only re-check what would
 *    otherwise lead to an out-of-bounds access (pool indices) and allocation failures.
 *  - Each op has a float32 (_f32) and a float64 (_f64) entry point, instantiated from one
 *    template source (see common/pyconv_instantiate.h).
 *  - n_threads >= 1 is resolved in Python and passed down; kernels hold no mutable global state.
 */
#ifndef PYCONV_KERNELS_H
#define PYCONV_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    PYCONV_OK = 0,
    PYCONV_ERR_NOMEM = 1,   /* a workspace allocation failed -> MemoryError */
    PYCONV_ERR_INDEX = 2,   /* an index argument (max-pool indices) out of range -> ValueError */
    PYCONV_ERR_ARG = 3      /* an inconsistent argument reached the kernel -> ValueError */
} pyconv_status;

/* Geometry of one grouped 2-D convolution. Input (n, c_in, h_in, w_in), weight
 * (c_out, c_in / groups, kh, kw), output (n, c_out, h_out, w_out). Output pixel (oh, ow)
 * reads input row oh*stride_h - pad_top + i*dil_h. Bottom/right padding only shows in
 * h_out / w_out, so asymmetric padding needs no more fields. */
typedef struct {
    int64_t n, c_in, h_in, w_in;
    int64_t c_out, kh, kw;
    int64_t h_out, w_out;
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_left;
    int64_t dil_h, dil_w;
    int64_t groups;
} pyconv_conv_shape;

/* Geometry of a 2-D pooling over n_planes = N * C independent planes. pad_h / pad_w are
 * applied on both sides (PyTorch's pooling padding is symmetric); with ceil_mode the
 * last window may start in the bottom/right padding, which h_out / w_out already encode. */
typedef struct {
    int64_t n_planes, h_in, w_in;
    int64_t kh, kw;
    int64_t h_out, w_out;
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;
    int64_t dil_h, dil_w;
} pyconv_pool_shape;

#define PYCONV_DECLARE_FOR(real, sfx)                                                         \
/* ---- GEMM (row-major, BLAS semantics): C = alpha * op(A) @ op(B) + beta * C ---- */       \
pyconv_status pyconv_gemm_##sfx(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,   \
                                real alpha, const real *a, int64_t lda,                      \
                                const real *b, int64_t ldb, real beta,                       \
                                real *c, int64_t ldc, int n_threads);                        \
/* ---- im2col / col2im over a batch: col is (n, c_in*kh*kw, h_out*w_out) ----------------- */ \
pyconv_status pyconv_im2col_##sfx(const pyconv_conv_shape *s, const real *x, real *col,      \
                                  int n_threads);                                            \
/* col2im overwrites x (zeroed first) with the sum of the overlapping patches */             \
pyconv_status pyconv_col2im_##sfx(const pyconv_conv_shape *s, const real *col, real *x,      \
                                  int n_threads);                                            \
/* ---- convolution forward; bias may be NULL ---------------------------------------------- */ \
pyconv_status pyconv_conv2d_direct_##sfx(const pyconv_conv_shape *s, const real *x,          \
                                         const real *w, const real *bias, real *y,           \
                                         int n_threads);                                     \
pyconv_status pyconv_conv2d_im2col_##sfx(const pyconv_conv_shape *s, const real *x,          \
                                         const real *w, const real *bias, real *y,           \
                                         int n_threads);                                     \
/* Winograd F(4x4, 3x3): 3x3 kernels, stride 1, dilation 1 only (PYCONV_ERR_ARG otherwise) */ \
pyconv_status pyconv_conv2d_winograd_##sfx(const pyconv_conv_shape *s, const real *x,        \
                                           const real *w, const real *bias, real *y,         \
                                           int n_threads);                                   \
/* ---- gradient w.r.t. the input: gx (n, c_in, h_in, w_in) is overwritten ----------------- */ \
pyconv_status pyconv_conv2d_input_direct_##sfx(const pyconv_conv_shape *s, const real *w,    \
                                               const real *gy, real *gx, int n_threads);     \
pyconv_status pyconv_conv2d_input_im2col_##sfx(const pyconv_conv_shape *s, const real *w,    \
                                               const real *gy, real *gx, int n_threads);     \
pyconv_status pyconv_conv2d_input_winograd_##sfx(const pyconv_conv_shape *s, const real *w,  \
                                                 const real *gy, real *gx, int n_threads);   \
/* ---- gradient w.r.t. the weight: gw (c_out, c_in/groups, kh, kw) is overwritten -------- */ \
pyconv_status pyconv_conv2d_weight_direct_##sfx(const pyconv_conv_shape *s, const real *x,   \
                                                const real *gy, real *gw, int n_threads);    \
pyconv_status pyconv_conv2d_weight_im2col_##sfx(const pyconv_conv_shape *s, const real *x,   \
                                                const real *gy, real *gw, int n_threads);    \
/* ---- gradient w.r.t. the bias: gb (c_out,) is overwritten ------------------------------- */ \
pyconv_status pyconv_conv2d_bias_##sfx(const pyconv_conv_shape *s, const real *gy,           \
                                       real *gb, int n_threads);                             \
/* ---- max pooling; indices (may be NULL) are flat h*W+w within each plane, int64 -------- */ \
pyconv_status pyconv_maxpool2d_##sfx(const pyconv_pool_shape *s, const real *x, real *y,     \
                                     int64_t *indices, int n_threads);                       \
/* gx is overwritten; returns PYCONV_ERR_INDEX (gx then unspecified) on an index outside */  \
/* [0, h_in*w_in) */                                                                         \
pyconv_status pyconv_maxpool2d_backward_##sfx(const pyconv_pool_shape *s, const real *gy,    \
                                              const int64_t *indices, real *gx,              \
                                              int n_threads);                                \
/* ---- average pooling; divisor_override == 0 means none (negative ones are PyTorch's) -- */ \
pyconv_status pyconv_avgpool2d_##sfx(const pyconv_pool_shape *s, const real *x, real *y,     \
                                     int count_include_pad, int64_t divisor_override,        \
                                     int n_threads);                                         \
pyconv_status pyconv_avgpool2d_backward_##sfx(const pyconv_pool_shape *s, const real *gy,    \
                                              real *gx, int count_include_pad,               \
                                              int64_t divisor_override, int n_threads);

PYCONV_DECLARE_FOR(float, f32)
PYCONV_DECLARE_FOR(double, f64)
#undef PYCONV_DECLARE_FOR

/* ---- run-time facts for show_config() -------------------------------------------------- */
/* Choose the GEMM micro-kernel for this CPU (PYCONV_ARCH=reference forces the portable one).
 * Each Python extension module that reaches the GEMM calls it once at import, under the GIL:
 * each module links its own copy of the kernels. */
void pyconv_gemm_init(void);
/* Name of the GEMM micro-kernel chosen for this CPU ("avx2+fma", "reference", ...). */
const char *pyconv_gemm_isa(void);
/* 1 when compiled with OpenMP. */
int pyconv_openmp_enabled(void);
/* omp_get_max_threads(), or 1 without OpenMP. */
int pyconv_openmp_max_threads(void);

#ifdef __cplusplus
}
#endif
#endif /* PYCONV_KERNELS_H */
