/* Implicit-GEMM forward convolution (template). Per group, with K = c_in/groups*kh*kw taps,
 * M = c_out/groups filters and the output pixels of a chunk of images:
 *     y_g^T (pixels x M) = P_g^T (pixels x K) @ W_g^T (K x M)  (+ bias)
 * without building P: the micro-kernel's rows are output pixels gathered from the (padded)
 * images through the tap offsets (conv/gather_t.h), its columns filters, from W_g^T packed
 * once per call into B micro-panels. Filter counts that are multiples of NR fill every
 * micro-tile. A block of pixels' results is transposed into y as it is stored, through the
 * output stage (bias, residual, activation: conv/epilogue_t.h).
 * Workspace: the packed weights, one chunk of padded images per busy thread, one block of
 * results per thread — independent of the batch. */

#include "common/transpose.h"
#include "conv/epilogue_t.h"

/* Whether the weights are packed as each task needs a KC x NR slice of them rather than all
 * at once: when the whole batch is one block of pixels, each weight is used by one task only,
 * and packing ahead would write the packed weights out and read them back (three passes over
 * an array as large as the weights, for a few pixels' products each; ResNet's 512-channel
 * 7x7 layers at batch 1 are memory-bound that way). */
static int FN(pack_as_needed)(const pyconv_conv_shape *s, const pyconv_gemm_blocking *blk)
{
    return s->n * s->h_out * s->w_out <= blk->mc;
}

/* The call's shared workspace (the calling thread's GEMM_B slot): W_g^T as B micro-panels
 * (group g's ceil(M / NR) panels of K x NR; none when packed as needed), then the tap offsets
 * of the gather. */
typedef struct {
    size_t w_packed, tap_off, bytes;
} FN(forward_layout);

static FN(forward_layout) FN(forward_layout_of)(const pyconv_conv_shape *s,
                                                const pyconv_gemm_blocking *blk)
{
    FN(forward_layout) l = {0, 0, 0};
    l.w_packed = pyconv_layout_part(
        &l.bytes, FN(pack_as_needed)(s, blk) ? 0 : (size_t)FN(pyconv_conv2d_packed_size)(s) * sizeof(real));
    l.tap_off = pyconv_layout_part(&l.bytes, (size_t)(s->c_in * s->kh * s->kw) * sizeof(int64_t));
    return l;
}

/* Whether a task multiplying its block of pixels by `panels` filter micro-panels packs the
 * gathered pixels first (gemm_config.h, PACK_A_PANELS): a 1x1 kernel's gather reads another
 * input plane, another cache line, at every k step, so a tile's rows span more lines than L1
 * holds beside the B micro-panel, where packed they are one contiguous micro-panel; larger
 * kernels' taps share lines. */
static int FN(packs_pixels)(const pyconv_conv_shape *s, const pyconv_gemm_blocking *blk,
                            int64_t panels)
{
    return blk->pack_a_panels > 0 && s->kh * s->kw == 1 && panels >= blk->pack_a_panels;
}

/* A thread's block workspace (its CONV_1 slot): the block's transposed results (mc rows of
 * ldc filters, ldct apart), its pixels' offsets and row pointers, the KC x NR weight slice
 * packed as needed, and the block's KC slice of pixels packed when pack_a. The rows are a
 * cache line longer than the filters: store_block reads the results down their columns, and
 * with 512 or 1024 filters the rows of a column would otherwise share one or two L1 sets. */
typedef struct {
    int64_t ldct;
    size_t ct, pix, rows, w_slice, a_packed, bytes;
} FN(block_layout);

static FN(block_layout) FN(block_layout_of)(int64_t mc, int64_t ldc,
                                            const pyconv_gemm_blocking *blk, int pack_a)
{
    FN(block_layout) l = {ldc + PYCONV_ALIGN / (int64_t)sizeof(real), 0, 0, 0, 0, 0, 0};
    l.ct = pyconv_layout_part(&l.bytes, (size_t)(mc * l.ldct) * sizeof(real));
    l.pix = pyconv_layout_part(&l.bytes, (size_t)mc * sizeof(int64_t));
    l.rows = pyconv_layout_part(&l.bytes, (size_t)mc * sizeof(real *));
    l.w_slice = pyconv_layout_part(&l.bytes, (size_t)(blk->kc * blk->nr) * sizeof(real));
    l.a_packed = pyconv_layout_part(&l.bytes, pack_a ? (size_t)(mc * blk->kc) * sizeof(real) : 0);
    return l;
}

/* The forward pass's arguments. */
typedef struct {
    FN(pyconv_gather) in;
    const FN(pyconv_epilogue) *ep;
    real *y;
    const real *w;         /* the weights: as given, or (flipped) those of the convolution whose */
    int flipped;           /* stride-1 input gradient this forward pass is (transposed_t.h) */
    const real *w_packed;  /* ... packed ahead, or NULL: packed as needed */
} FN(forward_args);

/* One chunk of images' arguments, as its pixel-block tasks see them. */
typedef struct {
    const FN(forward_args) *f;
    const pyconv_gemm_arch *arch;
    const real *src;           /* the chunk's images as the gather reads them */
    int64_t img, pixels, mc, ldc, panels, k;
    int64_t pgroups;           /* filter-panel groups per pixel block: tasks = blocks x groups */
    int pack_a;                /* whether a task packs its block of pixels first */
    FN(block_layout) layout;
} FN(chunk_args);

/* Rows [p0, p0 + kc) of micro-panel jp of group g's W_g^T (tap p, filter j) into dst. As
 * given, W_g^T is a strided matrix. Flipped, filter j of this convolution is input channel j
 * of the original one and tap p = (f, t) its filter f's tap taps-1-t, read in place: the
 * transposed weights are never copied. */
static void FN(pack_weight_slice)(const FN(forward_args) *f, int64_t g, int64_t jp, int64_t p0,
                                  int64_t kc, int64_t nr, real *dst)
{
    const pyconv_conv_shape *s = f->in.s;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t taps = s->kh * s->kw, k = cin_g * taps, width = PYCONV_MIN(nr, cout_g - jp * nr);
    if (!f->flipped || taps == 1) {
        /* as given, W_g^T; flipped 1x1, tap p is filter p of the original convolution: its
         * row of input channels, W_g itself */
        const FN(pyconv_strided) w_t = f->flipped ? (FN(pyconv_strided)){f->w + g * k * cout_g, 1, cout_g}
                                                  : (FN(pyconv_strided)){f->w + g * cout_g * k, k, 1};
        FN(pyconv_pack_strided)(&w_t, jp * nr, width, p0, kc, nr, dst);
        return;
    }
    /* per filter f, its taps in the slice: t_lo .. t_lo + n - 1 read taps - 1 - t, a run of the
     * panel's rows (taps apart) in descending order: packed ascending (the GEMM's transpose),
     * then the n rows reversed */
    for (int64_t p = 0; p < kc;) {
        const int64_t filter = (p0 + p) / taps, t_lo = (p0 + p) % taps;
        const int64_t n = PYCONV_MIN(taps - t_lo, kc - p);
        const real *src = f->w + ((g * cin_g + filter) * cout_g + jp * nr) * taps;
        real *d = dst + p * nr;
        FN(pyconv_pack_rows)(src + taps - t_lo - n, taps, width, n, nr, d);
        for (int64_t i = 0, j = n - 1; i < j; i++, j--)
            for (int64_t r = 0; r < nr; r++) {
                const real v = d[i * nr + r];
                d[i * nr + r] = d[j * nr + r];
                d[j * nr + r] = v;
            }
        p += n;
    }
}

/* y for pixels [q0, q0 + n_px) of images from img on, filters [oc_lo, oc_hi) of group g:
 * the block's transposed result ct (row t = pixel q0 + t, ldc apart) through the output stage.
 * A vector's lanes of filters by as many pixels at a time, transposed in registers: a value at
 * a time, the transpose cost as much as a pointwise layer's products at 7x7 to 14x14 (K =
 * 64-160) and a quarter of the 3-channel stem's time. */
PYCONV_SIMD_CLONES
static void FN(store_block)(const FN(forward_args) *f, int64_t img, int64_t g, int64_t q0,
                            int64_t n_px, int64_t oc_lo, int64_t oc_hi, const real *ct, int64_t ldc)
{
    const pyconv_conv_shape *s = f->in.s;
    const int64_t l = s->h_out * s->w_out, cout_g = s->c_out / s->groups;
    for (int64_t q = q0; q < q0 + n_px;) {
        const int64_t m = q / l, p0 = q % l, run = PYCONV_MIN(l - p0, q0 + n_px - q);
        const real *c = ct + (q - q0) * ldc;
        real *y0 = f->y + ((img + m) * s->c_out + g * cout_g) * l + p0;
        const real *bias = f->ep->bias ? f->ep->bias + g * cout_g : NULL;
        int64_t oc = oc_lo;
#if defined(PYCONV_TRANSPOSE_BYTES)
        typedef real vec __attribute__((vector_size(PYCONV_TRANSPOSE_BYTES), aligned(sizeof(real))));
        enum { L = PYCONV_TRANSPOSE_BYTES / sizeof(real) };
        for (; oc + L <= oc_hi; oc += L) {
            vec b = {0};
            if (bias != NULL) b = *(const vec *)(bias + oc);
            int64_t t = 0;
            for (; t + L <= run; t += L) {
                pyconv_tvec v[L];
                for (int i = 0; i < L; i++) v[i] = (pyconv_tvec) * (const vec *)(c + (t + i) * ldc + oc);
                pyconv_transpose(v, L);
                for (int j = 0; j < L; j++) *(vec *)(y0 + (oc + j) * l + t) = (vec)v[j] + b[j];
            }
            for (int j = 0; j < L; j++)
                for (int64_t u = t; u < run; u++) y0[(oc + j) * l + u] = c[u * ldc + oc + j] + b[j];
        }
#endif
        for (; oc < oc_hi; oc++) {
            const real b = bias != NULL ? bias[oc] : (real)0;
            for (int64_t t = 0; t < run; t++) y0[oc * l + t] = c[t * ldc + oc] + b;
        }
        if (FN(epilogue_fused)(f->ep))
            for (oc = oc_lo; oc < oc_hi; oc++) {
                const int64_t at = ((img + m) * s->c_out + g * cout_g + oc) * l + p0;
                FN(finish_run)(f->y + at, f->ep->residual ? f->ep->residual + at : NULL, run,
                               f->ep->activation);
            }
        q += run;
    }
}

/* Tasks [lo, hi) of a chunk, task t = pixel block t / pgroups, filter panels of group
 * t % pgroups: per group of the convolution, loop 4 around the shared macro-kernel. */
static pyconv_status FN(forward_blocks)(const void *ctx, int64_t lo, int64_t hi,
                                        const pyconv_thread *th)
{
    const FN(chunk_args) *c = (const FN(chunk_args) *)ctx;
    const FN(forward_args) *f = c->f;
    const pyconv_conv_shape *s = f->in.s;
    const pyconv_gemm_blocking blk = c->arch->FN(blocking);
    real *ct = (real *)((char *)th->scratch + c->layout.ct);
    int64_t *pix = (int64_t *)((char *)th->scratch + c->layout.pix);
    const real **rows = (const real **)((char *)th->scratch + c->layout.rows);
    real *w_slice = (real *)((char *)th->scratch + c->layout.w_slice);
    real *a_packed = (real *)((char *)th->scratch + c->layout.a_packed);
    const int64_t cout_g = s->c_out / s->groups;
    for (int64_t t = lo; t < hi; t++) {
        const int64_t b = t / c->pgroups, pg = t % c->pgroups;
        const int64_t jp_lo = c->panels * pg / c->pgroups, jp_hi = c->panels * (pg + 1) / c->pgroups;
        const int64_t q0 = b * c->mc, n_px = PYCONV_MIN(c->mc, c->pixels - q0);
        FN(pyconv_gather_pixels)(&f->in, q0, n_px, pix);
        for (int64_t r = 0; r < n_px; r++) rows[r] = c->src + pix[r];
        for (int64_t g = 0; g < s->groups; g++) {
            /* loop 4 around the micro-kernel: KC-deep slices of the taps */
            for (int64_t pc = 0; pc < c->k; pc += blk.kc) {
                const int64_t kc = PYCONV_MIN(blk.kc, c->k - pc);
                FN(pyconv_a_source) a = {NULL, rows, f->in.off + g * c->k + pc};
                if (c->pack_a) {
                    FN(pyconv_pack_gathered)(rows, a.off, n_px, kc, blk.mr, a_packed);
                    a = (FN(pyconv_a_source)){a_packed, NULL, NULL};
                }
                if (f->w_packed != NULL) {
                    FN(pyconv_macro_kernel)(c->arch, n_px, c->ldc, kc, jp_lo, jp_hi, 1, &a,
                                            f->w_packed + g * c->ldc * c->k + pc * blk.nr,
                                            c->k * blk.nr, pc == 0 ? 0 : 1, ct, c->layout.ldct);
                    continue;
                }
                /* loop 2 here: each panel's slice packed as needed, then loop 1 */
                for (int64_t jp = jp_lo; jp < jp_hi; jp++) {
                    FN(pack_weight_slice)(f, g, jp, pc, kc, blk.nr, w_slice);
                    FN(pyconv_macro_kernel)(c->arch, n_px, blk.nr, kc, 0, 1, 1, &a, w_slice,
                                            kc * blk.nr, pc == 0 ? 0 : 1, ct + jp * blk.nr,
                                            c->layout.ldct);
                }
            }
            FN(store_block)(f, c->img, g, q0, n_px, jp_lo * blk.nr, PYCONV_MIN(jp_hi * blk.nr, cout_g),
                            ct, c->layout.ldct);
        }
    }
    return PYCONV_OK;
}

/* How a chunk's pixels x filter panels are cut into tasks for nt threads (c->mc, c->pgroups).
 * Enough pixels for PYCONV_RANGE_PARTS_PER_THREAD MC blocks per thread: pixel blocks only, a
 * multiple of nt (whole micro-tiles). Fewer (small images, small batches): the filter panels
 * are split too, each task streaming only its share of the packed weights, and the pixels for
 * the rest -- but a layer that packs its pixels keeps PACK_A_PANELS panels a task: finer
 * groups would multiply gathered pixels, and 1x1 layers at 7x7 with 160-512 filters ran no
 * faster on two threads than on one (docs/performance.md, fifteenth session). */
static void FN(cut_tasks)(FN(chunk_args) *c, const pyconv_gemm_blocking *blk, int nt)
{
    const int64_t by_mc = (c->pixels + blk->mc - 1) / blk->mc;
    const int64_t want = nt > 1 ? (int64_t)nt * PYCONV_RANGE_PARTS_PER_THREAD : 1;
    int64_t blocks;
    c->pgroups = 1;
    if (by_mc >= want) {
        blocks = (by_mc + nt - 1) / nt * nt;
    } else {
        c->pgroups = PYCONV_MIN(c->panels, (want + by_mc - 1) / by_mc);
        if (FN(packs_pixels)(c->f->in.s, blk, c->panels))
            c->pgroups = PYCONV_MIN(c->pgroups, c->panels / blk->pack_a_panels);
        blocks = PYCONV_MAX(by_mc, (nt + c->pgroups - 1) / c->pgroups);
    }
    c->mc = ((c->pixels + blocks - 1) / blocks + blk->mr - 1) / blk->mr * blk->mr;
}

/* Forward of images [img, img + imgs): their pixels in blocks spread over the threads. */
static pyconv_status FN(forward_chunk)(const void *ctx, int64_t img, int64_t imgs,
                                       int n_threads)
{
    const FN(forward_args) *f = (const FN(forward_args) *)ctx;
    const pyconv_conv_shape *s = f->in.s;
    FN(chunk_args) c;
    c.f = f;
    c.arch = pyconv_gemm_active_arch();
    const pyconv_gemm_blocking blk = c.arch->FN(blocking);
    c.img = img;
    c.k = s->c_in / s->groups * s->kh * s->kw;
    c.panels = (s->c_out / s->groups + blk.nr - 1) / blk.nr;
    c.ldc = c.panels * blk.nr;
    c.pixels = imgs * s->h_out * s->w_out;
    c.src = FN(pyconv_gather_images)(&f->in, img, imgs, n_threads);
    if (c.src == NULL) return PYCONV_ERR_NOMEM;
    const int nt = pyconv_gemm_thread_count(c.pixels, s->c_out, c.k,
                                            (c.pixels + blk.mr - 1) / blk.mr * c.panels, n_threads);
    FN(cut_tasks)(&c, &blk, nt);
    c.pack_a = FN(packs_pixels)(s, &blk, c.panels / c.pgroups);
    c.layout = FN(block_layout_of)(c.mc, c.ldc, &blk, c.pack_a);
    const int64_t n_tasks = (c.pixels + c.mc - 1) / c.mc * c.pgroups;
    const pyconv_scratch block = {PYCONV_ARENA_CONV_1, c.layout.bytes};
    /* nt already counts the work: the tasks are spread over exactly that many threads */
    return pyconv_parallel_for(n_tasks, (double)nt * pyconv_min_work_per_region(), nt,
                               FN(forward_blocks), &c, block);
}

/* Groups x micro-panels [lo, hi) of W_g^T packed ahead, each a whole K x NR micro-panel. */
typedef struct {
    const FN(forward_args) *f;
    real *dst;
} FN(pack_args);

static pyconv_status FN(pack_weights)(const void *ctx, int64_t lo, int64_t hi,
                                      const pyconv_thread *th)
{
    const FN(pack_args) *a = (const FN(pack_args) *)ctx;
    const pyconv_conv_shape *s = a->f->in.s;
    const int64_t nr = pyconv_gemm_active_arch()->FN(blocking).nr;
    const int64_t k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t panels = (s->c_out / s->groups + nr - 1) / nr;
    (void)th;
    for (int64_t e = lo; e < hi; e++)
        FN(pack_weight_slice)(a->f, e / panels, e % panels, 0, k, nr, a->dst + e * k * nr);
    return PYCONV_OK;
}

/* Images per chunk at most: enough for PYCONV_MIN_GEMM_PIXELS pixels (fewer when the batch
 * would otherwise leave threads idle: pyconv_parallel_chunks). */
static int64_t FN(forward_chunk_images)(const pyconv_conv_shape *s)
{
    const int64_t l = PYCONV_MAX(s->h_out * s->w_out, 1);
    return (PYCONV_MIN_GEMM_PIXELS + l - 1) / l;
}

/* W_g^T of every group as whole K x NR micro-panels, into dst, on up to n_threads threads. */
static pyconv_status FN(pack_weights_ahead)(const FN(forward_args) *f, real *dst, int n_threads)
{
    const pyconv_conv_shape *s = f->in.s;
    const int64_t nr = pyconv_gemm_active_arch()->FN(blocking).nr;
    const FN(pack_args) pack = {f, dst};
    return pyconv_parallel_for(s->groups * ((s->c_out / s->groups + nr - 1) / nr),
                               (double)FN(pyconv_conv2d_packed_size)(s), n_threads, FN(pack_weights),
                               &pack, PYCONV_NO_SCRATCH);
}

int64_t FN(pyconv_conv2d_packed_size)(const pyconv_conv_shape *s)
{
    const int64_t nr = pyconv_gemm_active_arch()->FN(blocking).nr;
    return s->groups * ((s->c_out / s->groups + nr - 1) / nr) * nr * (s->c_in / s->groups) * s->kh * s->kw;
}

pyconv_status FN(pyconv_conv2d_pack_weight)(const pyconv_conv_shape *s, const real *w, real *packed,
                                            int n_threads)
{
    if (pyconv_conv_shape_check(s, NULL, 0) != PYCONV_OK || n_threads < 1 ||
        (uintptr_t)packed % PYCONV_ALIGN != 0)
        return PYCONV_ERR_ARG;
    FN(forward_args) f;
    memset(&f, 0, sizeof f);
    f.in.s = s;
    f.w = w;
    return FN(pack_weights_ahead)(&f, packed, n_threads);
}

/* Needs pyconv_gather_fits(s). */
pyconv_status FN(pyconv_forward_implicit)(const pyconv_conv_shape *s, const real *x,
                                          const real *w, int flipped, const real *packed,
                                          const FN(pyconv_epilogue) *ep, real *y, int n_threads)
{
    if (!pyconv_gather_fits(s)) return PYCONV_ERR_ARG;
    if (s->n == 0 || s->h_out * s->w_out == 0 || s->c_out == 0) return PYCONV_OK;
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    const FN(forward_layout) layout = FN(forward_layout_of)(s, &blk);
    char *ws = (char *)pyconv_arena_get(PYCONV_ARENA_GEMM_B, layout.bytes);
    if (ws == NULL) return PYCONV_ERR_NOMEM;
    FN(forward_args) f;
    f.ep = ep;
    f.y = y;
    f.w = w;
    f.flipped = flipped;
    f.w_packed = packed;
    FN(pyconv_gather_init)(&f.in, s, x, (int64_t *)(ws + layout.tap_off));
    if (packed == NULL && !FN(pack_as_needed)(s, &blk)) {
        const pyconv_status st = FN(pack_weights_ahead)(&f, (real *)(ws + layout.w_packed), n_threads);
        if (st != PYCONV_OK) return st;
        f.w_packed = (const real *)(ws + layout.w_packed);
    }
    return pyconv_parallel_chunks(s->n, FN(forward_chunk_images)(s), n_threads, FN(forward_chunk), &f);
}

double FN(pyconv_forward_implicit_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    const int64_t ldc = (s->c_out / s->groups + blk.nr - 1) / blk.nr * blk.nr;
    const pyconv_gather_extent e = pyconv_gather_extent_of(s);
    const double chunk = (double)PYCONV_MIN(FN(forward_chunk_images)(s), PYCONV_MAX(s->n, 1));
    const double padded = e.padded ? chunk * (double)s->c_in * (double)e.hp * (double)e.wp * sizeof(real) : 0;
    const int pack_a = FN(packs_pixels)(s, &blk, ldc / blk.nr);
    return (double)FN(forward_layout_of)(s, &blk).bytes +
           n_threads * (padded + (double)FN(block_layout_of)(blk.mc, ldc, &blk, pack_a).bytes);
}
