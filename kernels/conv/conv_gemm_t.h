/* im2col + GEMM convolution template. Per image and group (K = c_in/groups*kh*kw patch rows,
 * L = h_out*w_out output pixels, M = c_out/groups filters):
 *   forward          y_g^T (L x M) = P_g^T (L x K) @ W_g^T (K x M)      (+ bias)
 *   input gradient   col_g (K x L) = W_g^T @ gy_g, then col2im into gx
 *   weight gradient  gW_g (M x K) += gy_g (M x L) @ col_g^T, several images per product
 * The forward pass never builds P (implicit GEMM): the micro-kernel's MR rows are output
 * pixels, whose patch values it reads straight from the image through one table of tap
 * offsets (the image zero-padded first when the convolution pads), and its NR columns are
 * filters, from weights packed once per call; a block of pixels is computed in a buffer of
 * the thread's and transposed into y. So nothing is packed per pixel, filter counts that are
 * multiples of NR fill every micro-tile, and the workspace is the packed weights, one chunk
 * of padded images and a pixel block per thread, whatever the batch size. The gradients run
 * on the GEMM driver of gemm/gemm_internal.h: the input gradient builds one image's patch
 * matrix at a time, the weight gradient a few small images' worth, in the thread's arena; a
 * 1x1, stride-1, unpadded convolution uses the image itself as its patch matrix there. */

#include "common/ftz.h"

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

/* Images per step: small images are batched so a step has at least PYCONV_MIN_GEMM_PIXELS
 * pixels (or GEMM depth, for the weight gradient). */
#define PYCONV_MIN_GEMM_PIXELS 512

/* One chunk of images [img, img + imgs) of an op whose arguments are in ctx. */
typedef pyconv_status (*FN(image_step))(const void *ctx, int64_t img, int64_t imgs,
                                        int n_threads);

/* Runs step over a batch of n images in chunks of `chunk` images: whole chunks per thread,
 * single-threaded, as long as every thread gets as many; the chunks left over (fewer than the
 * threads) go one by one with every thread inside the step. */
static pyconv_status FN(over_images)(int64_t n, FN(image_step) step, const void *ctx,
                                     int64_t chunk, int n_threads)
{
    const int64_t n_chunks = (n + chunk - 1) / chunk, split = n_chunks - n_chunks % n_threads;
    int status = PYCONV_OK;
    int64_t t;
    #pragma omp parallel for num_threads(n_threads) schedule(static) if(n_threads > 1 && split > 0)
    for (t = 0; t < split; t++) {
        int st = step(ctx, t * chunk, PYCONV_MIN(chunk, n - t * chunk), 1);
        if (st != PYCONV_OK) {
            #pragma omp atomic write
            status = st;
        }
    }
    for (t = split; t < n_chunks && status == PYCONV_OK; t++)
        status = step(ctx, t * chunk, PYCONV_MIN(chunk, n - t * chunk), n_threads);
    return (pyconv_status)status;
}

/* The forward pass's arguments, and what it prepares once per call. */
typedef struct {
    const pyconv_conv_shape *s;
    const real *x, *bias;
    real *y;
    const real *w_packed;  /* group g's W_g^T: ceil(M / NR) B micro-panels of K x NR */
    const int64_t *off;    /* tap (c, i, j) of the whole input: its offset from a pixel's
                              first value, in the images the pixels read */
    int64_t hp, wp;        /* plane size of those images: padded, or the input's own */
    int padded;
} FN(forward_args);

/* Largest padded plane the forward copies, as a multiple of the input plane (plus 64 Ki
 * values, so small images always qualify). */
#define PYCONV_MAX_PADDED_PLANE_RATIO 4.0

/* Copies n_planes (h_in, w_in) planes into (hp, wp) planes with pad_top zero rows above and
 * pad_left zero columns on the left, the rest zero. */
static void FN(pad_planes)(const pyconv_conv_shape *s, const real *x, int64_t n_planes,
                           int64_t hp, int64_t wp, real *dst, int n_threads)
{
    const int64_t h = s->h_in, w = s->w_in, top = s->pad_top, left = s->pad_left;
    int64_t p;
    #pragma omp parallel for num_threads(n_threads) schedule(static) if(n_threads > 1)
    for (p = 0; p < n_planes; p++) {
        const real *src = x + p * h * w;
        real *d = dst + p * hp * wp;
        memset(d, 0, (size_t)(top * wp) * sizeof(real));
        for (int64_t r = 0; r < h; r++) {
            real *row = d + (top + r) * wp;
            memset(row, 0, (size_t)left * sizeof(real));
            memcpy(row + left, src + r * w, (size_t)w * sizeof(real));
            memset(row + left + w, 0, (size_t)(wp - left - w) * sizeof(real));
        }
        memset(d + (top + h) * wp, 0, (size_t)((hp - top - h) * wp) * sizeof(real));
    }
}

/* px[t] = the first value (top-left tap, group 0) read by pixel q0 + t of the step's images
 * at src, for t < n_px; the rest up to `rows` repeat px[0] (their results are not used). */
static void FN(pixel_rows)(const FN(forward_args) *f, const real *src, int64_t q0, int64_t n_px,
                           int64_t rows, const real **px)
{
    const pyconv_conv_shape *s = f->s;
    const int64_t l = s->h_out * s->w_out, image = s->c_in * f->hp * f->wp;
    int64_t m = q0 / l, oh = q0 % l / s->w_out, ow = q0 % s->w_out;
    for (int64_t t = 0; t < n_px; t++) {
        px[t] = src + m * image + oh * s->stride_h * f->wp + ow * s->stride_w;
        if (++ow == s->w_out) {
            ow = 0;
            if (++oh == s->h_out) {
                oh = 0;
                m++;
            }
        }
    }
    for (int64_t t = n_px; t < rows; t++) px[t] = px[0];
}

/* y for pixels [q0, q0 + n_px) of images from img on, filters of group g: the block's
 * transposed result ct (row t = pixel q0 + t, ldc apart) plus the bias. */
PYCONV_SIMD_CLONES
static void FN(store_block)(const FN(forward_args) *f, int64_t img, int64_t g, int64_t q0,
                            int64_t n_px, const real *ct, int64_t ldc)
{
    const pyconv_conv_shape *s = f->s;
    const int64_t l = s->h_out * s->w_out, cout_g = s->c_out / s->groups;
    for (int64_t q = q0; q < q0 + n_px;) {
        const int64_t m = q / l, p0 = q % l, run = PYCONV_MIN(l - p0, q0 + n_px - q);
        const real *c = ct + (q - q0) * ldc;
        for (int64_t oc = 0; oc < cout_g; oc++) {
            real *row = f->y + ((img + m) * s->c_out + g * cout_g + oc) * l + p0;
            const real b = f->bias ? f->bias[g * cout_g + oc] : (real)0;
            for (int64_t t = 0; t < run; t++) row[t] = c[t * ldc + oc] + b;
        }
        q += run;
    }
}

/* Forward of images [img, img + imgs): their pixels in blocks of at most MC, spread over the
 * threads; per block and group, the loops around the gather micro-kernel. */
static pyconv_status FN(forward_images)(const void *ctx, int64_t img, int64_t imgs,
                                        int n_threads)
{
    const FN(forward_args) *f = (const FN(forward_args) *)ctx;
    const pyconv_conv_shape *s = f->s;
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const FN(pyconv_ukernel_gather) ukernel = arch->FN(ukernel_gather);
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t panels = (cout_g + nr - 1) / nr, ldc = panels * nr;
    const int64_t pixels = imgs * s->h_out * s->w_out;
    const real *src = f->x + img * s->c_in * s->h_in * s->w_in;
    if (f->padded) {
        real *buf = (real *)pyconv_arena_get(
            PYCONV_ARENA_CONV_0, (size_t)(imgs * s->c_in * f->hp * f->wp) * sizeof(real));
        if (buf == NULL) return PYCONV_ERR_NOMEM;
        FN(pad_planes)(s, src, imgs * s->c_in, f->hp, f->wp, buf, n_threads);
        src = buf;
    }
    const int nt = pyconv_gemm_thread_count(pixels, s->c_out, k, (pixels + mr - 1) / mr,
                                            n_threads);
    /* Blocks of at most MC pixels, whole micro-tiles, as many on every thread */
    const int64_t by_mc = (pixels + blk.mc - 1) / blk.mc;
    const int64_t balanced = (by_mc + nt - 1) / nt * nt;
    const int64_t mc = ((pixels + balanced - 1) / balanced + mr - 1) / mr * mr;
    const int64_t n_blocks = (pixels + mc - 1) / mc;
    const int64_t kc_steps = PYCONV_MAX(1, (k + blk.kc - 1) / blk.kc);  /* K = 0 still stores */
    int failed = 0;
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        pyconv_fpmode fpmode = pyconv_ftz_enter();
        real *ct = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_1, (size_t)(mc * ldc) * sizeof(real) +
                                                                 (size_t)mc * sizeof(real *));
        const real **px = ct ? (const real **)(ct + mc * ldc) : NULL;
        if (ct == NULL) {
            #pragma omp atomic write
            failed = 1;
        }
        int64_t b;
        #pragma omp for schedule(static)
        for (b = 0; b < n_blocks; b++) {
            if (ct == NULL) continue;
            const int64_t q0 = b * mc, n_px = PYCONV_MIN(mc, pixels - q0);
            FN(pixel_rows)(f, src, q0, n_px, mc, px);
            for (int64_t g = 0; g < s->groups; g++) {
                const real *w_g = f->w_packed + g * ldc * k;
                const int64_t *off_g = f->off + g * k;
                /* loop 4 around the micro-kernel: KC-deep slices of the taps */
                for (int64_t step = 0; step < kc_steps; step++) {
                    const int64_t pc = step * blk.kc, kc = PYCONV_MIN(blk.kc, k - pc);
                    /* loop 2: NR filters at a time (their packed weights stay in L1) */
                    for (int64_t jp = 0; jp < panels; jp++) {
                        const real *b_panel = w_g + jp * k * nr + pc * nr;
                        /* loop 1: MR pixels at a time, gathered from the image */
                        for (int64_t t = 0; t < n_px; t += mr)
                            ukernel(kc, off_g + pc, px + t, b_panel, step == 0 ? 0 : 1,
                                    ct + t * ldc + jp * nr, ldc);
                    }
                }
                FN(store_block)(f, img, g, q0, n_px, ct, ldc);
            }
        }
        pyconv_ftz_exit(fpmode);
    }
    return failed ? PYCONV_ERR_NOMEM : PYCONV_OK;
}

/* Packs the weights (W_g^T as B micro-panels) and the tap offsets, then runs the batch. */
pyconv_status FN(pyconv_conv2d_im2col)(const pyconv_conv_shape *s, const real *x,
                                       const real *w, const real *bias, real *y,
                                       int n_threads)
{
    const int64_t l = s->h_out * s->w_out;
    if (s->n == 0 || l == 0 || s->c_out == 0) return PYCONV_OK;
    const int64_t nr = pyconv_gemm_active_arch()->FN(blocking).nr;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t panels = (cout_g + nr - 1) / nr;
    FN(forward_args) f = {s, x, bias, y, NULL, NULL,
                          pyconv_padded_extent(s->h_in, s->pad_top, s->h_out, s->stride_h, s->kh, s->dil_h),
                          pyconv_padded_extent(s->w_in, s->pad_left, s->w_out, s->stride_w, s->kw, s->dil_w),
                          0};
    f.padded = f.hp != s->h_in || f.wp != s->w_in;
    /* Padding far wider than the image (legal, if odd) would make the padded copy huge: such
     * shapes go to the direct kernel, which reads the padding as zeros without storing it. */
    const double plane_in = (double)s->h_in * (double)s->w_in;
    if ((double)f.hp * (double)f.wp > PYCONV_MAX_PADDED_PLANE_RATIO * plane_in + 65536.0)
        return FN(pyconv_conv2d_direct)(s, x, w, bias, y, n_threads);
    const size_t w_bytes = (size_t)(s->groups * panels * nr * k) * sizeof(real);
    real *w_packed = (real *)pyconv_arena_get(PYCONV_ARENA_GEMM_B,
                                              w_bytes + (size_t)(s->groups * k) * sizeof(int64_t));
    if (w_packed == NULL) return PYCONV_ERR_NOMEM;
    int64_t *off = (int64_t *)((char *)w_packed + w_bytes);
    int64_t e;
    #pragma omp parallel for num_threads(n_threads) schedule(static) if(n_threads > 1)
    for (e = 0; e < s->groups * panels; e++) {
        const int64_t g = e / panels, jp = e % panels;
        const FN(pyconv_strided) w_t = {w + g * cout_g * k, k, 1};
        FN(pyconv_pack_strided)(&w_t, jp * nr, PYCONV_MIN(nr, cout_g - jp * nr), 0, k, nr,
                                w_packed + e * k * nr);
    }
    for (int64_t c = 0, p = 0; c < s->c_in; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++)
                off[p++] = (c * f.hp + i * s->dil_h) * f.wp + j * s->dil_w;
    f.w_packed = w_packed;
    f.off = off;
    return FN(over_images)(s->n, FN(forward_images), &f, (PYCONV_MIN_GEMM_PIXELS + l - 1) / l,
                           n_threads);
}

/* The input gradient's arguments. */
typedef struct {
    const pyconv_conv_shape *s;
    const real *w, *gy;
    real *gx;
} FN(input_args);

static pyconv_status FN(input_image)(const void *ctx, int64_t img, int64_t imgs, int n_threads)
{
    const FN(input_args) *a = (const FN(input_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out;
    real *gxi = a->gx + img * s->c_in * s->h_in * s->w_in;
    real *col = gxi;
    (void)imgs;  /* one image at a time: col2im works per image */
    if (!FN(is_pointwise)(s)) {
        col = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_0, FN(col_bytes)(s));
        if (col == NULL) return PYCONV_ERR_NOMEM;
    }
    for (int64_t g = 0; g < s->groups; g++) {
        pyconv_status st = FN(pyconv_gemm)(1, 0, k, l, cout_g, 1, a->w + g * cout_g * k, k,
                                           a->gy + (img * s->c_out + g * cout_g) * l, l, 0,
                                           col + g * k * l, l, n_threads);
        if (st != PYCONV_OK) return st;
    }
    return col == gxi ? PYCONV_OK : FN(pyconv_col2im_planes)(s, col, gxi, s->c_in, n_threads);
}

/* The input gradient of a stride-1 convolution is a forward convolution of gy with the
 * weights flipped in space and transposed per group (c_in x c_out/groups x kh x kw), padded by
 * the dilated kernel's extent minus the original padding: it goes through the forward's
 * implicit GEMM when that padding is not negative and the transposed weights fill at least
 * half a micro-tile's filters; otherwise one GEMM per image, then col2im (none for a
 * pointwise convolution, whose GEMM writes gx directly). */
pyconv_status FN(pyconv_conv2d_input_im2col)(const pyconv_conv_shape *s, const real *w,
                                             const real *gy, real *gx, int n_threads)
{
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t taps = s->kh * s->kw;
    pyconv_conv_shape t = *s;
    t.c_in = s->c_out;
    t.h_in = s->h_out;
    t.w_in = s->w_out;
    t.c_out = s->c_in;
    t.h_out = s->h_in;
    t.w_out = s->w_in;
    t.pad_top = (s->kh - 1) * s->dil_h - s->pad_top;
    t.pad_left = (s->kw - 1) * s->dil_w - s->pad_left;
    if (s->stride_h != 1 || s->stride_w != 1 || FN(is_pointwise)(s) || t.pad_top < 0 || t.pad_left < 0 ||
        2 * cin_g < pyconv_gemm_active_arch()->FN(blocking).nr || s->n == 0 || cout_g == 0) {
        const FN(input_args) a = {s, w, gy, gx};
        return FN(over_images)(s->n, FN(input_image), &a, 1, n_threads);
    }
    real *w_t = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_2,
                                         (size_t)(s->c_in * cout_g * taps) * sizeof(real));
    if (w_t == NULL) return PYCONV_ERR_NOMEM;
    for (int64_t ic = 0; ic < s->c_in; ic++) {
        const int64_t g = ic / cin_g;
        for (int64_t oc = 0; oc < cout_g; oc++) {
            const real *src = w + ((g * cout_g + oc) * cin_g + ic % cin_g) * taps;
            real *dst = w_t + (ic * cout_g + oc) * taps;
            for (int64_t k = 0; k < taps; k++) dst[k] = src[taps - 1 - k];
        }
    }
    return FN(pyconv_conv2d_im2col)(&t, gy, w_t, NULL, gx, n_threads);
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
