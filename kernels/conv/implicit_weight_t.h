/* Implicit-GEMM weight gradient (template), two ways; conv/select.c chooses.
 *
 * Taps as rows (pyconv_weight_implicit). Per group, with K taps, M filters:
 *     gW_g^T (K x M) = P_g (K x pixels) @ gy_g^T (pixels x M), summed over the batch
 * an implicit GEMM whose micro-kernel rows are kernel taps gathered from the images (the
 * tap's first value, then one offset per pixel: conv/gather_t.h) and whose columns are
 * filters, from gy packed per KC pixels. The batch goes through in order, in chunks of
 * images, into one transposed accumulator; the threads split the tap micro-tiles, so every
 * value is summed in the same order by one thread: the result does not depend on the thread
 * count. Nothing of the images is packed; few filters leave micro-tile columns empty.
 *
 * Filters as rows (pyconv_weight_gemm). Per group:
 *     gW_g (M x K) = sum over pixel chunks c of gy_g[:, c] (M x Q) @ P_g[c, :] (Q x K)
 * on the GEMM driver, gy packed as A, the patches gathered into B micro-panels, gW_g written
 * in place (no transpose). The chunks split the pixel reduction when the micro-tiles alone
 * cannot keep threads busy (few filters or taps, e.g. a network's first layer): each chunk
 * gets its own partial sum and the partials are added in chunk order. The chunk size depends
 * on the shape only, so the result is the same at any thread count. */

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

/* Bytes of padded images per chunk (the whole batch when nothing is padded, as nothing is
 * copied): fewer parallel regions and barriers for small images. */
#define PYCONV_WGRAD_CHUNK_BYTES ((int64_t)4 << 20)

/* Most bytes of gy_g^T the team packs between two barriers (several KC blocks of pixels). */
#define PYCONV_WGRAD_STEP_BYTES ((int64_t)1 << 20)

/* The call's workspace (the calling thread's CONV_1 slot): the accumulator (groups x kpad x
 * ldc: gW_g^T, rows padded to whole micro-tiles), the `blocks` B blocks of KC pixels of gy_g^T
 * the team shares, those pixels' offsets, the tap offsets. */
typedef struct {
    size_t acc, b_block, pix, tap_off, bytes;
    int64_t kpad, ldc, kc_max, chunk, blocks;
} FN(weight_layout);

/* The team splits the tap micro-tiles and meets at two barriers per step of packed pixels: a
 * step of one KC block holds kpad x ldc x KC products, too few for many threads when the taps
 * and filters are few (ResNet's stem: a team of one on the 12-row kernel, two on the 7-row one,
 * at any thread count; docs/performance.md, "Issue 10, twelfth session"). So a step packs as
 * many KC blocks as n_threads threads' work between barriers needs (pyconv_team_threads_for),
 * within PYCONV_WGRAD_STEP_BYTES. The blocks are summed in the same order at any step. */
static FN(weight_layout) FN(weight_layout_of)(const pyconv_conv_shape *s,
                                              const pyconv_gemm_blocking *blk, int n_threads)
{
    const int64_t k = s->c_in / s->groups * s->kh * s->kw, l = s->h_out * s->w_out;
    const pyconv_gather_extent e = pyconv_gather_extent_of(s);
    FN(weight_layout) w;
    w.kpad = (k + blk->mr - 1) / blk->mr * blk->mr;
    w.ldc = (s->c_out / s->groups + blk->nr - 1) / blk->nr * blk->nr;
    const int64_t image_bytes = s->c_in * e.hp * e.wp * (int64_t)sizeof(real);
    w.chunk = e.padded ? PYCONV_MAX((PYCONV_MIN_GEMM_PIXELS + l - 1) / PYCONV_MAX(l, 1),
                                    PYCONV_WGRAD_CHUNK_BYTES / PYCONV_MAX(image_bytes, 1))
                       : PYCONV_MAX(s->n, 1);
    w.kc_max = PYCONV_MIN(blk->kc, PYCONV_MIN(w.chunk, s->n) * l);
    const int64_t kc = PYCONV_MAX(w.kc_max, 1);
    const int64_t block_values = PYCONV_MAX(kc * w.ldc, 1);
    const double block_work = (double)w.kpad * (double)block_values;
    const int64_t by_work =
        n_threads > 1 && block_work > 0
            ? (int64_t)ceil(n_threads * PYCONV_MIN_WORK_PER_BARRIER / block_work)
            : 1;
    const int64_t by_bytes = PYCONV_WGRAD_STEP_BYTES / (block_values * (int64_t)sizeof(real));
    const int64_t by_pixels = (PYCONV_MIN(w.chunk, s->n) * l + kc - 1) / kc;
    w.blocks = PYCONV_MAX(1, PYCONV_MIN(PYCONV_MIN(by_work, by_bytes), by_pixels));
    w.bytes = 0;
    w.acc = pyconv_layout_part(&w.bytes, (size_t)(s->groups * w.kpad * w.ldc) * sizeof(real));
    w.b_block = pyconv_layout_part(&w.bytes, (size_t)(w.blocks * w.kc_max * w.ldc) * sizeof(real));
    w.pix = pyconv_layout_part(&w.bytes, (size_t)(w.blocks * w.kc_max) * sizeof(int64_t));
    w.tap_off = pyconv_layout_part(&w.bytes, (size_t)(s->c_in * s->kh * s->kw) * sizeof(int64_t));
    return w;
}

typedef struct {
    FN(pyconv_gather) in;
    const pyconv_gemm_arch *arch;
    const real *gy;
    real *acc, *b_block;
    int64_t *pix;
    real *gw;
    int64_t kpad, ldc, kc_max, blocks;
    /* the chunk being summed */
    const real *src;
    int64_t img, imgs;
    int first;
} FN(weight_args);

/* The team body of one chunk: acc (+)= the products of images [img, img + imgs), gathered at
 * src (acc overwritten by the first chunk). */
static pyconv_status FN(weight_chunk_team)(const void *ctx, const pyconv_thread *th)
{
    const FN(weight_args) *a = (const FN(weight_args) *)ctx;
    const pyconv_conv_shape *s = a->in.s;
    const pyconv_gemm_blocking blk = a->arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr, ldc = a->ldc, nt = th->n_threads;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out, pixels = a->imgs * l, panels = ldc / nr;
    const real **rows = (const real **)th->scratch;
    int64_t t_lo, t_hi;
    pyconv_team_share(th, a->kpad / mr, &t_lo, &t_hi);
    const int64_t t_hi_tap = PYCONV_MIN(t_hi * mr, k);
    for (int64_t g = 0; g < s->groups; g++) {
        const FN(image_rows) grads = {a->gy + (a->img * s->c_out + g * cout_g) * l, l,
                                      s->c_out * l};
        /* this thread's taps */
        for (int64_t t = t_lo * mr; t < t_hi_tap; t++) rows[t] = a->src + a->in.off[g * k + t];
        /* steps of a->blocks KC blocks of pixels, packed between two barriers */
        for (int64_t step = 0; step < pixels; step += a->blocks * blk.kc) {
            const int64_t step_end = PYCONV_MIN(pixels, step + a->blocks * blk.kc);
            /* everyone is done with the previous step's B blocks before they are overwritten */
            if (g > 0 || step > 0) pyconv_team_barrier(th);
            /* each thread packs (and finds the offsets of) a share of each block's pixels */
            for (int64_t pc = step, q = 0; pc < step_end; pc += blk.kc, q++) {
                const int64_t kc = PYCONV_MIN(blk.kc, pixels - pc);
                const int64_t lo = kc * th->tid / nt, hi = kc * (th->tid + 1) / nt;
                real *b_block = a->b_block + q * a->kc_max * ldc;
                if (hi == lo) continue;
                FN(pyconv_gather_pixels)(&a->in, pc + lo, hi - lo, a->pix + q * a->kc_max + lo);
                for (int64_t jp = 0; jp < panels; jp++)
                    FN(pack_image_rows)(&grads, jp * nr, PYCONV_MIN(nr, cout_g - jp * nr), pc + lo,
                                        hi - lo, nr, b_block + (jp * kc + lo) * nr);
            }
            pyconv_team_barrier(th);
            if (t_hi == t_lo) continue;
            /* loop 4 around the micro-kernel: KC pixels at a time */
            for (int64_t pc = step, q = 0; pc < step_end; pc += blk.kc, q++) {
                const int64_t kc = PYCONV_MIN(blk.kc, pixels - pc);
                const FN(pyconv_a_source) taps = {NULL, rows + t_lo * mr, a->pix + q * a->kc_max};
                FN(pyconv_macro_kernel)(a->arch, t_hi_tap - t_lo * mr, ldc, kc, 0, panels, 1, &taps,
                                        a->b_block + q * a->kc_max * ldc, kc * nr,
                                        a->first && pc == 0 ? 0 : 1,
                                        a->acc + (g * a->kpad + t_lo * mr) * ldc, ldc);
            }
        }
    }
    return PYCONV_OK;
}

/* Rows [lo, hi) of the accumulator (group row / K, tap row % K) transposed into gw, taps in
 * order, so the strided writes fill gw's lines while they are cached. */
static pyconv_status FN(transpose_acc)(const void *ctx, int64_t lo, int64_t hi,
                                       const pyconv_thread *th)
{
    const FN(weight_args) *a = (const FN(weight_args) *)ctx;
    const pyconv_conv_shape *s = a->in.s;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    (void)th;
    for (int64_t row = lo; row < hi; row++) {
        const int64_t g = row / k, tap = row % k;
        const real *src = a->acc + (g * a->kpad + tap) * a->ldc;
        real *dst = a->gw + g * cout_g * k + tap;
        for (int64_t oc = 0; oc < cout_g; oc++) dst[oc * k] = src[oc];
    }
    return PYCONV_OK;
}

/* Needs pyconv_gather_fits(s). */
pyconv_status FN(pyconv_weight_implicit)(const pyconv_conv_shape *s, const real *x,
                                         const real *gy, real *gw, int n_threads)
{
    if (!pyconv_gather_fits(s)) return PYCONV_ERR_ARG;
    const int64_t k = s->c_in / s->groups * s->kh * s->kw, l = s->h_out * s->w_out;
    if (s->n == 0 || l == 0 || s->c_out == 0) {
        memset(gw, 0, (size_t)(s->c_out * k) * sizeof(real));
        return PYCONV_OK;
    }
    FN(weight_args) a;
    a.arch = pyconv_gemm_active_arch();
    const pyconv_gemm_blocking blk = a.arch->FN(blocking);
    const FN(weight_layout) w = FN(weight_layout_of)(s, &blk, n_threads);
    char *ws = (char *)pyconv_arena_get(PYCONV_ARENA_CONV_1, w.bytes);
    if (ws == NULL) return PYCONV_ERR_NOMEM;
    a.gy = gy;
    a.gw = gw;
    a.kpad = w.kpad;
    a.ldc = w.ldc;
    a.kc_max = w.kc_max;
    a.blocks = w.blocks;
    a.acc = (real *)(ws + w.acc);
    a.b_block = (real *)(ws + w.b_block);
    a.pix = (int64_t *)(ws + w.pix);
    FN(pyconv_gather_init)(&a.in, s, x, (int64_t *)(ws + w.tap_off));
    const pyconv_scratch rows = {PYCONV_ARENA_CONV_2, (size_t)w.kpad * sizeof(real *)};
    for (int64_t img = 0; img < s->n; img += w.chunk) {
        a.img = img;
        a.imgs = PYCONV_MIN(w.chunk, s->n - img);
        a.first = img == 0;
        a.src = FN(pyconv_gather_images)(&a.in, img, a.imgs, n_threads);
        if (a.src == NULL) return PYCONV_ERR_NOMEM;
        /* the team meets at two barriers per step: threads only for what the work between
         * them pays (with sleeping workers, 2 threads against 1 on one KC block a step: a first
         * layer's 27 taps x 32 filters 3.7 against 0.35 ms at batch 1; MobileNetV2's 1x1
         * 144->32 at 28x28, batch 32, 10.6 against 3.2 ms) */
        const double between_barriers =
            (double)w.kpad * (double)w.ldc * (double)PYCONV_MIN(w.blocks * blk.kc, a.imgs * l);
        const int nt = PYCONV_MIN(
            pyconv_gemm_thread_count(k, s->c_out, a.imgs * l, w.kpad / blk.mr, n_threads),
            pyconv_team_threads_for(between_barriers, w.kpad / blk.mr, n_threads));
        const pyconv_status st = pyconv_run_team(nt, FN(weight_chunk_team), &a, rows);
        if (st != PYCONV_OK) return st;
    }
    return pyconv_parallel_for(s->groups * k, (double)(s->c_out * k), n_threads,
                               FN(transpose_acc), &a, PYCONV_NO_SCRATCH);
}

double FN(pyconv_weight_implicit_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    const FN(weight_layout) w = FN(weight_layout_of)(s, &blk, n_threads);
    const pyconv_gather_extent e = pyconv_gather_extent_of(s);
    const double padded = e.padded ? (double)PYCONV_MIN(w.chunk, PYCONV_MAX(s->n, 1)) *
                                         (double)s->c_in * (double)e.hp * (double)e.wp * sizeof(real)
                                   : 0;
    return (double)w.bytes + padded + (double)n_threads * (double)w.kpad * sizeof(real *);
}

/* Pixels per chunk of the filters-as-rows gradient, a function of the shape only (the result
 * is the same at any thread count, and on any micro-kernel): whole steps of
 * PYCONV_WGRAD_STEP pixels, at most PYCONV_WGRAD_MAX_CHUNKS chunks, their partial sums within
 * PYCONV_WGRAD_PARTIAL_BYTES. A chunk runs on one thread, without the GEMM team's two barriers
 * per KC block. When the group's micro-tiles are fewer than PYCONV_WGRAD_BUSY_TILES (few
 * filters or taps, e.g. a network's first layer) they alone cannot keep threads busy: chunks of
 * one step. Otherwise chunks of PYCONV_WGRAD_MIN_CHUNK_STEPS steps at least, as each chunk's
 * GEMM costs a call: with sleeping workers a barrier costs about what a small layer's 128
 * pixels of products do (ResNet-50's 1x1 64->256 at 56x56, batch 1, one chunk: 1.88 ms at 2
 * threads against 1.26 ms at 1). A result too large for the partials is a layer whose products
 * outweigh the barriers. */
#define PYCONV_WGRAD_STEP 128
#define PYCONV_WGRAD_BUSY_TILES 64
#define PYCONV_WGRAD_MAX_CHUNKS 32
#define PYCONV_WGRAD_MIN_CHUNK_STEPS 8
#define PYCONV_WGRAD_PARTIAL_BYTES ((int64_t)16 << 20)

static int64_t FN(weight_chunk_pixels)(const pyconv_conv_shape *s, const pyconv_gemm_blocking *blk)
{
    const int64_t m = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t pixels = s->n * s->h_out * s->w_out, step = PYCONV_WGRAD_STEP;
    const int64_t tiles = (m + blk->mr - 1) / blk->mr * ((k + blk->nr - 1) / blk->nr);
    const int64_t by_pixels = tiles < PYCONV_WGRAD_BUSY_TILES
                                  ? (pixels + step - 1) / step
                                  : pixels / (PYCONV_WGRAD_MIN_CHUNK_STEPS * step);
    const int64_t result_bytes = PYCONV_MAX(s->c_out * k * (int64_t)sizeof(real), 1);
    const int64_t chunks = PYCONV_MIN(PYCONV_MIN(PYCONV_WGRAD_MAX_CHUNKS, by_pixels),
                                      PYCONV_WGRAD_PARTIAL_BYTES / result_bytes);
    if (chunks <= 1) return PYCONV_MAX(pixels, 1);
    return ((pixels + chunks - 1) / chunks + step - 1) / step * step;
}

/* One chunk's operands, as the driver's pack callbacks see them. */
typedef struct {
    FN(pyconv_gather) in;
    const real *src;       /* the chunk's images as the gather reads them */
    FN(image_rows) grads;  /* gy_g of those images */
    int64_t first;         /* the chunk's first pixel, counted from its first image */
    int64_t group_taps;    /* g * K: group g's first tap offset */
} FN(chunk_operands);

/* A(i, p) = gy of filter i at the chunk's pixel p. */
static void FN(pack_chunk_grads)(const void *ctx, int64_t x0, int64_t nx, int64_t p0, int64_t kc,
                                 int64_t w, real *dst)
{
    const FN(chunk_operands) *c = (const FN(chunk_operands) *)ctx;
    FN(pack_image_rows)(&c->grads, x0, nx, c->first + p0, kc, w, dst);
}

/* Row d of a B micro-panel w wide: taps [0, width) of the pixel at `at`, then zeros. */
PYCONV_INLINE void FN(pack_patch_row)(const real *at, const int64_t *off, int64_t width, int64_t w,
                                      real *d)
{
    for (int64_t r = 0; r < width; r++) d[r] = at[off[r]];
    for (int64_t r = width; r < w; r++) d[r] = 0;
}

#if defined(PYCONV_TRANSPOSE_BYTES)
/* Rows j < L of a B micro-panel w wide: taps [0, width) of the L consecutive pixels at src +
 * pixel (tap t's value of pixel j at src[off[t] + pixel + j]), then zeros: L vector loads and a
 * register transpose per L taps. Compiled for AVX2 apart from its caller, whose per-value loop
 * the AVX2 clone turned into gather instructions, slower than scalar loads here. */
PYCONV_SIMD_CLONES
static void FN(pack_patch_pixels)(const real *src, const int64_t *off, int64_t pixel, int64_t width,
                                  int64_t w, real *dst)
{
    typedef real vec __attribute__((vector_size(PYCONV_TRANSPOSE_BYTES), aligned(sizeof(real))));
    enum { L = PYCONV_TRANSPOSE_BYTES / sizeof(real) };
    int64_t r = 0;
    for (; r + L <= width; r += L) {
        pyconv_tvec v[L];
        for (int i = 0; i < L; i++) v[i] = (pyconv_tvec) * (const vec *)(src + off[r + i] + pixel);
        pyconv_transpose(v, L);
        for (int j = 0; j < L; j++) *(vec *)(dst + j * w + r) = (vec)v[j];
    }
    for (int j = 0; j < L; j++)
        FN(pack_patch_row)(src + pixel + j, off + r, width - r, w - r, dst + j * w + r);
}
#endif

/* B(p, j) = tap j of the chunk's pixel p, gathered from the images. Pixels p .. p + L - 1 of
 * one output row (stride 1) are consecutive in every tap's image row: pack_patch_pixels (a
 * value at a time, this packing took 39% of a 1x1 144->24 @56 gradient); the others go a
 * value at a time. */
static void FN(pack_chunk_patches)(const void *ctx, int64_t x0, int64_t nx, int64_t p0, int64_t kc,
                                   int64_t w, real *dst)
{
    const FN(chunk_operands) *c = (const FN(chunk_operands) *)ctx;
    const int64_t *off = c->in.off + c->group_taps + x0;
    int64_t pix[PYCONV_GEMM_MAX_KC];
    FN(pyconv_gather_pixels)(&c->in, c->first + p0, kc, pix);
    for (int64_t q = 0; q < nx; q += w, dst += kc * w) {
        const int64_t width = PYCONV_MIN(w, nx - q);
        int64_t p = 0;
#if defined(PYCONV_TRANSPOSE_BYTES)
        enum { L = PYCONV_TRANSPOSE_BYTES / sizeof(real) };
        while (c->in.s->stride_w == 1 && p < kc) {
            if (p + L <= kc && pix[p + L - 1] - pix[p] == L - 1) {
                FN(pack_patch_pixels)(c->src, off + q, pix[p], width, w, dst + p * w);
                p += L;
            } else {
                FN(pack_patch_row)(c->src + pix[p], off + q, width, w, dst + p * w);
                p++;
            }
        }
#endif
        for (; p < kc; p++) FN(pack_patch_row)(c->src + pix[p], off + q, width, w, dst + p * w);
    }
}

typedef struct {
    FN(pyconv_gather) in;  /* the images and tap offsets, set up once per call */
    const real *gy;
    real *gw, *partials;  /* partials: one gW per chunk, NULL with one chunk */
    int64_t chunk;        /* pixels per chunk */
} FN(weight_gemm_args);

/* Chunks [c0, c0 + count) of the pixels, each with n_threads threads inside. */
static pyconv_status FN(weight_gemm_chunks)(const void *ctx, int64_t c0, int64_t count, int n_threads)
{
    const FN(weight_gemm_args) *a = (const FN(weight_gemm_args) *)ctx;
    const pyconv_conv_shape *s = a->in.s;
    const int64_t l = s->h_out * s->w_out, pixels = s->n * l;
    const int64_t m = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    for (int64_t c = c0; c < c0 + count; c++) {
        const int64_t q0 = c * a->chunk, q = PYCONV_MIN(a->chunk, pixels - q0);
        const int64_t img0 = q0 / l, imgs = (q0 + q - 1) / l - img0 + 1;
        FN(chunk_operands) ops;
        ops.in = a->in;
        ops.src = FN(pyconv_gather_images)(&ops.in, img0, imgs, n_threads);
        if (ops.src == NULL) return PYCONV_ERR_NOMEM;
        ops.first = q0 - img0 * l;
        real *out = a->partials ? a->partials + c * s->c_out * k : a->gw;
        for (int64_t g = 0; g < s->groups; g++) {
            ops.grads = (FN(image_rows)){a->gy + (img0 * s->c_out + g * m) * l, l, s->c_out * l};
            ops.group_taps = g * k;
            const pyconv_status st = FN(pyconv_gemm_driver)(
                m, k, q, 1, FN(pack_chunk_grads), &ops, FN(pack_chunk_patches), &ops, 0,
                out + g * m * k, k, n_threads);
            if (st != PYCONV_OK) return st;
        }
    }
    return PYCONV_OK;
}

/* gw[e] = the chunks' partial sums of element e, added in chunk order, for e in [lo, hi). */
static pyconv_status FN(add_partials)(const void *ctx, int64_t lo, int64_t hi, const pyconv_thread *th)
{
    const FN(weight_gemm_args) *a = (const FN(weight_gemm_args) *)ctx;
    const pyconv_conv_shape *s = a->in.s;
    const int64_t size = s->c_out * (s->c_in / s->groups) * s->kh * s->kw;
    const int64_t chunks = (s->n * s->h_out * s->w_out + a->chunk - 1) / a->chunk;
    (void)th;
    /* chunk by chunk along the elements (vector adds), each element's sum in chunk order */
    real *PYCONV_RESTRICT gw = a->gw;
    const real *PYCONV_RESTRICT partials = a->partials;
    for (int64_t e = lo; e < hi; e++) gw[e] = partials[e];
    for (int64_t c = 1; c < chunks; c++)
        for (int64_t e = lo; e < hi; e++) gw[e] += partials[c * size + e];
    return PYCONV_OK;
}

/* The call's workspace (the calling thread's CONV_1 slot): the tap offsets, the partials. */
typedef struct {
    size_t tap_off, partials, bytes;
    int64_t chunk, chunks;
} FN(weight_gemm_layout);

static FN(weight_gemm_layout) FN(weight_gemm_layout_of)(const pyconv_conv_shape *s,
                                                        const pyconv_gemm_blocking *blk)
{
    FN(weight_gemm_layout) w = {0, 0, 0, 0, 0};
    const int64_t pixels = s->n * s->h_out * s->w_out;
    w.chunk = FN(weight_chunk_pixels)(s, blk);
    w.chunks = (pixels + w.chunk - 1) / w.chunk;
    w.tap_off = pyconv_layout_part(&w.bytes, (size_t)(s->c_in * s->kh * s->kw) * sizeof(int64_t));
    w.partials = pyconv_layout_part(
        &w.bytes, w.chunks > 1 ? (size_t)(w.chunks * s->c_out * (s->c_in / s->groups) * s->kh * s->kw) * sizeof(real) : 0);
    return w;
}

/* Needs pyconv_gather_fits(s) and a non-empty result and reduction (conv/select.c). */
pyconv_status FN(pyconv_weight_gemm)(const pyconv_conv_shape *s, const real *x, const real *gy,
                                     real *gw, int n_threads)
{
    if (!pyconv_gather_fits(s)) return PYCONV_ERR_ARG;
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    const FN(weight_gemm_layout) w = FN(weight_gemm_layout_of)(s, &blk);
    char *ws = (char *)pyconv_arena_get(PYCONV_ARENA_CONV_1, w.bytes);
    if (ws == NULL) return PYCONV_ERR_NOMEM;
    FN(weight_gemm_args) a = {.gy = gy, .gw = gw, .chunk = w.chunk,
                              .partials = w.chunks > 1 ? (real *)(ws + w.partials) : NULL};
    FN(pyconv_gather_init)(&a.in, s, x, (int64_t *)(ws + w.tap_off));
    pyconv_status st = pyconv_parallel_chunks(w.chunks, 1, n_threads, FN(weight_gemm_chunks), &a);
    if (st != PYCONV_OK || w.chunks == 1) return st;
    const int64_t size = s->c_out * (s->c_in / s->groups) * s->kh * s->kw;
    return pyconv_parallel_for(size, (double)size * (double)w.chunks * PYCONV_WORK_PER_VALUE, n_threads,
                               FN(add_partials), &a, PYCONV_NO_SCRATCH);
}

double FN(pyconv_weight_gemm_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    const FN(weight_gemm_layout) w = FN(weight_gemm_layout_of)(s, &blk);
    const pyconv_gather_extent e = pyconv_gather_extent_of(s);
    const int64_t l = PYCONV_MAX(s->h_out * s->w_out, 1);
    /* per busy thread: a chunk's padded images and the GEMM's A block; the B block */
    const double padded = e.padded ? (double)((w.chunk + l - 1) / l + 1) * (double)s->c_in *
                                         (double)e.hp * (double)e.wp * sizeof(real) : 0;
    return (double)w.bytes + (double)n_threads * (padded + (double)(blk.mc * blk.kc) * sizeof(real)) +
           (double)(blk.nc * blk.kc) * sizeof(real);
}
