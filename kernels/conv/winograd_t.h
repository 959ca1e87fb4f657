/* Winograd minimal filtering F(4x4, 3x3) for 3x3, stride-1, dilation-1 convolutions.
 *
 * Each 4x4 block of outputs ("tile") of one filter comes from the 6x6 input patch d under it:
 *     y_tile = A^T [ sum_c (G g_c G^T) .* (B^T d_c B) ] A
 * so the 36 products per channel replace 144 multiply-adds of the direct convolution. With the
 * transformed filters U_e (C_in x C_out per element e of the 6x6 domain) and the transformed
 * input V_e (tiles x C_in), the sum over channels is 36 independent GEMMs
 *     M_e (tiles x C_out) = V_e @ U_e,
 * which run on the GEMM's gather micro-kernel (gemm_internal.h): tiles are the micro-tile's rows,
 * read from V_e through one row pointer per tile and one offset per channel, filters its
 * columns, from U_e packed as B micro-panels. Interpolation points 0, +-1, +-2 and infinity
 * (Lavin & Gray, wincnn); F(6x6, 3x3) was not chosen (docs/winograd.md).
 *
 * The batch's tiles are numbered row-major over (image, tile row, tile column) and processed in
 * blocks, one block per thread at a time (or, with fewer blocks than threads, a part of a
 * block's filter panels): input transform of all channels (V), the 36 GEMMs of each group (M),
 * output transform into y through the forward's output stage (bias, residual, activation:
 * conv/epilogue_t.h). The filters are transformed once per call, or per block when
 * that keeps U out of memory (see wino_layout). The workspace is one block's V and M per thread
 * plus the transformed filters, whatever the batch size. Blocks and the filter transform run on
 * the parallel-task runner (common/parallel.h). Zero padding of any size (negative too: a crop,
 * which the input gradient's transposed convolution may ask for) is read by clipping the copied
 * input rows; tiles past the output's edge are computed, not stored. */

#include "conv/epilogue_t.h"

/* Defined once for both dtypes (`real` is resolved where the macros expand). */
#ifndef PYCONV_WINO_M
/* Output tile side; elements of the transformed 6x6 domain. */
#define PYCONV_WINO_M 4
#define PYCONV_WINO_ELEMS 36
/* V and M of one block of tiles in about this many bytes per thread, so that a block's
 * transformed data stays in the outer caches; but at least PYCONV_WINO_MIN_BLOCK tiles, as the
 * transformed filters are streamed once per block (docs/winograd.md). */
#define PYCONV_WINO_BLOCK_BYTES ((int64_t)2 << 20)
#define PYCONV_WINO_MIN_BLOCK 64
#define PYCONV_WINO_MAX_BLOCK 256
/* Largest transformed filters (U) shared by all blocks: beyond, each block transforms its own
 * (reading U from memory once per block costs more than transforming it again). */
#define PYCONV_WINO_SHARED_U_BYTES (8.0 * 1024 * 1024)
/* A block's own transformed filters (36 x KC x NR values) in at most this many bytes, so that
 * they stay in L2 between the transform that writes them and the 36 GEMMs that read them: at
 * the GEMM's KC (512 floats x 32 filters: 2.3 MiB) they went to L3 and back. */
#define PYCONV_WINO_BLOCK_U_BYTES ((int64_t)512 << 10)
/* Input channels whose taps the filter transform transposes at a time (16 x 9 x NR values on
 * the stack, in L1). */
#define PYCONV_WINO_CHUNK 16
/* A block's V is shared by the parts of its panels (made once, before them, by all threads) when
 * the parts would otherwise make it again for at least this many tiles x input channels in all:
 * the extra pass over the threads costs about what 2 parts save on 16 tiles of 256 channels
 * (2 threads, 256@14 batch 1: 7-15% slower shared), less than they save on 49 tiles of 512
 * (512@28: 5% faster); at 16 threads, 32 images of 512@7 (128 tiles), it saves most of the work
 * (docs/winograd.md). */
#define PYCONV_WINO_SHARED_V_MIN 16384.0
/* Most tiles a call takes the fused micro-kernel for (measured: docs/winograd.md); at most
 * PYCONV_WINO_MIN_BLOCK, so that they are one block per thread. */
#define PYCONV_WINO_FUSED_MAX_TILES 8
/* Input channels per call of the fused micro-kernel: it loads and stores its accumulators once
 * a call, and reads the chunk's taps (CHUNK x 9 x NR values: 72 KiB, in L2) 6 times per vector
 * of the panel (at 512@7, batch 1, 1 thread, weights as given: 1.43-1.45 ms at 16 channels,
 * 1.38-1.42 at 32, 1.33-1.36 at 64; docs/winograd.md). */
#define PYCONV_WINO_FUSED_CHUNK 64
_Static_assert(PYCONV_WINO_FUSED_MAX_TILES <= PYCONV_WINO_MIN_BLOCK,
               "the fused calls' blocks are per thread");
/* Widest B micro-panel of any micro-kernel (gemm_config.h). */
#define PYCONV_WINO_MAX_NR 32
_Static_assert(PYCONV_REF_NR_f32 <= PYCONV_WINO_MAX_NR && PYCONV_AVX2_NR_f32 <= PYCONV_WINO_MAX_NR &&
                   PYCONV_AVX512_NR_f32 <= PYCONV_WINO_MAX_NR &&
                   PYCONV_AVX512X12_NR_f32 <= PYCONV_WINO_MAX_NR &&
                   PYCONV_NEON_NR_f32 <= PYCONV_WINO_MAX_NR,
               "the filter transform's panel buffer holds the widest micro-panel");

/* B^T d for the six values d0..d5: the input transform along one axis. */
#define PYCONV_WINO_BT(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                         \
    do {                                                                                       \
        const real s42 = (d4) - 4 * (d2), s31 = (d3) - 4 * (d1);                               \
        const real t42 = (d4) - (d2), t31 = 2 * ((d3) - (d1));                                 \
        (o0) = 4 * (d0) - 5 * (d2) + (d4);                                                     \
        (o1) = s42 + s31;                                                                      \
        (o2) = s42 - s31;                                                                      \
        (o3) = t42 + t31;                                                                      \
        (o4) = t42 - t31;                                                                      \
        (o5) = 4 * (d1) - 5 * (d3) + (d5);                                                     \
    } while (0)

/* A^T m for m0..m5: the output transform along one axis (four values). */
#define PYCONV_WINO_AT(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                 \
    do {                                                                                       \
        const real p12 = (m1) + (m2), n12 = (m1) - (m2);                                       \
        const real p34 = (m3) + (m4), n34 = (m3) - (m4);                                       \
        (o0) = (m0) + p12 + p34;                                                               \
        (o1) = n12 + 2 * n34;                                                                  \
        (o2) = p12 + 4 * p34;                                                                  \
        (o3) = n12 + 8 * n34 + (m5);                                                           \
    } while (0)

/* G g for the three taps g0..g2: the filter transform along one axis. */
#define PYCONV_WINO_G(g0, g1, g2, o0, o1, o2, o3, o4, o5)                                      \
    do {                                                                                       \
        const real q02 = (g0) + (g2), r02 = (g0) * (real)(1.0 / 24) + (g2) * (real)(1.0 / 6);  \
        (o0) = (g0) * (real)0.25;                                                              \
        (o1) = (q02 + (g1)) * (real)(-1.0 / 6);                                                \
        (o2) = (q02 - (g1)) * (real)(-1.0 / 6);                                                \
        (o3) = r02 + (g1) * (real)(1.0 / 12);                                                  \
        (o4) = r02 - (g1) * (real)(1.0 / 12);                                                  \
        (o5) = (g2);                                                                           \
    } while (0)

/* A run: ns consecutive tiles of one tile row, whose top-left input value is (r0, c0) of image
 * img (any sign: rows and columns outside it read as zeros), transformed into V columns
 * col .. col + ns - 1; column col + ns is left dead (a run's last patch reads two columns past
 * its 4 * ns, which the next run's transform must not share). */
typedef struct {
    int64_t img, r0, c0, col, ns;
} pyconv_wino_run;

/* The tiles of the output of s: along its height, its width, and in the batch. */
PYCONV_INLINE void pyconv_wino_tiles(const pyconv_conv_shape *s, int64_t *tiles_h,
                                     int64_t *tiles_w, int64_t *n_tiles)
{
    *tiles_h = (s->h_out + PYCONV_WINO_M - 1) / PYCONV_WINO_M;
    *tiles_w = (s->w_out + PYCONV_WINO_M - 1) / PYCONV_WINO_M;
    *n_tiles = s->n * *tiles_h * *tiles_w;
}

/* Tile t of the batch (numbered row-major over image, tile row, tile column): image, tile row,
 * tile column. */
PYCONV_INLINE void pyconv_wino_tile(int64_t tiles_h, int64_t tiles_w, int64_t t, int64_t *img,
                                    int64_t *ti, int64_t *tj)
{
    const int64_t per_image = tiles_h * tiles_w;
    *img = t / per_image;
    *ti = t % per_image / tiles_w;
    *tj = t % tiles_w;
}

/* The runs of tiles [t0, t0 + nb) of the convolution s into runs (their number returned), V's
 * columns they fill into *n_cols: tile t0 + t at column runs[q].col + u for the q-th run and
 * its u-th tile, tiles in order. */
PYCONV_INLINE int64_t pyconv_wino_runs(const pyconv_conv_shape *s, int64_t tiles_h,
                                       int64_t tiles_w, int64_t t0, int64_t nb,
                                       pyconv_wino_run *runs, int64_t *n_cols)
{
    int64_t n_runs = 0, cols = 0;
    for (int64_t t = 0; t < nb; n_runs++) {
        int64_t img, ti, tj;
        pyconv_wino_tile(tiles_h, tiles_w, t0 + t, &img, &ti, &tj);
        pyconv_wino_run *run = runs + n_runs;
        run->img = img;
        run->r0 = PYCONV_WINO_M * ti - s->pad_top;
        run->c0 = PYCONV_WINO_M * tj - s->pad_left;
        run->col = cols;
        run->ns = PYCONV_MIN(tiles_w - tj, nb - t);
        cols += run->ns + 1;
        t += run->ns;
    }
    *n_cols = cols;
    return n_runs;
}

/* Where the taps of filter f and input channel c of group g are, in the convolution the kernel
 * runs: from w + g * group + f * filter + c * channel, tap k of the 3x3 (row-major) at [k], or at
 * [8 - k] when flipped. The forward reads its own weights; the input gradient reads them as its
 * transposed convolution's flipped, transposed weights, without copying them. */
typedef struct {
    int64_t group, filter, channel;
    int flipped;
} pyconv_wino_weights;

/* One call's blocks and workspace (wino_layout): the run and the plan's workspace both come
 * from it. */
typedef struct {
    int64_t tiles_h, tiles_w, n_tiles;
    int64_t nb;           /* tiles per block, whole micro-tiles: M's rows */
    int64_t n_blocks, max_runs;
    /* each block's filter panels in this many parts, one task each (more than one when the
     * blocks are fewer than the threads: batch 1, small images) */
    int64_t splits;
    int64_t ldv;          /* V's row length: the block's tiles and one dead column per run */
    int64_t panels, ldc;  /* filters per group in NR-wide panels, and as many values */
    int64_t ldm;          /* M's row length: the filters of one task's panels */
    /* distances between consecutive elements e in U, V and M: a cache line more than their
     * data, so that the 36 elements' rows, read and written together, do not all map to the
     * same cache sets */
    int64_t u_estride, v_estride, m_estride;
    int64_t kc;           /* input channels of U per GEMM depth (a block's own U: fits L2) */
    int nt;               /* threads */
    int per_block;        /* each block transforms the filters it needs (U is not shared) */
    /* the products by the fused micro-kernel (gemm_internal.h), groups of tg tiles: V tile
     * group by tile group, channel-major (v[(t * c_in + c * tg) * 36 + e * tg + t % tg] for
     * tile t), from one channel's element-major V at a time (vt) */
    int fused;
    int64_t tg;
    /* with the panels split (splits > 1) and enough input transform to save, each block's V is
     * transformed once, by all threads, into the shared area (v_shared_at, v_block values a
     * block), before the tasks read it; otherwise each task transforms its block's V into its
     * own scratch */
    int shared_v;
    int64_t v_block;
    /* shared, in the calling thread's arena (slot GEMM_B): the channel offsets into V, then
     * the transformed filters unless per block */
    size_t off_bytes, u_shared_at, v_shared_at, shared_bytes;
    /* per thread (slot CONV_1): offsets of its parts, and its bytes */
    size_t u_at, v_at, vt_at, taps_at, m_at, ob_at, buf_at, runs_at, rows_at, work_bytes;
} pyconv_wino_layout;
#endif

/* The one-axis transforms applied elementwise along arrays of n values: out_k[q] is
 * transform output k of the inputs in_0[q], in_1[q], ... Every array is its own restrict
 * argument, so the loops vectorize without run-time overlap checks. */
PYCONV_SIMD_CLONES
static void FN(wino_bt_lines)(int64_t n, const real *PYCONV_RESTRICT d0,
                              const real *PYCONV_RESTRICT d1, const real *PYCONV_RESTRICT d2,
                              const real *PYCONV_RESTRICT d3,
                              const real *PYCONV_RESTRICT d4, const real *PYCONV_RESTRICT d5,
                              real *PYCONV_RESTRICT o0, real *PYCONV_RESTRICT o1,
                              real *PYCONV_RESTRICT o2, real *PYCONV_RESTRICT o3,
                              real *PYCONV_RESTRICT o4, real *PYCONV_RESTRICT o5)
{
    for (int64_t q = 0; q < n; q++)
        PYCONV_WINO_BT(d0[q], d1[q], d2[q], d3[q], d4[q], d5[q], o0[q], o1[q], o2[q], o3[q],
                       o4[q], o5[q]);
}

PYCONV_SIMD_CLONES
static void FN(wino_at_lines)(int64_t n, const real *PYCONV_RESTRICT m0,
                              const real *PYCONV_RESTRICT m1, const real *PYCONV_RESTRICT m2,
                              const real *PYCONV_RESTRICT m3,
                              const real *PYCONV_RESTRICT m4, const real *PYCONV_RESTRICT m5,
                              real *PYCONV_RESTRICT o0, real *PYCONV_RESTRICT o1,
                              real *PYCONV_RESTRICT o2, real *PYCONV_RESTRICT o3)
{
    for (int64_t q = 0; q < n; q++)
        PYCONV_WINO_AT(m0[q], m1[q], m2[q], m3[q], m4[q], m5[q], o0[q], o1[q], o2[q], o3[q]);
}

/* U = G g G^T for filters q < n along arrays: tap k of filter q at t_k[q], element e of its
 * 6x6 at u[e * estride + q]. The 36 stores' streams cannot overlap (estride >= n): simd says so,
 * which the vectorizer could not prove. */
PYCONV_SIMD_CLONES
static void FN(wino_filter_lines)(int64_t n, const real *PYCONV_RESTRICT t0,
                                  const real *PYCONV_RESTRICT t1, const real *PYCONV_RESTRICT t2,
                                  const real *PYCONV_RESTRICT t3, const real *PYCONV_RESTRICT t4,
                                  const real *PYCONV_RESTRICT t5, const real *PYCONV_RESTRICT t6,
                                  const real *PYCONV_RESTRICT t7, const real *PYCONV_RESTRICT t8,
                                  int64_t estride, real *PYCONV_RESTRICT u)
{
/* row i of U (elements 6i .. 6i + 5) from column i of G g */
#define PYCONV_WINO_U_ROW(i, x, y, z)                                                          \
    PYCONV_WINO_G(x, y, z, u[(6 * (i)) * estride + q], u[(6 * (i) + 1) * estride + q],        \
                  u[(6 * (i) + 2) * estride + q], u[(6 * (i) + 3) * estride + q],              \
                  u[(6 * (i) + 4) * estride + q], u[(6 * (i) + 5) * estride + q])
#pragma omp simd
    for (int64_t q = 0; q < n; q++) {
        real a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5, c0, c1, c2, c3, c4, c5;
        PYCONV_WINO_G(t0[q], t3[q], t6[q], a0, a1, a2, a3, a4, a5);
        PYCONV_WINO_G(t1[q], t4[q], t7[q], b0, b1, b2, b3, b4, b5);
        PYCONV_WINO_G(t2[q], t5[q], t8[q], c0, c1, c2, c3, c4, c5);
        PYCONV_WINO_U_ROW(0, a0, b0, c0);
        PYCONV_WINO_U_ROW(1, a1, b1, c1);
        PYCONV_WINO_U_ROW(2, a2, b2, c2);
        PYCONV_WINO_U_ROW(3, a3, b3, c3);
        PYCONV_WINO_U_ROW(4, a4, b4, c4);
        PYCONV_WINO_U_ROW(5, a5, b5, c5);
    }
#undef PYCONV_WINO_U_ROW
}

/* One call's arguments and the data its threads share. */

/* One call's arguments and the data its threads share. */
typedef struct {
    const pyconv_conv_shape *s;
    const real *x;
    const FN(pyconv_epilogue) *ep;
    real *y;
    const real *w;        /* the filters, laid out as wl says */
    pyconv_wino_weights wl;
    /* the filters packed for the implicit forward (pyconv_conv2d_pack_weight), or NULL: group
     * g's panel jp at w_packed + (g * panels + jp) * cin_g * 9 * nr, channel c's taps from
     * c * 9 * nr, NR filters each, the transposed layout the filter transform reads */
    const real *w_packed;
    real *u;              /* transformed filters (filter_transform), or NULL: per block (below) */
    real *v;              /* the blocks' V when shared (wino_layout), or NULL */
    const int64_t *off;   /* off[e * c_in + c] = e * v_estride + c * ldv: channel c of element e in V */
    pyconv_wino_layout l;
} FN(wino_args);

/* Channels [c0, c0 + nc) of the taps of filters [0, n_filters) of one panel (w pointing at
 * channel 0's taps of the first, laid out as wl says; packed: channel 0's taps in the packed
 * panel, or NULL) as a B panel, tap-major as the GEMM packs weights: tap k of filter r and
 * channel c0 + c at chunk[(c * 9 + k) * nr + r], copied from the packed weights or
 * transposed from the weights (pyconv_pack_rows). A copy's loads run ahead of the transform:
 * read by the transform itself, the packed taps came from memory a line at a time (slower than
 * the transpose; docs/winograd.md). */
static void FN(wino_chunk_taps)(const real *w, const pyconv_wino_weights *wl, const real *packed,
                                int64_t n_filters, int64_t nr, int64_t c0, int64_t nc,
                                real *chunk)
{
    const real *w0 = w + c0 * wl->channel;
    if (packed != NULL)
        memcpy(chunk, packed + c0 * 9 * nr, (size_t)(nc * 9 * nr) * sizeof(real));
    else if (wl->channel == 9) /* the chunk's taps are one run per filter */
        FN(pyconv_pack_rows)(w0, wl->filter, n_filters, 9 * nc, nr, chunk);
    else
        for (int64_t c = 0; c < nc; c++)
            FN(pyconv_pack_rows)(w0 + c * wl->channel, wl->filter, n_filters, 9, nr,
                                 chunk + c * 9 * nr);
}

/* Part `part` of `parts` of the taps of the chunk (of at most `chunk` channels) after [c0, c0 +
 * nc) (of kc channels; the arguments as wino_chunk_taps's), fetched into L2 while the current
 * chunk is used: the weights come from memory once per call, in runs too short for the
 * hardware prefetcher (docs/winograd.md). They lie in rows: per filter (the forward's taps),
 * or per channel (the packed panel's, the input gradient's flipped weights). */
static void FN(wino_fetch_next_chunk)(const real *w, const pyconv_wino_weights *wl,
                                      const real *packed, int64_t n_filters, int64_t nr,
                                      int64_t kc, int64_t chunk, int64_t c0, int64_t nc,
                                      int64_t part, int64_t parts)
{
    const int64_t nc_next = PYCONV_MIN(chunk, kc - c0 - nc);
    if (nc_next <= 0) return;
    const int by_filter = packed == NULL && wl->channel == 9;
    const real *next = packed != NULL ? packed + (c0 + nc) * 9 * nr : w + (c0 + nc) * wl->channel;
    const int64_t n_rows = by_filter ? n_filters : nc_next;
    const int64_t row_stride = by_filter ? wl->filter : packed != NULL ? 9 * nr : wl->channel;
    const int64_t row_len = by_filter ? 9 * nc_next : packed != NULL ? 9 * nr : 9 * n_filters;
    for (int64_t r = part * n_rows / parts; r < (part + 1) * n_rows / parts; r++)
        for (int64_t i = 0; i < row_len; i += PYCONV_ALIGN / (int64_t)sizeof(real))
            __builtin_prefetch(next + r * row_stride + i, 0, 2);
}

/* The transformed taps U = G g G^T of filters [0, n_filters) of one panel and input channels
 * [0, kc) (the arguments as wino_chunk_taps's): element e of filter r and channel c goes to
 * u[e * estride + c * nr + r]; the panel's columns past n_filters (of nr) are zero. The
 * transform runs along vectors across the filters, PYCONV_WINO_CHUNK channels at a time in L1,
 * while the next chunk's taps are fetched a share per channel. */
static void FN(wino_filter_panel)(const real *w, const pyconv_wino_weights *wl, const real *packed,
                                  int64_t n_filters, int64_t nr, int64_t kc, int64_t estride,
                                  real *u)
{
    real chunk[PYCONV_WINO_CHUNK * 9 * PYCONV_WINO_MAX_NR];
    for (int64_t c0 = 0; c0 < kc; c0 += PYCONV_WINO_CHUNK) {
        const int64_t nc = PYCONV_MIN(PYCONV_WINO_CHUNK, kc - c0);
        FN(wino_chunk_taps)(w, wl, packed, n_filters, nr, c0, nc, chunk);
        for (int64_t c = 0; c < nc; c++) {
            FN(wino_fetch_next_chunk)(w, wl, packed, n_filters, nr, kc, PYCONV_WINO_CHUNK, c0,
                                      nc, c, nc);
            const real *t = chunk + c * 9 * nr;
#define PYCONV_WINO_TAP(k) (t + (wl->flipped ? 8 - (k) : (k)) * nr)
            FN(wino_filter_lines)(nr, PYCONV_WINO_TAP(0), PYCONV_WINO_TAP(1), PYCONV_WINO_TAP(2),
                                  PYCONV_WINO_TAP(3), PYCONV_WINO_TAP(4), PYCONV_WINO_TAP(5),
                                  PYCONV_WINO_TAP(6), PYCONV_WINO_TAP(7), PYCONV_WINO_TAP(8),
                                  estride, u + (c0 + c) * nr);
#undef PYCONV_WINO_TAP
        }
    }
}

/* Channel c's taps in panel jp of group g of the packed weights, or NULL without them. */
static const real *FN(wino_packed_taps)(const FN(wino_args) *a, int64_t g, int64_t jp, int64_t c,
                                        int64_t nr)
{
    if (a->w_packed == NULL) return NULL;
    const int64_t cin_g = a->s->c_in / a->s->groups;
    return a->w_packed + ((g * a->l.panels + jp) * cin_g + c) * 9 * nr;
}

/* Items [lo, hi) of U for every group, element and input channel, as B micro-panels (the
 * K x NR layout the forward's packed weights have, K = input channels of the group):
 *     u[(g * 36 + e) * u_estride + (jp * cin_g + c) * nr + r] = U_e(c, filter jp * nr + r of g)
 * item (g, jp, q) being one panel jp of group g and its channels' q-th PYCONV_WINO_CHUNK. The
 * runner flushes to zero as where the blocks transform their own: the same U at any thread
 * count. */
static pyconv_status FN(wino_filter_items)(const void *ctx, int64_t lo, int64_t hi,
                                           const pyconv_thread *th)
{
    (void)th;
    const FN(wino_args) *a = (const FN(wino_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t nr = pyconv_gemm_active_arch()->FN(blocking).nr, panels = a->l.panels;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t chunks = (cin_g + PYCONV_WINO_CHUNK - 1) / PYCONV_WINO_CHUNK;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t g = item / (panels * chunks), jp = item / chunks % panels;
        const int64_t c = item % chunks * PYCONV_WINO_CHUNK, f0 = jp * nr;
        FN(wino_filter_panel)(a->w + g * a->wl.group + f0 * a->wl.filter + c * a->wl.channel,
                              &a->wl, FN(wino_packed_taps)(a, g, jp, c, nr),
                              PYCONV_MIN(nr, cout_g - f0), nr,
                              PYCONV_MIN(PYCONV_WINO_CHUNK, cin_g - c), a->l.u_estride,
                              a->u + g * PYCONV_WINO_ELEMS * a->l.u_estride +
                                  (jp * cin_g + c) * nr);
    }
    return PYCONV_OK;
}

/* V of one input channel (x_c: its plane in image 0) for the block's runs, which fill columns
 * [0, n_cols): the transformed 6x6 patch of the tile in column u has element e at
 * v[e * vstride + u]. buf holds 3 * 6 * 4 * n_cols values. The patches overlap by two columns,
 * so each run's six input rows are copied (zero-padded) once, side by side; then, across all
 * the block's columns at once (long contiguous loops, whatever the image width): split into the
 * four column phases (input column 4u + p at phase p, column u), transformed along the rows of
 * the patch, then along its columns. */
static void FN(wino_input_channel)(const pyconv_conv_shape *s, const real *PYCONV_RESTRICT x_c,
                                   const pyconv_wino_run *runs, int64_t n_runs, int64_t n_cols,
                                   real *PYCONV_RESTRICT buf, real *PYCONV_RESTRICT v,
                                   int64_t vstride)
{
    const int64_t width = 4 * n_cols, w_in = s->w_in;
    real *line = buf, *phases = buf + 6 * width, *cols = phases + 6 * width;
    for (int64_t q = 0; q < n_runs; q++) {
        const pyconv_wino_run *run = runs + q;
        const int64_t len = 4 * (run->ns + 1), c0 = run->c0;
        const int64_t lo = PYCONV_MAX(c0, 0), hi = PYCONV_MIN(c0 + len, w_in);
        const real *plane = x_c + run->img * s->c_in * s->h_in * w_in;
        for (int64_t i = 0; i < 6; i++) {
            real *dst = line + i * width + 4 * run->col;
            const int64_t r = run->r0 + i;
            if (r < 0 || r >= s->h_in || hi <= lo) {
                memset(dst, 0, (size_t)len * sizeof(real));
                continue;
            }
            memset(dst, 0, (size_t)(lo - c0) * sizeof(real));
            memcpy(dst + (lo - c0), plane + r * w_in + lo, (size_t)(hi - lo) * sizeof(real));
            memset(dst + (hi - c0), 0, (size_t)(c0 + len - hi) * sizeof(real));
        }
    }
    for (int64_t i = 0; i < 6; i++) {
        const real *src = line + i * width;
        real *p = phases + i * width;
        for (int64_t u = 0; u < n_cols; u++) {
            p[u] = src[4 * u];
            p[n_cols + u] = src[4 * u + 1];
            p[2 * n_cols + u] = src[4 * u + 2];
            p[3 * n_cols + u] = src[4 * u + 3];
        }
    }
    FN(wino_bt_lines)(width, phases, phases + width, phases + 2 * width, phases + 3 * width,
                      phases + 4 * width, phases + 5 * width, cols, cols + width, cols + 2 * width,
                      cols + 3 * width, cols + 4 * width, cols + 5 * width);
    /* the last column is dead: no column past it to read */
    for (int64_t k = 0; k < 6; k++) {
        const real *t = cols + k * width;
        real *vk = v + k * 6 * vstride;
        FN(wino_bt_lines)(n_cols - 1, t, t + n_cols, t + 2 * n_cols, t + 3 * n_cols, t + 1,
                          t + n_cols + 1, vk, vk + vstride, vk + 2 * vstride, vk + 3 * vstride,
                          vk + 4 * vstride, vk + 5 * vstride);
    }
}

/* The 4x4 outputs of one tile for filters [0, n_filters) from their 36 elements
 * (m[e * estride + oc]): output (i, j) of filter oc goes to ob[(i * 4 + j) * ldo + oc]; tmp
 * holds 24 * ldo values. */
static void FN(wino_output_tile)(const real *m, int64_t estride, int64_t n_filters, real *tmp,
                                 real *ob, int64_t ldo)
{
    /* along the rows of the 6x6 tile: tmp[(k * 4 + j) * ldo + oc] */
    for (int64_t k = 0; k < 6; k++) {
        const real *mk = m + k * 6 * estride;
        real *tk = tmp + k * 4 * ldo;
        FN(wino_at_lines)(n_filters, mk, mk + estride, mk + 2 * estride, mk + 3 * estride,
                          mk + 4 * estride, mk + 5 * estride, tk, tk + ldo, tk + 2 * ldo,
                          tk + 3 * ldo);
    }
    /* then along its columns */
    for (int64_t j = 0; j < 4; j++) {
        const real *tj = tmp + j * ldo;
        FN(wino_at_lines)(n_filters, tj, tj + 4 * ldo, tj + 8 * ldo, tj + 12 * ldo, tj + 16 * ldo,
                          tj + 20 * ldo, ob + j * ldo, ob + (4 + j) * ldo, ob + (8 + j) * ldo,
                          ob + (12 + j) * ldo);
    }
}

/* Per-thread workspace of one block. */
typedef struct {
    real *v;            /* 36 x c_in x ldv: the transformed input, element-major; or, fused,
                           grouped as wino_layout says */
    real *vt;           /* fused: 36 x ldv, one channel's V, element-major */
    real *taps;         /* fused: a chunk of a panel's taps, PYCONV_WINO_FUSED_CHUNK x 9 x NR */
    real *m;            /* 36 x mpad x ldm: one group's products for the task's filters */
    real *u;            /* 36 x u_estride: one panel's and KC channels' transformed filters,
                           when they are not transformed once for all blocks */
    real *ob;           /* 40 x ldm: one tile's outputs, and their partial transform */
    real *buf;          /* the input transform's rows */
    const real **rows;  /* mpad row pointers into V, one per tile */
    pyconv_wino_run *runs;
} FN(wino_work);

/* M of panel jp of group g (its columns at panel jp - jp_lo of M) for the block's nb tiles by
 * the fused micro-kernel: the panel's taps PYCONV_WINO_FUSED_CHUNK channels at a time, each
 * chunk run over every group of tg tiles while the next one is fetched. */
static void FN(wino_fused_panel)(const FN(wino_args) *a, const FN(wino_work) *wk, const real *v,
                                 int64_t nb, int64_t g, int64_t jp, int64_t jp_lo)
{
    const pyconv_conv_shape *s = a->s;
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const FN(pyconv_ukernel_wino) ukernel = arch->FN(ukernel_wino);
    const int64_t nr = arch->FN(blocking).nr, tg = a->l.tg;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups, f0 = jp * nr;
    const real *w = a->w + g * a->wl.group + f0 * a->wl.filter;
    const real *packed = FN(wino_packed_taps)(a, g, jp, 0, nr);
    const int64_t n_filters = PYCONV_MIN(nr, cout_g - f0);
    for (int64_t c0 = 0; c0 < cin_g; c0 += PYCONV_WINO_FUSED_CHUNK) {
        const int64_t nc = PYCONV_MIN(PYCONV_WINO_FUSED_CHUNK, cin_g - c0);
        /* the packed panel's taps are read in place: one contiguous run, which the hardware
         * prefetcher follows */
        const real *taps = wk->taps;
        if (packed != NULL) {
            taps = packed + c0 * 9 * nr;
        } else {
            FN(wino_chunk_taps)(w, &a->wl, packed, n_filters, nr, c0, nc, wk->taps);
            FN(wino_fetch_next_chunk)(w, &a->wl, packed, n_filters, nr, cin_g,
                                      PYCONV_WINO_FUSED_CHUNK, c0, nc, 0, 1);
        }
        for (int64_t t = 0; t < nb; t += tg)
            ukernel(nc, taps, a->wl.flipped,
                    v + t * s->c_in * PYCONV_WINO_ELEMS + (g * cin_g + c0) * PYCONV_WINO_ELEMS * tg,
                    c0 == 0 ? 0 : 1, wk->m + t * a->l.ldm + (jp - jp_lo) * nr, a->l.m_estride,
                    a->l.ldm);
    }
}

/* The runs of tiles [t0, t0 + nb) into wk->runs (their number returned, V's columns into
 * *n_cols), and each tile's row pointer into V (v: the block's) into wk->rows. */
static int64_t FN(wino_block_tiles)(const FN(wino_args) *a, const FN(wino_work) *wk, int64_t t0,
                                    int64_t nb, const real *v, int64_t *n_cols)
{
    int64_t tile = 0;
    const int64_t n_runs =
        pyconv_wino_runs(a->s, a->l.tiles_h, a->l.tiles_w, t0, nb, wk->runs, n_cols);
    for (int64_t q = 0; q < n_runs; q++)
        for (int64_t u = 0; u < wk->runs[q].ns; u++) wk->rows[tile++] = v + wk->runs[q].col + u;
    return n_runs;
}

/* Input channels [c_lo, c_hi) of the V of tiles [t0, t0 + nb) into v, laid out as wino_layout
 * says (fused: each channel's V element-major into vt, then into its tile groups', tiles past the
 * block's last, up to a whole group, zero). */
static void FN(wino_block_input)(const FN(wino_args) *a, const FN(wino_work) *wk, int64_t t0,
                                 int64_t nb, int64_t c_lo, int64_t c_hi, real *v)
{
    const pyconv_conv_shape *s = a->s;
    const int64_t plane_in = s->h_in * s->w_in, ldv = a->l.ldv;
    int64_t n_cols;
    const int64_t n_runs = FN(wino_block_tiles)(a, wk, t0, nb, v, &n_cols);
    for (int64_t c = c_lo; c < c_hi; c++) {
        if (!a->l.fused) {
            FN(wino_input_channel)(s, a->x + c * plane_in, wk->runs, n_runs, n_cols, wk->buf,
                                   v + c * ldv, a->l.v_estride);
            continue;
        }
        const int64_t tg = a->l.tg;
        FN(wino_input_channel)(s, a->x + c * plane_in, wk->runs, n_runs, n_cols, wk->buf, wk->vt,
                               ldv);
        for (int64_t t = 0; t < a->l.nb; t++) {
            real *vt = v + (t / tg * s->c_in + c) * PYCONV_WINO_ELEMS * tg + t % tg;
            const real *col = wk->vt + (t < nb ? wk->rows[t] - v : 0);
            for (int64_t e = 0; e < PYCONV_WINO_ELEMS; e++)
                vt[e * tg] = t < nb ? col[e * ldv] : (real)0;
        }
    }
}

/* Tiles [t0, t0 + nb) of the batch, filter panels [jp_lo, jp_hi) of every group; v: the block's
 * V when shared, NULL to transform it here. */
static void FN(wino_block)(const FN(wino_args) *a, const FN(wino_work) *wk, int64_t t0, int64_t nb,
                           int64_t jp_lo, int64_t jp_hi, const real *v)
{
    const pyconv_conv_shape *s = a->s;
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const FN(pyconv_ukernel_gather) ukernel = arch->FN(ukernel_gather);
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr, ldm = a->l.ldm;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t plane_out = s->h_out * s->w_out;
    if (v == NULL) {
        FN(wino_block_input)(a, wk, t0, nb, 0, s->c_in, wk->v);
        v = wk->v;
    } else {
        int64_t n_cols;
        FN(wino_block_tiles)(a, wk, t0, nb, v, &n_cols);
    }
    for (int64_t g = 0; g < s->groups; g++) {
        /* M_e = V_e @ U_e: by the fused micro-kernel, or KC channels at a time, NR filters
         * (their panel stays in L1) times MR tiles gathered from V */
        for (int64_t jp = jp_lo; jp < jp_hi; jp++) {
            if (a->l.fused) {
                FN(wino_fused_panel)(a, wk, v, nb, g, jp, jp_lo);
                continue;
            }
            for (int64_t pc = 0; pc < cin_g; pc += a->l.kc) {
                const int64_t kc = PYCONV_MIN(a->l.kc, cin_g - pc);
                /* U of this panel and these channels: from the call's transformed filters, or
                 * transformed here (into L2) when the block is its thread's only one */
                const real *u = wk->u;
                if (a->u != NULL) {
                    u = a->u + g * PYCONV_WINO_ELEMS * a->l.u_estride + (jp * cin_g + pc) * nr;
                } else {
                    const int64_t f0 = jp * nr;
                    FN(wino_filter_panel)(a->w + g * a->wl.group + f0 * a->wl.filter +
                                              pc * a->wl.channel,
                                          &a->wl, FN(wino_packed_taps)(a, g, jp, pc, nr),
                                          PYCONV_MIN(nr, cout_g - f0), nr, kc, a->l.u_estride,
                                          wk->u);
                }
                for (int64_t e = 0; e < PYCONV_WINO_ELEMS; e++) {
                    const int64_t *off = a->off + e * s->c_in + g * cin_g + pc;
                    real *m_e = wk->m + e * a->l.m_estride + (jp - jp_lo) * nr;
                    for (int64_t t = 0; t < nb; t += mr)
                        ukernel(PYCONV_MIN(mr, nb - t), kc, off, wk->rows + t,
                                u + e * a->l.u_estride, pc == 0 ? 0 : 1, m_e + t * ldm, ldm,
                                PYCONV_NO_PREFETCH);
                }
            }
        }
        /* output transform of filters [f_lo, f_hi), tile by tile, into y (the part of the tile
         * inside it), through the output stage */
        const int64_t f_lo = jp_lo * nr, f_hi = PYCONV_MIN(jp_hi * nr, cout_g);
        const FN(pyconv_epilogue) *ep = a->ep;
        const real *bias = ep->bias != NULL ? ep->bias + g * cout_g : NULL;
        const int fused = FN(epilogue_fused)(ep);
        for (int64_t t = 0; t < nb; t++) {
            int64_t img, ti, tj;
            pyconv_wino_tile(a->l.tiles_h, a->l.tiles_w, t0 + t, &img, &ti, &tj);
            const int64_t oh = PYCONV_WINO_M * ti, ow = PYCONV_WINO_M * tj;
            const int64_t hv = PYCONV_MIN(PYCONV_WINO_M, s->h_out - oh);
            const int64_t wv = PYCONV_MIN(PYCONV_WINO_M, s->w_out - ow);
            FN(wino_output_tile)(wk->m + t * ldm, a->l.m_estride, f_hi - f_lo, wk->ob + 16 * ldm,
                                 wk->ob, ldm);
            const int64_t at = (img * s->c_out + g * cout_g) * plane_out + oh * s->w_out + ow;
            for (int64_t oc = f_lo; oc < f_hi; oc++) {
                const real b = bias != NULL ? bias[oc] : (real)0;
                for (int64_t i = 0; i < hv; i++) {
                    const int64_t row = at + oc * plane_out + i * s->w_out;
                    for (int64_t j = 0; j < wv; j++)
                        a->y[row + j] = wk->ob[(i * 4 + j) * ldm + oc - f_lo] + b;
                    if (fused)
                        FN(finish_run)(a->y + row, ep->residual ? ep->residual + row : NULL, wv,
                                       ep->activation);
                }
            }
        }
    }
}

/* The blocks and workspace of the convolution s (3x3, stride 1, dilation 1, its output not
 * empty, input channels in every group) on up to n_threads threads. */
static pyconv_wino_layout FN(wino_layout)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_gemm_arch *arch = pyconv_gemm_active_arch();
    const pyconv_gemm_blocking blk = arch->FN(blocking);
    const int64_t mr = blk.mr, nr = blk.nr;
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    pyconv_wino_layout l;
    pyconv_wino_tiles(s, &l.tiles_h, &l.tiles_w, &l.n_tiles);
    l.panels = (cout_g + nr - 1) / nr;
    l.ldc = l.panels * nr;
    /* the work splits over tiles and, within a block, over filter panels (below): one 7x7
     * image's 4 tiles of 512 filters are 64 parts, not 4 */
    int nt = pyconv_threads_for(
        (double)PYCONV_WINO_ELEMS * (double)l.n_tiles * (double)cin_g * (double)s->c_out,
        l.n_tiles * l.panels, n_threads);
    /* blocks: as large as PYCONV_WINO_BLOCK_BYTES allows (but not so small that streaming U
     * once per block dominates); at least one per thread, or, when the tiles do not make that
     * many whole blocks, each block's filter panels split over the threads first and its tiles
     * only for the rest: every block transforms the filters its panels need, so splitting the
     * tiles further would transform them again, splitting the panels does not */
    const int64_t tile_bytes = PYCONV_WINO_ELEMS * (2 * s->c_in + l.ldc) * (int64_t)sizeof(real);
    int64_t nb = PYCONV_MAX(PYCONV_WINO_BLOCK_BYTES / tile_bytes, PYCONV_WINO_MIN_BLOCK);
    nb = PYCONV_MIN(nb, PYCONV_WINO_MAX_BLOCK);
    const int64_t whole_blocks = (l.n_tiles + nb - 1) / nb;
    l.splits = 1;
    if (whole_blocks < nt) {
        l.splits = PYCONV_MIN(l.panels, nt);
        const int64_t blocks = PYCONV_MAX(whole_blocks, (nt + l.splits - 1) / l.splits);
        nb = (l.n_tiles + blocks - 1) / blocks;
    } else {
        nb = PYCONV_MIN(nb, (l.n_tiles + nt - 1) / nt);
    }
    const int64_t nb_tiles = nb;
    l.nb = nb = (nb + mr - 1) / mr * mr;
    l.n_blocks = (l.n_tiles + nb - 1) / nb;
    /* With one block per thread, or a U too large to stay in the shared cache, each thread
     * transforms the filters panel by panel into L2 as its block needs them: U (4x the weights)
     * then never goes to memory and back. Otherwise U is transformed once, by all threads, for
     * all blocks. */
    const double u_all = (double)PYCONV_WINO_ELEMS * (double)s->c_in * (double)cout_g * sizeof(real);
    l.per_block = l.n_blocks <= nt || u_all > PYCONV_WINO_SHARED_U_BYTES;
    /* A call of few tiles takes the fused micro-kernel where there is one: U never leaves the
     * registers (its blocks then in whole tile groups). Chosen by the call's tiles, not the
     * block's, so that every thread count runs the same path (bit-identical results); with so
     * few tiles there is at most one block per thread, each transforming its own filters
     * (per_block). */
    l.tg = arch->wino_tiles;
    l.fused = arch->FN(ukernel_wino) != NULL && l.n_tiles <= PYCONV_WINO_FUSED_MAX_TILES;
    if (l.fused) {
        l.nb = nb = (nb_tiles + l.tg - 1) / l.tg * l.tg;
        l.n_blocks = (l.n_tiles + nb - 1) / nb;
    }
    /* a block of nb tiles spans at most (nb - 1) / tiles_w + 2 tile rows: one run each */
    l.max_runs = PYCONV_MIN(nb, (nb - 1) / l.tiles_w + 2);
    l.ldv = nb + l.max_runs;
    l.nt = (int)PYCONV_MIN((int64_t)nt, l.n_blocks * l.splits);
    const int64_t line = PYCONV_ALIGN / (int64_t)sizeof(real);
    const int64_t kc_l2 = PYCONV_WINO_BLOCK_U_BYTES /
                          (PYCONV_WINO_ELEMS * nr * (int64_t)sizeof(real)) / PYCONV_WINO_CHUNK *
                          PYCONV_WINO_CHUNK;
    l.kc = l.per_block ? PYCONV_MAX(PYCONV_WINO_CHUNK, PYCONV_MIN(blk.kc, kc_l2)) : blk.kc;
    l.u_estride = (l.per_block ? PYCONV_MIN(l.kc, cin_g) : l.panels * cin_g) * nr + line;
    l.v_estride = s->c_in * l.ldv + line;
    l.ldm = (l.panels + l.splits - 1) / l.splits * nr;
    l.m_estride = nb * l.ldm + line;

    l.shared_v = l.splits > 1 &&
                 (double)(l.splits - 1) * (double)nb * (double)s->c_in >= PYCONV_WINO_SHARED_V_MIN;
    l.v_block =
        (PYCONV_WINO_ELEMS * (l.fused ? nb * s->c_in : l.v_estride) + line - 1) / line * line;

    const size_t u_bytes = (size_t)(PYCONV_WINO_ELEMS * l.u_estride) * sizeof(real);
    const size_t v_bytes = (size_t)l.v_block * sizeof(real);
    /* the GEMM path's channel offsets into V (the fused kernel reads its V by position) */
    l.off_bytes = l.fused ? 0 : (size_t)(PYCONV_WINO_ELEMS * s->c_in) * sizeof(int64_t);
    /* the shared area: channel offsets, the transformed filters unless per block, the blocks'
     * V when shared; U aligned, as the micro-kernel reads its B panels (u_estride keeps them so) */
    size_t shared = 0;
    pyconv_layout_part(&shared, l.off_bytes);
    l.u_shared_at = pyconv_layout_part(&shared, l.per_block ? 0 : (size_t)s->groups * u_bytes);
    l.v_shared_at = pyconv_layout_part(&shared, l.shared_v ? (size_t)l.n_blocks * v_bytes : 0);
    l.shared_bytes = shared;
    /* per thread: U first, aligned */
    size_t bytes = 0;
    l.u_at = pyconv_layout_part(&bytes, l.per_block && !l.fused ? u_bytes : 0);
    l.v_at = pyconv_layout_part(&bytes, l.shared_v ? 0 : v_bytes);
    const size_t vt_bytes = (size_t)(PYCONV_WINO_ELEMS * l.ldv) * sizeof(real);
    const size_t taps_bytes = (size_t)(PYCONV_WINO_FUSED_CHUNK * 9 * nr) * sizeof(real);
    l.vt_at = pyconv_layout_part(&bytes, l.fused ? vt_bytes : 0);
    l.taps_at = pyconv_layout_part(&bytes, l.fused ? taps_bytes : 0);
    l.m_at = pyconv_layout_part(&bytes, (size_t)(PYCONV_WINO_ELEMS * l.m_estride) * sizeof(real));
    l.ob_at = pyconv_layout_part(&bytes, (size_t)(40 * l.ldm) * sizeof(real));
    l.buf_at = pyconv_layout_part(&bytes, (size_t)(3 * 6 * 4 * l.ldv) * sizeof(real));
    l.runs_at = pyconv_layout_part(&bytes, (size_t)l.max_runs * sizeof(pyconv_wino_run));
    l.rows_at = pyconv_layout_part(&bytes, (size_t)nb * sizeof(real *));
    l.work_bytes = bytes;
    return l;
}

/* A thread's workspace in its scratch, laid out as wino_layout says. */
static FN(wino_work) FN(wino_work_of)(const pyconv_wino_layout *l, const pyconv_thread *th)
{
    char *base = (char *)th->scratch;
    const FN(wino_work) wk = {(real *)(base + l->v_at), (real *)(base + l->vt_at),
                              (real *)(base + l->taps_at), (real *)(base + l->m_at),
                              (real *)(base + l->u_at), (real *)(base + l->ob_at),
                              (real *)(base + l->buf_at), (const real **)(base + l->rows_at),
                              (pyconv_wino_run *)(base + l->runs_at)};
    return wk;
}

/* Items [lo, hi) of the shared V: item q is input channels [c, c + PYCONV_WINO_CHUNK) of block
 * q / chunks, c = q % chunks * PYCONV_WINO_CHUNK. */
static pyconv_status FN(wino_input_items)(const void *ctx, int64_t lo, int64_t hi,
                                          const pyconv_thread *th)
{
    const FN(wino_args) *a = (const FN(wino_args) *)ctx;
    const pyconv_wino_layout *l = &a->l;
    const FN(wino_work) wk = FN(wino_work_of)(l, th);
    const int64_t c_in = a->s->c_in, chunks = (c_in + PYCONV_WINO_CHUNK - 1) / PYCONV_WINO_CHUNK;
    for (int64_t q = lo; q < hi; q++) {
        const int64_t b = q / chunks, c = q % chunks * PYCONV_WINO_CHUNK;
        FN(wino_block_input)(a, &wk, b * l->nb, PYCONV_MIN(l->nb, l->n_tiles - b * l->nb), c,
                             PYCONV_MIN(c + PYCONV_WINO_CHUNK, c_in), a->v + b * l->v_block);
    }
    return PYCONV_OK;
}

/* Tasks [lo, hi) on one thread: task q is part q % splits of block q / splits's filter panels. */
static pyconv_status FN(wino_blocks)(const void *ctx, int64_t lo, int64_t hi,
                                     const pyconv_thread *th)
{
    const FN(wino_args) *a = (const FN(wino_args) *)ctx;
    const pyconv_wino_layout *l = &a->l;
    const FN(wino_work) wk = FN(wino_work_of)(l, th);
    for (int64_t q = lo; q < hi; q++) {
        const int64_t b = q / l->splits, part = q % l->splits;
        FN(wino_block)(a, &wk, b * l->nb, PYCONV_MIN(l->nb, l->n_tiles - b * l->nb),
                       part * l->panels / l->splits, (part + 1) * l->panels / l->splits,
                       l->shared_v ? a->v + b * l->v_block : NULL);
    }
    return PYCONV_OK;
}

/* The convolution s of x with the filters w (laid out as wl says), through the output stage ep;
 * s as wino_layout asks. */
static pyconv_status FN(winograd_run)(const pyconv_conv_shape *s, const real *x, const real *w,
                                      pyconv_wino_weights wl, const real *w_packed,
                                      const FN(pyconv_epilogue) *ep, real *y, int n_threads)
{
    FN(wino_args) a = {.s = s, .x = x, .ep = ep, .y = y, .w = w, .wl = wl, .w_packed = w_packed,
                       .l = FN(wino_layout)(s, n_threads)};
    /* shared, in the calling thread's arena: the channel offsets into V (GEMM path), the
     * transformed filters unless per block, the blocks' V when shared */
    int64_t *off = (int64_t *)pyconv_arena_get(PYCONV_ARENA_GEMM_B, a.l.shared_bytes);
    if (off == NULL) return PYCONV_ERR_NOMEM;
    for (int64_t e = 0; !a.l.fused && e < PYCONV_WINO_ELEMS; e++)
        for (int64_t c = 0; c < s->c_in; c++)
            off[e * s->c_in + c] = e * a.l.v_estride + c * a.l.ldv;
    a.off = off;
    if (!a.l.per_block) {
        a.u = (real *)((char *)off + a.l.u_shared_at);
        const int64_t cin_g = s->c_in / s->groups;
        const pyconv_status st = pyconv_parallel_for(
            s->groups * a.l.panels * ((cin_g + PYCONV_WINO_CHUNK - 1) / PYCONV_WINO_CHUNK),
            (double)s->c_out * (double)s->c_in * 64.0, n_threads, FN(wino_filter_items), &a,
            PYCONV_NO_SCRATCH);
        if (st != PYCONV_OK) return st;
    }
    if (a.l.shared_v) {
        /* each block's V once, its channels split over the threads, rather than once per part
         * of its panels: at batch 1 on 16 threads the input transform was done 16 times */
        a.v = (real *)((char *)off + a.l.v_shared_at);
        const pyconv_status st = pyconv_parallel_for(
            a.l.n_blocks * ((s->c_in + PYCONV_WINO_CHUNK - 1) / PYCONV_WINO_CHUNK),
            (double)PYCONV_WINO_ELEMS * (double)a.l.n_tiles * (double)s->c_in * 16.0, a.l.nt,
            FN(wino_input_items), &a, (pyconv_scratch){PYCONV_ARENA_CONV_1, a.l.work_bytes});
        if (st != PYCONV_OK) return st;
    }
    const double work = (double)PYCONV_WINO_ELEMS * (double)a.l.n_tiles *
                        (double)(s->c_in / s->groups) * (double)s->c_out;
    return pyconv_parallel_for(a.l.n_blocks * a.l.splits, work, a.l.nt, FN(wino_blocks), &a,
                               (pyconv_scratch){PYCONV_ARENA_CONV_1, a.l.work_bytes});
}

pyconv_status FN(pyconv_forward_winograd)(const pyconv_conv_shape *s, const real *x, const real *w,
                                          const real *packed, const FN(pyconv_epilogue) *ep,
                                          real *y, int n_threads)
{
    /* s's own filters: filter f of group g, channel c at
     * w + (g * cout_g + f) * cin_g * 9 + c * 9 */
    const int64_t cin_g = s->c_in / s->groups;
    const pyconv_wino_weights wl = {s->c_out / s->groups * cin_g * 9, cin_g * 9, 9, 0};
    return FN(winograd_run)(s, x, w, wl, packed, ep, y, n_threads);
}

/* The stride-1 input gradient is the forward of gy with flipped, transposed weights
 * (pyconv_input_as_forward), read in place; its padding may come out negative (padding beyond
 * two), which the forward reads as a crop. */
pyconv_status FN(pyconv_input_winograd)(const pyconv_conv_shape *s, const real *w, const real *gy,
                                        real *gx, int n_threads)
{
    pyconv_conv_shape t;
    pyconv_input_as_forward(s, &t);
    /* filter f of t is input channel f of s, channel c of t is filter c of s */
    const int64_t cin_g = s->c_in / s->groups;
    const pyconv_wino_weights wl = {s->c_out / s->groups * cin_g * 9, 9, cin_g * 9, 1};
    const FN(pyconv_epilogue) none = {NULL, NULL, PYCONV_ACT_NONE};
    return FN(winograd_run)(&t, gy, w, wl, NULL, &none, gx, n_threads);
}

double FN(pyconv_winograd_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_wino_layout l = FN(wino_layout)(s, n_threads);
    return (double)l.shared_bytes + (double)l.nt * (double)l.work_bytes;
}
