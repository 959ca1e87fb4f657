/* im2col + GEMM convolution template. Per image and group (K = c_in/groups*kh*kw patch rows,
 * L = h_out*w_out output pixels, M = c_out/groups filters):
 *   forward          y_g^T (L x M)  = P_g^T (L x K) @ W_g^T (K x M)     (+ bias)
 *   weight gradient  gW_g^T (K x M) = P_g (K x L) @ gy_g^T (L x M), summed over the batch
 *   input gradient   stride 1: the forward of gy with flipped, transposed weights; else
 *                    col_g (K x L) = W_g^T @ gy_g, then col2im into gx
 * The forward and weight gradient never build P (implicit GEMM): the gather micro-kernel
 * (gemm_internal.h) reads patch values straight from the image, zero-padded first when the
 * convolution pads, through row pointers and one offset per tap or pixel; the other operand
 * (weights, or gy) is packed into B micro-panels. Filters are the micro-tile's columns, so
 * filter counts that are multiples of NR fill every micro-tile; each block of results is
 * transposed into place at the end. Workspace: packed operands, one chunk of padded images,
 * a block of results per thread, whatever the batch size. The strided input gradient builds
 * one image's patch matrix at a time on the GEMM driver; a 1x1, stride-1, unpadded
 * convolution uses gy's GEMM straight into gx there. */

#include "common/ftz.h"
#include "conv/transposed_t.h"

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

/* Largest padded plane the implicit GEMM copies, as a multiple of the input plane (plus 64 Ki
 * values, so small images always qualify). */
#define PYCONV_MAX_PADDED_PLANE_RATIO 4.0

/* What the implicit GEMM reads: the input images, zero-padded when the convolution pads, and
 * one offset per kernel tap, so that tap p of output pixel q is at image[pixel(q) + off[p]]. */
typedef struct {
    const pyconv_conv_shape *s;
    const real *x;
    int64_t hp, wp;       /* plane size of the images read: padded, or the input's own */
    int padded;
    const int64_t *off;   /* tap (c, i, j) of the whole input, c_in * kh * kw of them */
} FN(gather_source);

/* Copies n_planes (h_in, w_in) planes into (hp, wp) planes with pad_top zero rows above and
 * pad_left zero columns on the left, the rest zero. */
static void FN(pad_planes)(const pyconv_conv_shape *s, const real *x, int64_t n_planes,
                           int64_t hp, int64_t wp, real *dst, int n_threads)
{
    const int64_t h = s->h_in, w = s->w_in, top = s->pad_top, left = s->pad_left;
    int64_t p;
    n_threads = pyconv_threads_for((double)n_planes * (double)(hp * wp), n_threads);
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

/* Plans the gather for s over x; 0 when padding far wider than the image (legal, if odd)
 * would make the padded copy huge: the caller then uses the direct kernel, which reads the
 * padding as zeros without storing it. The offsets are filled by gather_offsets. */
static int FN(gather_plan)(const pyconv_conv_shape *s, const real *x, FN(gather_source) *g)
{
    g->s = s;
    g->x = x;
    g->hp = pyconv_padded_extent(s->h_in, s->pad_top, s->h_out, s->stride_h, s->kh, s->dil_h);
    g->wp = pyconv_padded_extent(s->w_in, s->pad_left, s->w_out, s->stride_w, s->kw, s->dil_w);
    g->padded = g->hp != s->h_in || g->wp != s->w_in;
    g->off = NULL;
    const double plane_in = (double)s->h_in * (double)s->w_in;
    return (double)g->hp * (double)g->wp <= PYCONV_MAX_PADDED_PLANE_RATIO * plane_in + 65536.0;
}

static void FN(gather_offsets)(FN(gather_source) *g, int64_t *off)
{
    const pyconv_conv_shape *s = g->s;
    for (int64_t c = 0, p = 0; c < s->c_in; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++)
                off[p++] = (c * g->hp + i * s->dil_h) * g->wp + j * s->dil_w;
    g->off = off;
}

/* Images [img, img + imgs) as the gather reads them: x itself, or a padded copy in the calling
 * thread's arena (slot CONV_0); NULL when out of memory. */
static const real *FN(gather_images)(const FN(gather_source) *g, int64_t img, int64_t imgs,
                                     int n_threads)
{
    const pyconv_conv_shape *s = g->s;
    const real *x = g->x + img * s->c_in * s->h_in * s->w_in;
    if (!g->padded) return x;
    real *buf = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_0,
                                         (size_t)(imgs * s->c_in * g->hp * g->wp) * sizeof(real));
    if (buf != NULL) FN(pad_planes)(s, x, imgs * s->c_in, g->hp, g->wp, buf, n_threads);
    return buf;
}

/* pix[t] = the offset of the first value (top-left tap, channel 0) that output pixel q0 + t of
 * the gathered images reads, for t < n. */
static void FN(pixel_offsets)(const FN(gather_source) *g, int64_t q0, int64_t n, int64_t *pix)
{
    const pyconv_conv_shape *s = g->s;
    const int64_t l = s->h_out * s->w_out, image = s->c_in * g->hp * g->wp;
    int64_t m = q0 / l, oh = q0 % l / s->w_out, ow = q0 % s->w_out;
    for (int64_t t = 0; t < n; t++) {
        pix[t] = m * image + oh * s->stride_h * g->wp + ow * s->stride_w;
        if (++ow == s->w_out) {
            ow = 0;
            if (++oh == s->h_out) {
                oh = 0;
                m++;
            }
        }
    }
}

/* The forward pass's arguments, and the weights it packs once per call. */
typedef struct {
    FN(gather_source) in;
    const real *bias;
    real *y;
    const real *w_packed;  /* group g's W_g^T: ceil(M / NR) B micro-panels of K x NR */
} FN(forward_args);

/* y for pixels [q0, q0 + n_px) of images from img on, filters of group g: the block's
 * transposed result ct (row t = pixel q0 + t, ldc apart) plus the bias. */
PYCONV_SIMD_CLONES
static void FN(store_block)(const FN(forward_args) *f, int64_t img, int64_t g, int64_t q0,
                            int64_t n_px, const real *ct, int64_t ldc)
{
    const pyconv_conv_shape *s = f->in.s;
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
    const pyconv_conv_shape *s = f->in.s;
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const FN(pyconv_ukernel_gather) ukernel = arch->FN(ukernel_gather);
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t panels = (cout_g + nr - 1) / nr, ldc = panels * nr;
    const int64_t pixels = imgs * s->h_out * s->w_out;
    const real *src = FN(gather_images)(&f->in, img, imgs, n_threads);
    if (src == NULL) return PYCONV_ERR_NOMEM;
    const int nt = pyconv_gemm_thread_count(pixels, s->c_out, k, (pixels + mr - 1) / mr,
                                            n_threads);
    /* Blocks of at most MC pixels, whole micro-tiles, as many on every thread */
    const int64_t by_mc = (pixels + blk.mc - 1) / blk.mc;
    const int64_t balanced = (by_mc + nt - 1) / nt * nt;
    const int64_t mc = ((pixels + balanced - 1) / balanced + mr - 1) / mr * mr;
    const int64_t n_blocks = (pixels + mc - 1) / mc;
    int failed = 0;
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        pyconv_fpmode fpmode = pyconv_ftz_enter();
        /* the block's y^T, its pixels' offsets and pointers */
        real *ct = (real *)pyconv_arena_get(
            PYCONV_ARENA_CONV_1, (size_t)(mc * ldc) * sizeof(real) + (size_t)mc * sizeof(int64_t) +
                                     (size_t)mc * sizeof(real *));
        int64_t *pix = ct ? (int64_t *)(ct + mc * ldc) : NULL;
        const real **px = ct ? (const real **)(pix + mc) : NULL;
        if (ct == NULL) {
            #pragma omp atomic write
            failed = 1;
        }
        int64_t b;
        #pragma omp for schedule(static)
        for (b = 0; b < n_blocks; b++) {
            if (ct == NULL) continue;
            const int64_t q0 = b * mc, n_px = PYCONV_MIN(mc, pixels - q0);
            FN(pixel_offsets)(&f->in, q0, n_px, pix);
            /* rows past the last pixel repeat the first one; their results are not stored */
            for (int64_t t = 0; t < mc; t++) px[t] = src + pix[t < n_px ? t : 0];
            for (int64_t g = 0; g < s->groups; g++) {
                const real *w_g = f->w_packed + g * ldc * k;
                const int64_t *off_g = f->in.off + g * k;
                /* loop 4 around the micro-kernel: KC-deep slices of the taps */
                for (int64_t pc = 0; pc < k; pc += blk.kc) {
                    const int64_t kc = PYCONV_MIN(blk.kc, k - pc);
                    /* loop 2: NR filters at a time (their packed weights stay in L1) */
                    for (int64_t jp = 0; jp < panels; jp++) {
                        const real *b_panel = w_g + jp * k * nr + pc * nr;
                        /* loop 1: MR pixels at a time, gathered from the image */
                        for (int64_t t = 0; t < n_px; t += mr)
                            ukernel(kc, off_g + pc, px + t, b_panel, pc == 0 ? 0 : 1,
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
    FN(forward_args) f;
    /* no taps: the output is the bias (the direct kernel's job); huge padding: see gather_plan */
    if (k == 0 || !FN(gather_plan)(s, x, &f.in))
        return FN(pyconv_conv2d_direct)(s, x, w, bias, y, n_threads);
    const size_t w_bytes = (size_t)(s->groups * panels * nr * k) * sizeof(real);
    real *w_packed = (real *)pyconv_arena_get(PYCONV_ARENA_GEMM_B,
                                              w_bytes + (size_t)(s->groups * k) * sizeof(int64_t));
    if (w_packed == NULL) return PYCONV_ERR_NOMEM;
    int64_t e;
    const int pack_threads = pyconv_threads_for((double)(s->groups * panels * nr * k), n_threads);
    #pragma omp parallel for num_threads(pack_threads) schedule(static) if(pack_threads > 1)
    for (e = 0; e < s->groups * panels; e++) {
        const int64_t g = e / panels, jp = e % panels;
        const FN(pyconv_strided) w_t = {w + g * cout_g * k, k, 1};
        FN(pyconv_pack_strided)(&w_t, jp * nr, PYCONV_MIN(nr, cout_g - jp * nr), 0, k, nr,
                                w_packed + e * k * nr);
    }
    FN(gather_offsets)(&f.in, (int64_t *)((char *)w_packed + w_bytes));
    f.bias = bias;
    f.y = y;
    f.w_packed = w_packed;
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

/* The stride-1 input gradient goes through the forward's implicit GEMM (transposed_t.h) when
 * the transposed weights fill at least half a micro-tile's filters; otherwise one GEMM per
 * image, then col2im (none for a pointwise convolution, whose GEMM writes gx directly). */
pyconv_status FN(pyconv_conv2d_input_im2col)(const pyconv_conv_shape *s, const real *w,
                                             const real *gy, real *gx, int n_threads)
{
    const int64_t cin_g = s->c_in / s->groups;
    pyconv_conv_shape t;
    if (!FN(input_as_forward)(s, &t) || FN(is_pointwise)(s) ||
        2 * cin_g < pyconv_gemm_active_arch()->FN(blocking).nr) {
        const FN(input_args) a = {s, w, gy, gx};
        return FN(over_images)(s->n, FN(input_image), &a, 1, n_threads);
    }
    real *w_t = FN(flipped_weights)(s, w);
    return w_t == NULL ? PYCONV_ERR_NOMEM : FN(pyconv_conv2d_im2col)(&t, gy, w_t, NULL, gx, n_threads);
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

/* The weight gradient, per group: gW_g^T (K x M) = P_g (K x pixels) @ gy_g^T (pixels x M), an
 * implicit GEMM whose micro-kernel rows are kernel taps gathered from the images (the tap's
 * first value, then one offset per pixel) and whose columns are filters, from gy packed per
 * KC pixels. The batch goes through in order, in chunks of images, into one transposed
 * accumulator; the threads split the tap micro-tiles, so every
 * value is summed in the same order by one thread: the result does not depend on the thread
 * count. */
#define PYCONV_WGRAD_CHUNK_BYTES ((int64_t)4 << 20)

typedef struct {
    FN(gather_source) in;
    const real *gy;
    real *acc;          /* groups x kpad x ldc: gW_g^T, rows padded to whole micro-tiles */
    real *b_block;      /* KC pixels x ldc of gy_g^T as B micro-panels, shared */
    int64_t *pix;       /* those pixels' offsets, shared */
    int64_t kpad, ldc;  /* taps rounded up to whole micro-tiles; filters to whole panels */
} FN(weight_args);

/* acc (+)= the products of images [img, img + imgs), gathered at src (overwritten by the
 * first chunk, first != 0). */
static pyconv_status FN(weight_chunk)(const FN(weight_args) *a, const real *src, int64_t img,
                                      int64_t imgs, int first, int n_threads)
{
    const pyconv_conv_shape *s = a->in.s;
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const FN(pyconv_ukernel_gather) ukernel = arch->FN(ukernel_gather);
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr, kpad = a->kpad, ldc = a->ldc;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out, pixels = imgs * l, tiles = kpad / mr;
    const int64_t panels = ldc / nr;
    const int nt = pyconv_gemm_thread_count(k, s->c_out, pixels, tiles, n_threads);
    int failed = 0;
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        pyconv_fpmode fpmode = pyconv_ftz_enter();
        const real **rows = (const real **)pyconv_arena_get(PYCONV_ARENA_CONV_2,
                                                            (size_t)kpad * sizeof(real *));
        if (rows == NULL) {
            #pragma omp atomic write
            failed = 1;
        }
        for (int64_t g = 0; g < s->groups; g++) {
            const FN(image_rows) grads = {a->gy + (img * s->c_out + g * cout_g) * l, l,
                                          s->c_out * l};
            real *acc_g = a->acc + g * kpad * ldc;
            /* loop 4 around the micro-kernel: KC pixels at a time */
            for (int64_t pc = 0; pc < pixels; pc += blk.kc) {
                const int64_t kc = PYCONV_MIN(blk.kc, pixels - pc);
                const real beta = first && pc == 0 ? 0 : 1;
                /* everyone is done with the previous B block before it is overwritten */
                if (g > 0 || pc > 0) {
                    #pragma omp barrier
                }
                /* each thread packs (and finds the offsets of) a share of the pixels */
                int part;
                #pragma omp for schedule(static)
                for (part = 0; part < nt; part++) {
                    const int64_t lo = kc * part / nt, hi = kc * (part + 1) / nt;
                    if (hi == lo) continue;
                    FN(pixel_offsets)(&a->in, pc + lo, hi - lo, a->pix + lo);
                    for (int64_t jp = 0; jp < panels; jp++)
                        FN(pack_image_rows)(&grads, jp * nr, PYCONV_MIN(nr, cout_g - jp * nr),
                                            pc + lo, hi - lo, nr, a->b_block + (jp * kc + lo) * nr);
                }
                #pragma omp for schedule(static) nowait
                for (part = 0; part < nt; part++) {
                    if (rows == NULL) continue;
                    const int64_t t_lo = tiles * part / nt, t_hi = tiles * (part + 1) / nt;
                    /* taps past the last repeat the first; their sums are never read */
                    for (int64_t t = t_lo * mr; t < t_hi * mr; t++)
                        rows[t] = src + a->in.off[g * k + (t < k ? t : 0)];
                    /* loop 2: NR filters at a time (their packed gradients stay in L1) */
                    for (int64_t jp = 0; jp < panels; jp++)
                        /* loop 1: MR taps at a time, gathered from the images */
                        for (int64_t t = t_lo; t < t_hi; t++)
                            ukernel(kc, a->pix, rows + t * mr, a->b_block + jp * kc * nr, beta,
                                    acc_g + t * mr * ldc + jp * nr, ldc);
                }
            }
        }
        pyconv_ftz_exit(fpmode);
    }
    return failed ? PYCONV_ERR_NOMEM : PYCONV_OK;
}

pyconv_status FN(pyconv_conv2d_weight_im2col)(const pyconv_conv_shape *s, const real *x,
                                              const real *gy, real *gw, int n_threads)
{
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out;
    if (s->n == 0 || l == 0 || k == 0 || s->c_out == 0) {
        memset(gw, 0, (size_t)(s->c_out * k) * sizeof(real));
        return PYCONV_OK;
    }
    FN(weight_args) a;
    if (!FN(gather_plan)(s, x, &a.in)) return FN(pyconv_conv2d_weight_direct)(s, x, gy, gw, n_threads);
    a.gy = gy;
    a.kpad = (k + blk.mr - 1) / blk.mr * blk.mr;
    a.ldc = (cout_g + blk.nr - 1) / blk.nr * blk.nr;
    /* Chunks of at least PYCONV_MIN_GEMM_PIXELS pixels, and as many images as fit in
     * PYCONV_WGRAD_CHUNK_BYTES (the whole batch when nothing is padded, as nothing is copied):
     * fewer parallel regions and barriers for small images. */
    const int64_t image_bytes = s->c_in * a.in.hp * a.in.wp * (int64_t)sizeof(real);
    const int64_t chunk = a.in.padded ? PYCONV_MAX((PYCONV_MIN_GEMM_PIXELS + l - 1) / l,
                                                   PYCONV_WGRAD_CHUNK_BYTES / PYCONV_MAX(image_bytes, 1))
                                      : s->n;
    const int64_t kc_max = PYCONV_MIN(blk.kc, PYCONV_MIN(chunk, s->n) * l);
    /* the accumulator, the shared B block and pixel offsets, the tap offsets */
    const size_t acc_bytes = (size_t)(s->groups * a.kpad * a.ldc) * sizeof(real);
    const size_t b_bytes = (size_t)(kc_max * a.ldc) * sizeof(real);
    a.acc = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_1,
                                     acc_bytes + b_bytes + (size_t)kc_max * sizeof(int64_t) +
                                         (size_t)(s->c_in * s->kh * s->kw) * sizeof(int64_t));
    if (a.acc == NULL) return PYCONV_ERR_NOMEM;
    a.b_block = (real *)((char *)a.acc + acc_bytes);
    a.pix = (int64_t *)((char *)a.b_block + b_bytes);
    FN(gather_offsets)(&a.in, a.pix + kc_max);
    pyconv_status st = PYCONV_OK;
    for (int64_t img = 0; img < s->n && st == PYCONV_OK; img += chunk) {
        const int64_t imgs = PYCONV_MIN(chunk, s->n - img);
        const real *src = FN(gather_images)(&a.in, img, imgs, n_threads);
        st = src == NULL ? PYCONV_ERR_NOMEM
                         : FN(weight_chunk)(&a, src, img, imgs, img == 0, n_threads);
    }
    if (st != PYCONV_OK) return st;
    /* Transpose acc into gw, row by row of acc, taps in order, so the strided writes fill
     * gw's lines while they are cached. */
    int64_t row;
    n_threads = pyconv_threads_for((double)(s->c_out * k), n_threads);
    #pragma omp parallel for num_threads(n_threads) schedule(static) if(n_threads > 1)
    for (row = 0; row < s->groups * k; row++) {
        const int64_t g = row / k, tap = row % k;
        const real *src = a.acc + (g * a.kpad + tap) * a.ldc;
        real *dst = gw + g * cout_g * k + tap;
        for (int64_t oc = 0; oc < cout_g; oc++) dst[oc * k] = src[oc];
    }
    return PYCONV_OK;
}
