/* pyconv's C kernel API: the one header the Cython glue (pyconv/_kernels.pxd) declares.
 *
 * Conventions
 *  - C functions never touch Python objects; every kernel returns a pyconv_status.
 *  - All sizes and offsets are int64_t; arrays are C-contiguous NCHW.
 *  - Every entry point checks its geometry first (pyconv_conv_shape_check /
 *    pyconv_pool_shape_check: the one rule set, which the Python glue also calls for its
 *    messages) and n_threads >= 1, and returns PYCONV_ERR_ARG when they are inconsistent.
 *    Buffers must hold what the geometry implies (as in BLAS); max-pool indices are checked.
 *  - Each op has a float32 (_f32) and a float64 (_f64) entry point, instantiated from one
 *    template source (see common/pyconv_instantiate.h).
 *  - n_threads >= 1 is resolved in Python and passed down; kernels hold no mutable global state.
 *  - The kernels are compiled once per process, into the extension module
 *    pyconv.cython_kernels, which exposes them to the other modules (docs/architecture.md).
 */
#ifndef PYCONV_KERNELS_H
#define PYCONV_KERNELS_H

#include <stddef.h>
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

/* Which algorithm a convolution asks for (auto: the shape rule in conv/select.c). */
typedef enum {
    PYCONV_ALGO_AUTO = 0,
    PYCONV_ALGO_DIRECT = 1,
    PYCONV_ALGO_IM2COL = 2,
    PYCONV_ALGO_WINOGRAD = 3    /* F(4x4, 3x3): forward, input and weight gradients (docs/winograd.md) */
} pyconv_algorithm;

typedef enum {
    PYCONV_OP_FORWARD = 0,
    PYCONV_OP_INPUT_GRAD = 1,
    PYCONV_OP_WEIGHT_GRAD = 2
} pyconv_conv_op;

/* How a call computes its result. */
typedef enum {
    PYCONV_METHOD_NONE = 0,             /* the result is empty */
    PYCONV_METHOD_ZEROS,                /* nothing to sum: the gradient is zero */
    PYCONV_METHOD_BIAS_ONLY,            /* forward without input channels: y is the bias */
    PYCONV_METHOD_DIRECT,               /* direct loops (the input gradient scatters) */
    PYCONV_METHOD_DIRECT_TRANSPOSED,    /* stride-1 input gradient: direct forward of gy */
    PYCONV_METHOD_IMPLICIT_GEMM,        /* implicit GEMM (forward, weight gradient) */
    PYCONV_METHOD_GEMM_POINTWISE,       /* 1x1 stride-1 unpadded forward: plain GEMMs of planes */
    PYCONV_METHOD_IMPLICIT_TRANSPOSED,  /* stride-1 input gradient: implicit-GEMM forward of gy */
    PYCONV_METHOD_GEMM_COL2IM,          /* input gradient: GEMM per image, then col2im */
    PYCONV_METHOD_GEMM_PATCHES,         /* weight gradient: GEMM of gy and gathered patches */
    PYCONV_METHOD_DEPTHWISE,            /* groups == c_in == c_out: the depthwise kernels */
    PYCONV_METHOD_WINOGRAD,             /* Winograd F(4x4, 3x3) forward */
    PYCONV_METHOD_WINOGRAD_TRANSPOSED,  /* stride-1 input gradient: Winograd forward of gy */
    PYCONV_METHOD_WINOGRAD_WEIGHT       /* weight gradient in the Winograd domain */
} pyconv_conv_method;

/* The activation a forward pass applies in its output stage. */
typedef enum {
    PYCONV_ACT_NONE = 0,
    PYCONV_ACT_RELU,
    PYCONV_ACT_RELU6,
    PYCONV_ACT_SILU,
    PYCONV_ACT_SIGMOID,
    PYCONV_ACT_TANH
} pyconv_activation;

/* What a call will run: the algorithm (DIRECT, IM2COL or WINOGRAD; AUTO never comes out), the
 * method, and the bytes of workspace it takes from the per-thread arenas, all threads together. */
typedef struct {
    pyconv_algorithm algorithm;
    pyconv_conv_method method;
    double workspace_bytes;
} pyconv_conv_plan;

/* PYCONV_OK, or PYCONV_ERR_ARG with a message naming the offending field in msg (msg_len
 * bytes, may be NULL). */
pyconv_status pyconv_conv_shape_check(const pyconv_conv_shape *s, char *msg, size_t msg_len);
pyconv_status pyconv_pool_shape_check(const pyconv_pool_shape *s, char *msg, size_t msg_len);

/* The plan of one convolution op for a dtype of real_size bytes (4 or 8): a pure function of
 * its arguments and the micro-kernel this CPU runs. PYCONV_ERR_ARG for WINOGRAD asked of a
 * shape it cannot run (not 3x3, stride 1, dilation 1, >= 8 input and output channels per
 * group). */
pyconv_status pyconv_conv_plan_make(const pyconv_conv_shape *s, pyconv_conv_op op,
                                    pyconv_algorithm requested, int real_size, int n_threads,
                                    pyconv_conv_plan *plan);
const char *pyconv_conv_method_name(pyconv_conv_method method);

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
/* ---- convolution forward and gradients, each run as its plan says ---------------------- */ \
/* y = activation(conv(x, w) + bias + residual), in the kernel's output stage; bias and      */ \
/* residual (shaped like y, not overlapping it) may be NULL                                  */ \
pyconv_status pyconv_conv2d_##sfx(const pyconv_conv_shape *s, pyconv_algorithm algorithm,     \
                                  const real *x, const real *w, const real *bias,            \
                                  const real *residual, pyconv_activation activation,        \
                                  real *y, int n_threads);                                   \
/* ---- weights packed once for many forward passes (inference) --------------------------- */ \
/* The implicit GEMM's packed form of w (c_out, c_in/groups, kh, kw; only those sizes and     */ \
/* groups of s matter): pyconv_conv2d_packed_size elements, 64-byte aligned, for the         */ \
/* micro-kernel in use (PYCONV_STATUS_ARG for a buffer not so aligned).                      */ \
int64_t pyconv_conv2d_packed_size_##sfx(const pyconv_conv_shape *s);                         \
pyconv_status pyconv_conv2d_pack_weight_##sfx(const pyconv_conv_shape *s, const real *w,     \
                                              real *packed, int n_threads);                  \
/* pyconv_conv2d with w also given packed (NULL: as pyconv_conv2d); the methods other than   */ \
/* the implicit GEMM read w                                                                  */ \
pyconv_status pyconv_conv2d_packed_##sfx(const pyconv_conv_shape *s,                         \
                                         pyconv_algorithm algorithm, const real *x,          \
                                         const real *w, const real *packed,                  \
                                         const real *bias, const real *residual,             \
                                         pyconv_activation activation, real *y,              \
                                         int n_threads);                                     \
/* gx (n, c_in, h_in, w_in) is overwritten */                                                \
pyconv_status pyconv_conv2d_input_##sfx(const pyconv_conv_shape *s, pyconv_algorithm algorithm,\
                                        const real *w, const real *gy, real *gx,             \
                                        int n_threads);                                      \
/* gw (c_out, c_in/groups, kh, kw) is overwritten */                                         \
pyconv_status pyconv_conv2d_weight_##sfx(const pyconv_conv_shape *s,                         \
                                         pyconv_algorithm algorithm, const real *x,          \
                                         const real *gy, real *gw, int n_threads);           \
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
/* Choose the GEMM micro-kernel for this CPU: its default, or the one PYCONV_ARCH names
 * ("reference", "avx2", "avx512", "avx512x12") when the CPU runs it. Called once per process, at the import
 * of the module that holds the kernels, under the GIL, before any kernel runs. */
void pyconv_gemm_init(void);
/* Name of the GEMM micro-kernel chosen for this CPU ("avx512f-12x32", "avx512f", "avx2+fma",
 * "reference"). */
const char *pyconv_gemm_isa(void);
/* The PYCONV_ARCH names of the micro-kernels this CPU can run, space-separated, its default
 * last (on AVX-512 CPUs: avx512, the 7-row tiles, on AMD; avx512x12, 12-row tiles, on Intel). */
const char *pyconv_gemm_archs(void);
/* The PYCONV_ARCH name of the micro-kernel in use. */
const char *pyconv_gemm_arch_name(void);
/* 1 when compiled with OpenMP. */
int pyconv_openmp_enabled(void);
/* omp_get_max_threads(), or 1 without OpenMP. */
int pyconv_openmp_max_threads(void);

#ifdef __cplusplus
}
#endif
#endif /* PYCONV_KERNELS_H */
