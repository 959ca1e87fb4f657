/* The convolution boundary: the one geometry check (shared by the Python glue and the public
 * cimport API, which both reach the kernels through the entry points that call it), and the
 * one function that chooses the algorithm and method of a call -- every fallback included --
 * and says how much workspace it takes. */
#include <stdio.h>

#include "conv/conv_internal.h"
#include "gemm/gemm_internal.h"

static pyconv_status problem(char *msg, size_t len, const char *text)
{
    if (msg != NULL && len > 0) snprintf(msg, len, "%s", text);
    return PYCONV_ERR_ARG;
}

pyconv_status pyconv_conv_shape_check(const pyconv_conv_shape *s, char *msg, size_t len)
{
    char text[256];
    if (s == NULL) return problem(msg, len, "geometry: expected a pointer, got NULL");
    if (s->n < 0 || s->c_in < 0 || s->h_in < 0 || s->w_in < 0 || s->c_out < 0 || s->h_out < 0 ||
        s->w_out < 0)
        return problem(msg, len, "geometry: expected sizes >= 0");
    if (s->kh < 1 || s->kw < 1) return problem(msg, len, "kernel_size: expected positive sizes");
    if (s->stride_h < 1 || s->stride_w < 1) return problem(msg, len, "stride: expected positive values");
    if (s->dil_h < 1 || s->dil_w < 1) return problem(msg, len, "dilation: expected positive values");
    if (s->pad_top < 0 || s->pad_left < 0) return problem(msg, len, "padding: expected values >= 0");
    if (s->groups < 1) return problem(msg, len, "groups: expected a positive int");
    if (s->c_in % s->groups || s->c_out % s->groups) {
        snprintf(text, sizeof text, "groups: must divide the %lld input and %lld output channels, got %lld",
                 (long long)s->c_in, (long long)s->c_out, (long long)s->groups);
        return problem(msg, len, text);
    }
    /* every array, the patch matrix of im2col, and every span an index is built from */
    const int64_t taps = s->c_in * s->kh * s->kw;
    if (!pyconv_fits(s->n, s->c_in, s->h_in, s->w_in))
        return problem(msg, len, "input: more elements than 64-bit indices can address");
    if (!pyconv_fits(s->n, s->c_out, s->h_out, s->w_out))
        return problem(msg, len, "output: more elements than 64-bit indices can address");
    if (!pyconv_fits(s->c_in, s->kh, s->kw, 1) || !pyconv_fits(s->c_out, taps, 1, 1) ||
        !pyconv_fits(s->n, taps, s->h_out, s->w_out))
        return problem(msg, len, "weight: more elements (or patch values) than 64-bit indices can address");
    if (!pyconv_fits(s->h_out, s->stride_h, 2, 1) || !pyconv_fits(s->w_out, s->stride_w, 2, 1))
        return problem(msg, len, "stride: the output's span is beyond 64-bit indices");
    if (!pyconv_fits(s->kh, s->dil_h, 2, 1) || !pyconv_fits(s->kw, s->dil_w, 2, 1))
        return problem(msg, len, "dilation: the kernel's span is beyond 64-bit indices");
    if (s->pad_top > PYCONV_MAX_ELEMENTS / 2 || s->pad_left > PYCONV_MAX_ELEMENTS / 2 ||
        s->h_in > PYCONV_MAX_ELEMENTS / 2 || s->w_in > PYCONV_MAX_ELEMENTS / 2)
        return problem(msg, len, "padding: the padded input's span is beyond 64-bit indices");
    return PYCONV_OK;
}

pyconv_status pyconv_pool_shape_check(const pyconv_pool_shape *s, char *msg, size_t len)
{
    char text[256];
    if (s == NULL) return problem(msg, len, "geometry: expected a pointer, got NULL");
    if (s->n_planes < 0 || s->h_out < 0 || s->w_out < 0)
        return problem(msg, len, "geometry: expected sizes >= 0");
    if (s->h_in < 1 || s->w_in < 1) return problem(msg, len, "input: expected non-empty planes (H, W >= 1)");
    if (s->kh < 1 || s->kw < 1) return problem(msg, len, "kernel_size: expected positive sizes");
    if (s->stride_h < 1 || s->stride_w < 1) return problem(msg, len, "stride: expected positive values");
    if (s->dil_h < 1 || s->dil_w < 1) return problem(msg, len, "dilation: expected positive values");
    if (s->pad_h < 0 || s->pad_w < 0 || s->pad_h > s->kh / 2 || s->pad_w > s->kw / 2) {
        snprintf(text, sizeof text, "padding: expected at most half the kernel size (%lld, %lld), got (%lld, %lld)",
                 (long long)(s->kh / 2), (long long)(s->kw / 2), (long long)s->pad_h, (long long)s->pad_w);
        return problem(msg, len, text);
    }
    if (!pyconv_fits(s->n_planes, s->h_in, s->w_in, 1))
        return problem(msg, len, "input: more elements than 64-bit indices can address");
    if (!pyconv_fits(s->n_planes, s->h_out, s->w_out, 1))
        return problem(msg, len, "output: more elements than 64-bit indices can address");
    /* With dilation a window starting in the padding can skip over a small input entirely
     * (PyTorch then returns an index outside the plane). Only windows starting in the
     * padding can, and there are at most pad / stride + 1 of them per axis. Window sizes,
     * strides and padding may be anything up to INT64_MAX: no product below overflows. */
    const int64_t size[2] = {s->h_in, s->w_in}, k[2] = {s->kh, s->kw}, st[2] = {s->stride_h, s->stride_w};
    const int64_t pad[2] = {s->pad_h, s->pad_w}, dil[2] = {s->dil_h, s->dil_w}, out[2] = {s->h_out, s->w_out};
    for (int axis = 0; axis < 2; axis++) {
        for (int64_t o = 0; o < out[axis] && o <= pad[axis] / st[axis]; o++) {
            const int64_t before = pad[axis] - o * st[axis];  /* padding before the window: > 0 */
            if (before <= 0) break;
            /* the first tap inside: ceil(before / dil), at this column of the input */
            const int64_t first = (before - 1) / dil[axis] + 1;
            const int64_t at = before % dil[axis] ? dil[axis] - before % dil[axis] : 0;
            if (first >= k[axis] || at >= size[axis]) {
                const int64_t start = -before;
                snprintf(text, sizeof text,
                         "dilation: window %lld along %s (start %lld, dilation %lld, %lld taps) covers "
                         "only padding of an input of size %lld",
                         (long long)o, axis ? "W" : "H", (long long)start, (long long)dil[axis],
                         (long long)k[axis], (long long)size[axis]);
                return problem(msg, len, text);
            }
        }
    }
    return PYCONV_OK;
}

/* algorithm="auto": the direct kernels for grouped convolutions with tiny groups
 * ((c_in/groups) * (c_out/groups) <= PYCONV_AUTO_DIRECT_MAX_GROUP_SIZE, e.g. depthwise), where
 * each group's GEMM would be a sliver, and for the forward pass of stride-1, non-1x1
 * convolutions with at most PYCONV_AUTO_DIRECT_MAX_FILTERS filters per group, which would fill
 * few columns of the micro-tiles; Winograd where its rule below says; the implicit GEMM
 * otherwise. The thresholds come from `python -m bench.auto_rule` (docs/performance.md). */
#define PYCONV_AUTO_DIRECT_MAX_GROUP_SIZE 16
#define PYCONV_AUTO_DIRECT_MAX_FILTERS 2

/* A pointwise forward runs as plain GEMMs of the image planes (pixels as micro-tile columns)
 * from this many pixels per image (pointwise_as_gemm); below, the implicit GEMM's pixel rows
 * and filter columns fill the micro-tiles better (docs/performance.md, 2026-11-30: 1 thread,
 * ResNet-50's 1x1 layers at 7x7 and 14x14 vs 56x56). */
#define PYCONV_POINTWISE_MIN_PIXELS 512

/* Winograd F(4x4, 3x3) (conv/winograd_t.h) runs 3x3, stride-1, dilation-1 convolutions with at
 * least PYCONV_WINOGRAD_MIN_CHANNELS input and output channels per group. */
#define PYCONV_WINOGRAD_MIN_CHANNELS 8

static int winograd_eligible(const pyconv_conv_shape *s)
{
    return s->kh == 3 && s->kw == 3 && s->stride_h == 1 && s->stride_w == 1 && s->dil_h == 1 &&
           s->dil_w == 1 && PYCONV_MIN(s->c_in, s->c_out) / s->groups >= PYCONV_WINOGRAD_MIN_CHANNELS;
}

/* algorithm="auto" runs all three ops of eligible shapes by Winograd with at
 * least PYCONV_AUTO_WINOGRAD_MIN_CHANNELS channels per group (a margin on the other algorithms'
 * accuracy: Winograd's error falls as channels grow, `python -m bench.winograd_error`) and at
 * least PYCONV_AUTO_WINOGRAD_MIN_TILE_CHANNELS output tiles x channels (transforming the filters
 * once per call is paid for by enough tiles, or channels: `python -m bench.winograd_rule`;
 * docs/winograd.md), and at least PYCONV_AUTO_WINOGRAD_MIN_TILES tiles in all, or
 * PYCONV_AUTO_WINOGRAD_FEW_TILES (one 7x7 image: below, the filter transform is most of the
 * work; measured in docs/winograd.md) where few tiles pay: on one thread, for the input
 * gradient and for the forward pass with PYCONV_AUTO_WINOGRAD_FORWARD_FEW_TILES_CHANNELS
 * channels; at any thread count from PYCONV_AUTO_WINOGRAD_FUSED_FEW_TILES_CHANNELS channels
 * where the instruction set has the fused Winograd micro-kernel (AVX-512: 0.60-0.87 of the
 * implicit GEMM's time on 4 tiles at 128-512 channels, 1 and 2 threads, forward and input
 * gradient; 0.92-0.99 at 64, 1.15-1.21 at 32; docs/winograd.md). On 4 tiles the implicit
 * GEMM's 7-row micro-tiles are all full, the Winograd GEMMs' 4-row tiles load a B vector per 4
 * FMAs instead of 7, and the filter transform is paid for 4 tiles; since a block's transformed
 * filters stay in L2 the Winograd forward takes 0.86-0.94 of
 * the implicit GEMM's time at 256 and 512 channels and 1.00-1.09 at 64-128, 1 thread, but
 * 1.03-1.3 at 512 channels on two threads between other libraries' calls, as a network runs,
 * and the input gradient 1.10-1.20 there (docs/winograd.md, seventh and eighth sessions). The
 * weight gradient takes Winograd from PYCONV_AUTO_WINOGRAD_WEIGHT_MIN_TILES tiles: it beats
 * im2col from 16 tiles at every channel count (0.28-0.82 of im2col's time, 1 thread), not with 4
 * (0.93-2.3: summing and transforming back 36 C_in C_out values costs as much as 4 tiles'
 * products), `python -m bench.winograd_rule --op conv2d_weight`, docs/winograd.md. */
#define PYCONV_AUTO_WINOGRAD_MIN_CHANNELS 32
#define PYCONV_AUTO_WINOGRAD_MIN_TILE_CHANNELS 512
#define PYCONV_AUTO_WINOGRAD_MIN_TILES 8
#define PYCONV_AUTO_WINOGRAD_FEW_TILES 4
#define PYCONV_AUTO_WINOGRAD_FORWARD_FEW_TILES_CHANNELS 256
#define PYCONV_AUTO_WINOGRAD_FUSED_FEW_TILES_CHANNELS 128
#define PYCONV_AUTO_WINOGRAD_WEIGHT_MIN_TILES 16

static int winograd_pays(const pyconv_conv_shape *s, pyconv_conv_op op, int n_threads)
{
    const int64_t tiles = s->n * ((s->h_out + 3) / 4) * ((s->w_out + 3) / 4);
    const int64_t channels = PYCONV_MIN(s->c_in, s->c_out) / s->groups;
    const int few_tiles_pay =
        pyconv_gemm_active_arch()->wino_tiles > 0
            ? channels >= PYCONV_AUTO_WINOGRAD_FUSED_FEW_TILES_CHANNELS
            : n_threads == 1 && (op == PYCONV_OP_INPUT_GRAD ||
                                 channels >= PYCONV_AUTO_WINOGRAD_FORWARD_FEW_TILES_CHANNELS);
    const int64_t min_tiles = op == PYCONV_OP_WEIGHT_GRAD ? PYCONV_AUTO_WINOGRAD_WEIGHT_MIN_TILES
                              : few_tiles_pay ? PYCONV_AUTO_WINOGRAD_FEW_TILES
                                              : PYCONV_AUTO_WINOGRAD_MIN_TILES;
    return channels >= PYCONV_AUTO_WINOGRAD_MIN_CHANNELS && tiles >= min_tiles &&
           (double)tiles * (double)channels >= PYCONV_AUTO_WINOGRAD_MIN_TILE_CHANNELS;
}

static pyconv_algorithm auto_algorithm(const pyconv_conv_shape *s, pyconv_conv_op op,
                                       int n_threads)
{
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    if (winograd_eligible(s) && winograd_pays(s, op, n_threads)) return PYCONV_ALGO_WINOGRAD;
    if (s->groups > 1 && cin_g * cout_g <= PYCONV_AUTO_DIRECT_MAX_GROUP_SIZE) return PYCONV_ALGO_DIRECT;
    if (op == PYCONV_OP_FORWARD && cout_g <= PYCONV_AUTO_DIRECT_MAX_FILTERS && s->stride_w == 1 &&
        s->kh * s->kw > 1)
        return PYCONV_ALGO_DIRECT;
    return PYCONV_ALGO_IM2COL;
}

static pyconv_gemm_blocking blocking(int real_size)
{
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    return real_size == 4 ? arch->blocking_f32 : arch->blocking_f64;
}

/* Share of a micro-tile dimension of `size` that holds values. */
static double filled(int64_t size, int64_t tile)
{
    return (double)size / (double)((size + tile - 1) / tile * tile);
}

/* Whether a pointwise forward runs as plain GEMMs of the image planes: from
 * PYCONV_POINTWISE_MIN_PIXELS pixels per image, unless the layer reduces its channels into
 * filters that fill the micro-tile's columns. The GEMM packs the image (C_in x pixels) and
 * amortizes that over C_out products per value; the implicit GEMM reads the image in place,
 * packs the smaller weights and transposes its result once, so it wins where C_in > C_out
 * (docs/performance.md, 2026-11-30: 256->64 at 56x56 0.98 against 1.36 ms, 512->128 at 28x28
 * 0.96 against 1.13 ms; 144->24 at 56x56, 24 of 32 columns, stays on the GEMM). */
static int pointwise_as_gemm(const pyconv_conv_shape *s, int real_size)
{
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    return s->h_out * s->w_out >= PYCONV_POINTWISE_MIN_PIXELS &&
           !(cin_g > cout_g && filled(cout_g, blocking(real_size).nr) >= 0.9);
}

/* The weight gradient's two implicit GEMMs (conv/implicit_weight_t.h): taps as micro-tile
 * rows and filters as columns, gathered straight from the images but written through a
 * transposed accumulator; or filters as rows and taps as columns, the patches packed and the
 * result written in place, the pixel reduction split into chunks when the tiles are few.
 * Filters as rows when they fill the micro-tiles better, or when the result is large next to
 * the pixels it sums (the transpose then costs as much as the products). */
static int weight_filters_as_rows(const pyconv_conv_shape *s, int real_size)
{
    const pyconv_gemm_blocking blk = blocking(real_size);
    const int64_t m = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const double taps_as_rows = filled(k, blk.mr) * filled(m, blk.nr);
    const double filters_as_rows = filled(m, blk.mr) * filled(k, blk.nr);
    return filters_as_rows > taps_as_rows || s->n * s->h_out * s->w_out < 4 * blk.kc;
}

/* Bytes of each algorithm's workspace, for the dtype of real_size. */
static double workspace_bytes(const pyconv_conv_shape *s, pyconv_conv_op op, pyconv_conv_method m,
                              int real_size, int n_threads)
{
    const int f32 = real_size == 4;
    const double cols = (double)(2 * s->kw) * sizeof(int64_t);
    const double flipped = (double)(s->c_in * (s->c_out / s->groups) * s->kh * s->kw) * real_size;
    pyconv_conv_shape t;
    switch (m) {
    case PYCONV_METHOD_DIRECT:
        /* the weight gradient's per-thread accumulator */
        return cols + (op == PYCONV_OP_WEIGHT_GRAD
                           ? (double)n_threads * (double)(s->kh * s->kw * s->w_out) * real_size : 0);
    case PYCONV_METHOD_DIRECT_TRANSPOSED:
        pyconv_input_as_forward(s, &t);
        return flipped + (double)(2 * t.kw) * sizeof(int64_t);
    case PYCONV_METHOD_IMPLICIT_GEMM:
        if (op == PYCONV_OP_WEIGHT_GRAD)
            return f32 ? pyconv_weight_implicit_workspace_f32(s, n_threads)
                       : pyconv_weight_implicit_workspace_f64(s, n_threads);
        return f32 ? pyconv_forward_implicit_workspace_f32(s, n_threads)
                   : pyconv_forward_implicit_workspace_f64(s, n_threads);
    case PYCONV_METHOD_IMPLICIT_TRANSPOSED:  /* reads the weights flipped in place */
        pyconv_input_as_forward(s, &t);
        return f32 ? pyconv_forward_implicit_workspace_f32(&t, n_threads)
                   : pyconv_forward_implicit_workspace_f64(&t, n_threads);
    case PYCONV_METHOD_GEMM_COL2IM:
        return f32 ? pyconv_input_gemm_col2im_workspace_f32(s, n_threads)
                   : pyconv_input_gemm_col2im_workspace_f64(s, n_threads);
    case PYCONV_METHOD_GEMM_PATCHES:
        return f32 ? pyconv_weight_gemm_workspace_f32(s, n_threads)
                   : pyconv_weight_gemm_workspace_f64(s, n_threads);
    case PYCONV_METHOD_WINOGRAD:
        return f32 ? pyconv_winograd_workspace_f32(s, n_threads)
                   : pyconv_winograd_workspace_f64(s, n_threads);
    case PYCONV_METHOD_WINOGRAD_TRANSPOSED:
        pyconv_input_as_forward(s, &t);
        return f32 ? pyconv_winograd_workspace_f32(&t, n_threads)
                   : pyconv_winograd_workspace_f64(&t, n_threads);
    case PYCONV_METHOD_WINOGRAD_WEIGHT:
        return f32 ? pyconv_weight_winograd_workspace_f32(s, n_threads)
                   : pyconv_weight_winograd_workspace_f64(s, n_threads);
    case PYCONV_METHOD_GEMM_POINTWISE: {
        /* the GEMM's A block per thread and its shared B block */
        const pyconv_gemm_blocking blk = blocking(real_size);
        return ((double)n_threads * (double)(blk.mc * blk.kc) + (double)(blk.nc * blk.kc)) * real_size;
    }
    case PYCONV_METHOD_DEPTHWISE:
        return f32 ? pyconv_depthwise_workspace_f32(s, op, n_threads)
                   : pyconv_depthwise_workspace_f64(s, op, n_threads);
    default:
        return 0;
    }
}

pyconv_status pyconv_conv_plan_make(const pyconv_conv_shape *s, pyconv_conv_op op,
                                    pyconv_algorithm requested, int real_size, int n_threads,
                                    pyconv_conv_plan *plan)
{
    if (pyconv_conv_shape_check(s, NULL, 0) != PYCONV_OK || plan == NULL || n_threads < 1 ||
        (real_size != 4 && real_size != 8) || requested < PYCONV_ALGO_AUTO ||
        requested > PYCONV_ALGO_WINOGRAD || op < PYCONV_OP_FORWARD || op > PYCONV_OP_WEIGHT_GRAD)
        return PYCONV_ERR_ARG;
    if (requested == PYCONV_ALGO_WINOGRAD && !winograd_eligible(s)) return PYCONV_ERR_ARG;
    const pyconv_algorithm algo = requested == PYCONV_ALGO_AUTO ? auto_algorithm(s, op, n_threads) : requested;
    const int64_t cin_g = s->c_in / s->groups;
    const int empty_out = op == PYCONV_OP_FORWARD ? s->n * s->c_out * s->h_out * s->w_out == 0
                        : op == PYCONV_OP_INPUT_GRAD ? s->n * s->c_in * s->h_in * s->w_in == 0
                                                     : s->c_out * cin_g * s->kh * s->kw == 0;
    pyconv_conv_shape t;
    pyconv_conv_method m;
    plan->algorithm = algo;
    if (empty_out) {
        m = PYCONV_METHOD_NONE;
    } else if (op == PYCONV_OP_FORWARD) {
        /* no input channels: the output is the bias; huge padding: see pyconv_gather_fits */
        m = s->c_in == 0 ? PYCONV_METHOD_BIAS_ONLY
          : algo == PYCONV_ALGO_WINOGRAD ? PYCONV_METHOD_WINOGRAD
          : algo != PYCONV_ALGO_IM2COL || !pyconv_gather_fits(s) ? PYCONV_METHOD_DIRECT
          : pyconv_is_pointwise(s) && pointwise_as_gemm(s, real_size)
              ? PYCONV_METHOD_GEMM_POINTWISE
              : PYCONV_METHOD_IMPLICIT_GEMM;
    } else if (op == PYCONV_OP_WEIGHT_GRAD) {
        m = s->n * s->h_out * s->w_out == 0 ? PYCONV_METHOD_ZEROS
          : algo == PYCONV_ALGO_WINOGRAD ? PYCONV_METHOD_WINOGRAD_WEIGHT
          : algo != PYCONV_ALGO_IM2COL || !pyconv_gather_fits(s) ? PYCONV_METHOD_DIRECT
          : weight_filters_as_rows(s, real_size) ? PYCONV_METHOD_GEMM_PATCHES
                                                 : PYCONV_METHOD_IMPLICIT_GEMM;
    } else if (s->c_out == 0 || s->h_out * s->w_out == 0) {
        m = PYCONV_METHOD_ZEROS;
    } else if (algo == PYCONV_ALGO_WINOGRAD) {
        /* stride 1: the forward of gy, whose padding may be negative (a crop, which it reads) */
        m = PYCONV_METHOD_WINOGRAD_TRANSPOSED;
    } else if (!pyconv_input_as_forward(s, &t)) {
        /* strided (or padding beyond the kernel's extent): no forward form */
        m = algo == PYCONV_ALGO_IM2COL ? PYCONV_METHOD_GEMM_COL2IM : PYCONV_METHOD_DIRECT;
    } else if (algo == PYCONV_ALGO_DIRECT) {
        m = PYCONV_METHOD_DIRECT_TRANSPOSED;
    } else if (2 * cin_g < blocking(real_size).nr ||
               (pyconv_is_pointwise(s) && pointwise_as_gemm(&t, real_size))) {
        /* few input channels per group would fill few columns of the transposed forward's
         * micro-tiles; pointwise, the GEMM writes gx directly where the transposed forward
         * (itself pointwise) would run as plain GEMMs, and otherwise the implicit GEMM's pixel
         * rows fill its tiles better, as in the forward (2026-11-30, docs/performance.md:
         * 2048->512 @7 1.60 against 1.06 ms, 64->256 @56 1.05 against 0.96) */
        m = PYCONV_METHOD_GEMM_COL2IM;
    } else {
        m = pyconv_gather_fits(&t) ? PYCONV_METHOD_IMPLICIT_TRANSPOSED : PYCONV_METHOD_DIRECT_TRANSPOSED;
    }
    /* one channel per group: the depthwise kernels, wherever the direct loops would run */
    if ((m == PYCONV_METHOD_DIRECT || m == PYCONV_METHOD_DIRECT_TRANSPOSED) &&
        s->groups == s->c_in && s->groups == s->c_out)
        m = PYCONV_METHOD_DEPTHWISE;
    plan->method = m;
    if (m == PYCONV_METHOD_DIRECT || m == PYCONV_METHOD_DIRECT_TRANSPOSED || m == PYCONV_METHOD_DEPTHWISE)
        plan->algorithm = PYCONV_ALGO_DIRECT;
    else if (m == PYCONV_METHOD_IMPLICIT_GEMM || m == PYCONV_METHOD_IMPLICIT_TRANSPOSED ||
             m == PYCONV_METHOD_GEMM_COL2IM || m == PYCONV_METHOD_GEMM_PATCHES ||
             m == PYCONV_METHOD_GEMM_POINTWISE)
        plan->algorithm = PYCONV_ALGO_IM2COL;
    else if (m == PYCONV_METHOD_WINOGRAD || m == PYCONV_METHOD_WINOGRAD_TRANSPOSED ||
             m == PYCONV_METHOD_WINOGRAD_WEIGHT)
        plan->algorithm = PYCONV_ALGO_WINOGRAD;
    plan->workspace_bytes = workspace_bytes(s, op, m, real_size, n_threads);
    return PYCONV_OK;
}

const char *pyconv_conv_method_name(pyconv_conv_method method)
{
    switch (method) {
    case PYCONV_METHOD_NONE: return "none";
    case PYCONV_METHOD_ZEROS: return "zeros";
    case PYCONV_METHOD_BIAS_ONLY: return "bias-only";
    case PYCONV_METHOD_DIRECT: return "direct";
    case PYCONV_METHOD_DIRECT_TRANSPOSED: return "direct-transposed";
    case PYCONV_METHOD_IMPLICIT_GEMM: return "implicit-gemm";
    case PYCONV_METHOD_IMPLICIT_TRANSPOSED: return "implicit-gemm-transposed";
    case PYCONV_METHOD_GEMM_COL2IM: return "gemm-col2im";
    case PYCONV_METHOD_GEMM_PATCHES: return "gemm-patches";
    case PYCONV_METHOD_WINOGRAD: return "winograd";
    case PYCONV_METHOD_WINOGRAD_TRANSPOSED: return "winograd-transposed";
    case PYCONV_METHOD_WINOGRAD_WEIGHT: return "winograd-weight";
    case PYCONV_METHOD_GEMM_POINTWISE: return "gemm-pointwise";
    case PYCONV_METHOD_DEPTHWISE: return "depthwise";
    }
    return "unknown";
}
