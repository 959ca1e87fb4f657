/* im2col + GEMM convolution template, on the GEMM driver of gemm/gemm_internal.h. Per image
 * and group (K = c_in/groups*kh*kw patch rows, L = h_out*w_out output pixels, M = c_out/groups
 * filters):
 *   forward          y_g  (M x L)  = W_g (M x K) @ P_g (K x L)          (+ bias)
 *   input gradient   col_g (K x L) = W_g^T @ gy_g, then col2im into gx
 *   weight gradient  gW_g (M x K) += gy_g (M x L) @ col_g^T, several images per product
 * The forward pass never builds P: the driver's B-panel callback gathers patches straight from
 * the image (implicit GEMM), so its workspace is the GEMM's cache blocks (plus, for images of
 * fewer than 512 pixels, batched into one product, that product's output). The input gradient
 * builds one image's patch matrix at a time, the weight gradient a few small images' worth,
 * in the thread's arena. A 1x1, stride-1, unpadded convolution uses the image itself as its
 * patch matrix. */

#include "common/copy_short_t.h"
#include "conv/gather_t.h"

static int FN(is_pointwise)(const pyconv_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 &&
           s->pad_top == 0 && s->pad_left == 0 && s->h_out == s->h_in && s->w_out == s->w_in;
}

/* Bytes of one image's patch matrix (all groups). */
static size_t FN(col_bytes)(const pyconv_conv_shape *s)
{
    return (size_t)(s->c_in * s->kh * s->kw * s->h_out * s->w_out) * sizeof(real);
}

/* B-panel source of the implicit GEMM: the patch matrices of consecutive images of one
 * group, side by side (column j = image j / L, pixel j % L). */
typedef struct {
    const pyconv_conv_shape *s;
    const real *x;          /* the group's first input channel of the first image */
    const int64_t *cols;    /* pyconv_column_ranges(s) */
} FN(patch_source);

/* One run of a micro-panel's pixels along an output row: panel slots [r, r + n) are output
 * columns [ow, ow + n) of an output row whose top tap row is ih0; the input under its first
 * pixel is at offset at + (tap's offset) of the patch source's x. */
typedef struct {
    int64_t r, ow, n, ih0, at;
} FN(pixel_run);

/* gather_row for runs at most a micro-panel wide: unit-stride ones through copy_short. */
PYCONV_INLINE void FN(gather_short)(real *PYCONV_RESTRICT dst, const real *PYCONV_RESTRICT src,
                                    int64_t n, int64_t stride)
{
    if (stride == 1)
        FN(copy_short)(dst, src, n);
    else
        FN(gather_row)(dst, src, n, stride);
}

/* Pack callback (gemm_internal.h's panel format) for B(p, j) = the input value under kernel
 * tap p = (c, i, j) at output pixel j = (image, oh, ow), 0 in the padding. A micro-panel's w
 * pixels are consecutive: they are cut into runs along output rows once per panel, so the
 * per-tap work is a bounds test per run and its copy (clamped to the columns in the image
 * only where the run touches the padding). */
PYCONV_SIMD_CLONES
static void FN(pack_patches)(const void *ctx, int64_t x0, int64_t nx, int64_t p0, int64_t kc,
                             int64_t w, real *dst)
{
    const FN(patch_source) *src = (const FN(patch_source) *)ctx;
    const pyconv_conv_shape *s = src->s;
    const int64_t w_out = s->w_out, w_in = s->w_in, kh = s->kh, kw = s->kw, sw = s->stride_w;
    const int64_t plane = s->h_in * w_in, image = s->c_in * plane;
    FN(pixel_run) runs[PYCONV_GEMM_MAX_TILE];  /* w <= NR <= PYCONV_GEMM_MAX_TILE */
    for (int64_t q = 0; q < nx; q += w, dst += kc * w) {
        const int64_t width = PYCONV_MIN(w, nx - q);
        int64_t n_runs = 0, row = (x0 + q) / w_out, ow = (x0 + q) % w_out;
        for (int64_t r = 0; r < width; row++, ow = 0) {
            FN(pixel_run) *run = &runs[n_runs++];
            run->r = r;
            run->ow = ow;
            run->n = PYCONV_MIN(w_out - ow, width - r);
            run->ih0 = row % s->h_out * s->stride_h - s->pad_top;
            run->at = row / s->h_out * image + run->ih0 * w_in + ow * sw;
            r += run->n;
        }
        int64_t c = p0 / (kh * kw), i = p0 / kw % kh, j = p0 % kw;
        for (int64_t p = 0; p < kc; p++) {
            real *d = dst + p * w;
            const int64_t lo = src->cols[j], hi = src->cols[kw + j], dih = i * s->dil_h;
            const int64_t tap = c * plane + dih * w_in + j * s->dil_w - s->pad_left;
            for (int64_t k = 0; k < n_runs; k++) {
                const FN(pixel_run) *run = &runs[k];
                const int64_t ih = run->ih0 + dih, end = run->ow + run->n;
                real *dr = d + run->r - run->ow;  /* dr[ow] is this pixel's slot */
                const int inside = ih >= 0 && ih < s->h_in;
                if (inside && lo <= run->ow && end <= hi) {
                    FN(gather_short)(dr + run->ow, src->x + run->at + tap, run->n, sw);
                    continue;
                }
                int64_t a = end, b = end;
                if (inside) {
                    a = PYCONV_MIN(PYCONV_MAX(lo, run->ow), end);
                    b = PYCONV_MIN(PYCONV_MAX(hi, a), end);
                }
                for (int64_t o = run->ow; o < a; o++) {
                    dr[o] = 0;
                    PYCONV_NO_LIBCALL_LOOP();  /* at most a micro-panel wide */
                }
                if (b > a)
                    FN(gather_short)(dr + a, src->x + run->at + tap + (a - run->ow) * sw, b - a, sw);
                for (int64_t o = b; o < end; o++) {
                    dr[o] = 0;
                    PYCONV_NO_LIBCALL_LOOP();
                }
            }
            for (int64_t r = width; r < w; r++) d[r] = 0;
            if (++j == kw) {
                j = 0;
                if (++i == kh) {
                    i = 0;
                    c++;
                }
            }
        }
    }
}

/* Images per GEMM: small images are batched so the product has at least
 * PYCONV_MIN_GEMM_PIXELS columns (or depth, for the weight gradient). */
#define PYCONV_MIN_GEMM_PIXELS 512

/* One chunk of images [img, img + imgs) of an op; ranges = pyconv_column_ranges(s). */
typedef pyconv_status (*FN(image_step))(const pyconv_conv_shape *s, const real *a, const real *b,
                                        const real *bias, real *out, const int64_t *ranges,
                                        int64_t img, int64_t imgs, int n_threads);

/* Runs step over the batch in chunks of `chunk` images: with at least as many chunks as
 * threads, each thread takes whole chunks with single-threaded GEMMs (one parallel region per
 * call); otherwise chunks go one by one with every thread inside the step. */
static pyconv_status FN(over_images)(const pyconv_conv_shape *s, FN(image_step) step,
                                     int64_t chunk, const real *a, const real *b,
                                     const real *bias, real *out, int n_threads)
{
    const int64_t n_chunks = (s->n + chunk - 1) / chunk;
    const int workers = n_chunks >= n_threads ? n_threads : 1;
    const int inner = workers == 1 ? n_threads : 1;
    int64_t *ranges = pyconv_column_ranges(s);
    if (ranges == NULL) return PYCONV_ERR_NOMEM;
    int status = PYCONV_OK;
    int64_t t;
    #pragma omp parallel for num_threads(workers) schedule(static) if(workers > 1)
    for (t = 0; t < n_chunks; t++) {
        int st = step(s, a, b, bias, out, ranges, t * chunk, PYCONV_MIN(chunk, s->n - t * chunk),
                      inner);
        if (st != PYCONV_OK) {
            #pragma omp atomic write
            status = st;
        }
    }
    pyconv_aligned_free(ranges);
    return (pyconv_status)status;
}

/* Forward of images [img, img + imgs): one GEMM per group over all their pixels, into y
 * directly for one image, else into the thread's arena and then copied to y. */
static pyconv_status FN(forward_images)(const pyconv_conv_shape *s, const real *x, const real *w,
                                        const real *bias, real *y, const int64_t *ranges,
                                        int64_t img, int64_t imgs, int n_threads)
{
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t k = cin_g * s->kh * s->kw, l = s->h_out * s->w_out;
    const real *xi = x + img * s->c_in * s->h_in * s->w_in;
    real *yi = y + img * s->c_out * l;
    real *out = yi;
    if (imgs > 1) {
        out = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_0,
                                       (size_t)(cout_g * imgs * l) * sizeof(real));
        if (out == NULL) return PYCONV_ERR_NOMEM;
    }
    const int pointwise = imgs == 1 && FN(is_pointwise)(s);
    for (int64_t g = 0; g < s->groups; g++) {
        const FN(pyconv_strided) filters = {w + g * cout_g * k, k, 1};
        const FN(pyconv_strided) pixels = {xi + g * k * l, 1, l};
        const FN(patch_source) patches = {s, xi + g * cin_g * s->h_in * s->w_in, ranges};
        pyconv_status st = FN(pyconv_gemm_driver)(
            cout_g, imgs * l, k, 1, FN(pyconv_pack_strided), &filters,
            pointwise ? FN(pyconv_pack_strided) : FN(pack_patches),
            pointwise ? (const void *)&pixels : (const void *)&patches, 0,
            imgs > 1 ? out : yi + g * cout_g * l, imgs * l, n_threads);
        if (st != PYCONV_OK) return st;
        if (imgs == 1 && bias == NULL) continue;  /* the GEMM wrote the final values */
        for (int64_t m = 0; m < imgs; m++) {
            for (int64_t oc = g * cout_g; oc < (g + 1) * cout_g; oc++) {
                real *row = yi + (m * s->c_out + oc) * l;
                const real *src = imgs > 1 ? out + ((oc - g * cout_g) * imgs + m) * l : row;
                const real b = bias ? bias[oc] : (real)0;
                #pragma omp simd
                for (int64_t p = 0; p < l; p++) row[p] = src[p] + b;
            }
        }
    }
    return PYCONV_OK;
}

static pyconv_status FN(input_image)(const pyconv_conv_shape *s, const real *w, const real *gy,
                                     const real *unused, real *gx, const int64_t *ranges,
                                     int64_t img, int64_t imgs, int n_threads)
{
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out;
    real *gxi = gx + img * s->c_in * s->h_in * s->w_in;
    real *col = gxi;
    (void)unused;
    (void)ranges;
    (void)imgs;  /* one image at a time: col2im works per image */
    if (!FN(is_pointwise)(s)) {
        col = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_0, FN(col_bytes)(s));
        if (col == NULL) return PYCONV_ERR_NOMEM;
    }
    for (int64_t g = 0; g < s->groups; g++) {
        pyconv_status st = FN(pyconv_gemm)(1, 0, k, l, cout_g, 1, w + g * cout_g * k, k,
                                           gy + (img * s->c_out + g * cout_g) * l, l, 0,
                                           col + g * k * l, l, n_threads);
        if (st != PYCONV_OK) return st;
    }
    return col == gxi ? PYCONV_OK : FN(pyconv_col2im_planes)(s, col, gxi, s->c_in, n_threads);
}

pyconv_status FN(pyconv_conv2d_im2col)(const pyconv_conv_shape *s, const real *x,
                                       const real *w, const real *bias, real *y,
                                       int n_threads)
{
    const int64_t l = s->h_out * s->w_out;
    return FN(over_images)(s, FN(forward_images), (PYCONV_MIN_GEMM_PIXELS + l - 1) / l, x, w,
                           bias, y, n_threads);
}

pyconv_status FN(pyconv_conv2d_input_im2col)(const pyconv_conv_shape *s, const real *w,
                                             const real *gy, real *gx, int n_threads)
{
    return FN(over_images)(s, FN(input_image), 1, w, gy, NULL, gx, n_threads);
}

/* Several images' (rows x len) blocks side by side along k, as one matrix:
 * X(x, p) = base[(p / len) * image_stride + x * len + p % len]. */
typedef struct {
    const real *base;
    int64_t len, image_stride;
} FN(image_rows);

/* Pack callback for an image_rows matrix: each micro-panel's k-range is cut at image borders
 * into runs that are ordinary strided blocks. */
static void FN(pack_image_rows)(const void *ctx, int64_t x0, int64_t nx, int64_t p0, int64_t kc,
                                int64_t w, real *dst)
{
    const FN(image_rows) *m = (const FN(image_rows) *)ctx;
    for (int64_t q = 0; q < nx; q += w, dst += kc * w) {
        for (int64_t p = 0; p < kc;) {
            const int64_t img = (p0 + p) / m->len, l = (p0 + p) % m->len;
            const int64_t run = PYCONV_MIN(kc - p, m->len - l);
            const FN(pyconv_strided) block = {m->base + img * m->image_stride, m->len, 1};
            FN(pyconv_pack_strided)(&block, x0 + q, PYCONV_MIN(w, nx - q), l, run, w, dst + p * w);
            p += run;
        }
    }
}

/* Batch slices of the weight gradient: a function of the shape only, never of the thread
 * count, so the summation order -- and the result -- is the same at any thread count. Up to
 * PYCONV_WGRAD_SLICES, while the partial sums fit in PYCONV_WGRAD_PARTIALS_BYTES. Within a
 * slice, images go through the GEMM in chunks of at least PYCONV_MIN_GEMM_PIXELS pixels, so
 * small images still make deep products. */
#define PYCONV_WGRAD_SLICES 16
#define PYCONV_WGRAD_PARTIALS_BYTES ((int64_t)64 << 20)

/* The batch is cut into slices; each slice sums its images in order into its own partial
 * (slice 0 straight into gw), one thread per slice with single-threaded GEMMs; then the
 * partials are added into gw in slice order. */
pyconv_status FN(pyconv_conv2d_weight_im2col)(const pyconv_conv_shape *s, const real *x,
                                              const real *gy, real *gw, int n_threads)
{
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t k = cin_g * s->kh * s->kw, l = s->h_out * s->w_out, gw_size = s->c_out * k;
    const int64_t gw_bytes = gw_size * (int64_t)sizeof(real);
    const int64_t slices = PYCONV_MAX(1, PYCONV_MIN(PYCONV_MIN(s->n, PYCONV_WGRAD_SLICES),
                                                    1 + PYCONV_WGRAD_PARTIALS_BYTES / gw_bytes));
    const int64_t chunk = (PYCONV_MIN_GEMM_PIXELS + l - 1) / l;
    const int pointwise = FN(is_pointwise)(s);
    /* patch rows of one image; a pointwise convolution's patches are the image itself */
    const int64_t col_stride = pointwise ? s->c_in * l : s->c_in * s->kh * s->kw * l;
    const int workers = (int)PYCONV_MIN(n_threads, slices);
    const int inner = workers == 1 ? n_threads : 1;
    real *partials = NULL;
    if (slices > 1) {
        partials = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_1, (size_t)((slices - 1) * gw_bytes));
        if (partials == NULL) return PYCONV_ERR_NOMEM;
    }
    int status = PYCONV_OK;
    int64_t slice;
    #pragma omp parallel for num_threads(workers) schedule(static) if(workers > 1)
    for (slice = 0; slice < slices; slice++) {
        real *acc = slice == 0 ? gw : partials + (slice - 1) * gw_size;
        const int64_t first = s->n * slice / slices, end = s->n * (slice + 1) / slices;
        real *col = pointwise ? NULL : (real *)pyconv_arena_get(
            PYCONV_ARENA_CONV_0, (size_t)(PYCONV_MIN(chunk, end - first) * col_stride) * sizeof(real));
        pyconv_status st = pointwise || col ? PYCONV_OK : PYCONV_ERR_NOMEM;
        for (int64_t img = first; img < end && st == PYCONV_OK; img += chunk) {
            const int64_t imgs = PYCONV_MIN(chunk, end - img);
            const real *xi = x + img * s->c_in * s->h_in * s->w_in;
            if (!pointwise) st = FN(pyconv_im2col_planes)(s, xi, col, imgs * s->c_in, inner);
            for (int64_t g = 0; g < s->groups && st == PYCONV_OK; g++) {
                const FN(image_rows) grads = {gy + (img * s->c_out + g * cout_g) * l, l, s->c_out * l};
                const FN(image_rows) patches = {(pointwise ? xi : col) + g * k * l, l, col_stride};
                st = FN(pyconv_gemm_driver)(cout_g, k, imgs * l, 1, FN(pack_image_rows), &grads,
                                            FN(pack_image_rows), &patches, img == first ? 0 : 1,
                                            acc + g * cout_g * k, k, inner);
            }
        }
        if (st != PYCONV_OK) {
            #pragma omp atomic write
            status = st;
        }
    }
    if (status != PYCONV_OK || slices == 1) return (pyconv_status)status;
    int64_t e;
    #pragma omp parallel for num_threads(n_threads) schedule(static) if(n_threads > 1)
    for (e = 0; e < gw_size; e++) {
        real v = gw[e];
        for (int64_t p = 0; p < slices - 1; p++) v += partials[p * gw_size + e];
        gw[e] = v;
    }
    return PYCONV_OK;
}
