/* Depthwise convolution template (groups == c_in == c_out, method PYCONV_METHOD_DEPTHWISE):
 * forward with the output stage (conv/epilogue_t.h), input gradient, weight gradient;
 * instantiated by depthwise.c.
 *
 * Each (image, channel) plane is first copied into a zero-padded buffer in the thread's scratch
 * (pyconv_dw_plane), so no loop tests bounds: every output is the same list of taps, each tap
 * an offset into the buffer. The padding positions are the same for every plane of a call, so
 * a task zeroes its buffer once and each copy only overwrites the values. A tile of R output
 * rows x B columns keeps its sums in registers across all taps and is stored once; B is a
 * multiple of a 256-bit vector, and narrow planes take more rows per tile, so every tile has
 * eight independent vector sums (the multiply-add latency times its throughput). The loads,
 * not the multiply-adds, bound a tile: a 3x3 kernel whose taps are a grid (dw_grid: MobileNet's
 * stride 1 and 2, and the stride-1 input gradient) loads each buffer row once per column tap
 * for all the tile rows that read it, 48 loads instead of 72 per 2 x 4-vector tile. Narrow
 * planes leave most of such a vector empty, so the forward pass takes them a block of channels
 * at a time instead, one channel per lane (dw_forward_block).
 *
 * Strided reads are made contiguous by splitting the buffer's columns by phase (column c goes
 * to row c % stride). The strided input gradient is split the other way round: the positions
 * ih = ih0 + k*sh, iw = iw0 + q*sw of one phase (ih0, iw0) each sum the same taps (those whose
 * output lands on the stride's grid) over a contiguous stretch of grad_output, so each phase
 * is again a list of offsets into a padded copy of grad_output, with no multiply by zero.
 *
 * The weight gradient keeps one vector of sums per tap across every row, column block and
 * image of its channel, reduced once at the end; one task owns a channel and sums its images
 * in order, so the result does not depend on the thread count. The tasks run on the runner
 * (common/parallel.h), which also flushes denormals to zero. */

#include "conv/epilogue_t.h"

#if defined(__GNUC__)
typedef real FN(dw_vec) __attribute__((vector_size(PYCONV_DW_BYTES), aligned(sizeof(real))));
#else
typedef real FN(dw_vec);
#endif

/* dst[r*dst_row + t*dst_col] = init + sum over k < n_taps of wt[k] * src[r*row_step + off[k] + t]
 * for r < nr <= R, t < nc <= V vectors. R and V are constants at every call (R * V =
 * PYCONV_DW_TILE_VECTORS), so the sums stay in registers across the taps. Rows whose whole
 * vectors end within the `room` elements from dst are stored whole even when nc is shorter:
 * their excess lands on the rows after them, which are stored later (see dw_tiles_of). */
PYCONV_ALWAYS_INLINE void FN(dw_tile)(const real *src, int64_t row_step, const int64_t *off,
                                      const real *wt, int64_t n_taps, real init, real *dst,
                                      int64_t dst_row, int64_t dst_col, int64_t nr, int64_t nc,
                                      int64_t room, int R, int V, int G)
{
    typedef FN(dw_vec) vec;
    enum { L = PYCONV_DW_LANES };
    const vec zero = {0};
    vec acc[PYCONV_DW_TILE_VECTORS];
    for (int e = 0; e < R * V; e++) acc[e] = zero + init;
    if (G > 0) {
        /* a 3x3 grid (dw_grid): each buffer row q the tile reads is loaded once per column
         * tap and multiplied into every tile row r that reads it (tap row q - r * G) */
        const int64_t tap_row = off[3] - off[0];
#pragma GCC unroll 16
        for (int q = 0; q < (R - 1) * G + 3; q++)
#pragma GCC unroll 3
            for (int dx = 0; dx < 3; dx++) {
                vec d[PYCONV_DW_TILE_VECTORS];
                for (int v = 0; v < V; v++) d[v] = *(const vec *)(src + q * tap_row + off[dx] + v * L);
                for (int r = 0; r < R; r++) {
                    const int dy = q - r * G;
                    if (dy < 0 || dy > 2) continue;
                    const real wv = wt[dy * 3 + dx];
                    for (int v = 0; v < V; v++) acc[r * V + v] += wv * d[v];
                }
            }
    } else {
        for (int64_t k = 0; k < n_taps; k++) {
            const real wv = wt[k];
            const real *s = src + off[k];
            for (int r = 0; r < R; r++)
                for (int v = 0; v < V; v++) acc[r * V + v] += wv * *(const vec *)(s + r * row_step + v * L);
        }
    }
    for (int r = 0; r < R && r < nr; r++) {
        if (dst_col == 1 && (nc == V * L || r * dst_row + V * L <= room)) {
            for (int v = 0; v < V; v++) *(vec *)(dst + r * dst_row + v * L) = acc[r * V + v];
        } else {
            real row[PYCONV_DW_TILE_VECTORS * L];
            memcpy(row, &acc[r * V], (size_t)V * sizeof(vec));
            for (int64_t t = 0; t < nc; t++) dst[r * dst_row + t * dst_col] = row[t];
        }
    }
}

/* Every output of an n_rows x n_cols block through R x V-vector tiles; a last column tile that
 * does not fit ends at n_cols, overlapping the one before (recomputing the same values). Tiles
 * read up to round_up(n_rows, R) rows and max(n_cols, V vectors) columns of src. Rows narrower
 * than a tile and contiguous in dst (dst_row == n_cols) are stored as whole vectors where they
 * end inside the block, each spilling onto the next rows before those are stored; `padded`
 * dst rows have room for whole tiles past n_cols, and always take whole vectors. */
PYCONV_ALWAYS_INLINE void FN(dw_tiles_of)(const real *src, int64_t row_step, const int64_t *off,
                                          const real *wt, int64_t n_taps, real init, real *dst,
                                          int64_t dst_row, int64_t dst_col, int64_t n_rows,
                                          int64_t n_cols, int padded, int R, int V, int G)
{
    const int64_t B = (int64_t)V * PYCONV_DW_LANES;
    const int spill = n_cols < B && dst_col == 1 && dst_row == n_cols;
    for (int64_t r0 = 0; r0 < n_rows; r0 += R)
        for (int64_t c0 = 0; c0 < n_cols; c0 += B) {
            const int64_t c = n_cols >= B ? PYCONV_MIN(c0, n_cols - B) : c0;
            const int64_t nr = PYCONV_MIN(R, n_rows - r0);
            FN(dw_tile)(src + r0 * row_step + c, row_step, off, wt, n_taps, init,
                        dst + r0 * dst_row + c * dst_col, dst_row, dst_col, nr,
                        PYCONV_MIN(B, n_cols - c),
                        padded ? INT64_MAX : spill ? (n_rows - r0) * n_cols : 0, R, V, G);
        }
}

/* dw_tiles_of with the tile shape for the width: 1, 2 or 4 vectors wide, 8, 4 or 2 rows. */
#define PYCONV_DW_TILES_BY_WIDTH(taps, G)                                                     \
    do {                                                                                      \
        if (n_cols <= PYCONV_DW_LANES)                                                        \
            FN(dw_tiles_of)(src, row_step, off, wt, taps, init, dst, dst_row, dst_col,        \
                            n_rows, n_cols, padded, 8, 1, G);                                 \
        else if (n_cols <= 2 * PYCONV_DW_LANES)                                               \
            FN(dw_tiles_of)(src, row_step, off, wt, taps, init, dst, dst_row, dst_col,        \
                            n_rows, n_cols, padded, 4, 2, G);                                 \
        else                                                                                  \
            FN(dw_tiles_of)(src, row_step, off, wt, taps, init, dst, dst_row, dst_col,        \
                            n_rows, n_cols, padded, 2, 4, G);                                 \
    } while (0)

/* Whether the 9 taps off[] are a 3x3 grid, off[3 dy + dx] = off[dx] + dy * tap_row, whose
 * tile rows (row_step apart) are G = 1 or 2 tap rows apart: then G, else 0. */
PYCONV_ALWAYS_INLINE int FN(dw_grid)(const int64_t *off, int64_t row_step)
{
    const int64_t tap_row = off[3] - off[0];
    for (int k = 3; k < 9; k++)
        if (off[k] != off[k % 3] + k / 3 * tap_row) return 0;
    return row_step == tap_row ? 1 : row_step == 2 * tap_row ? 2 : 0;
}

/* dw_tiles_of for any tap list; 3x3 kernels (9 taps, the common case) get their own copy,
 * with the tap count known to the compiler. */
PYCONV_ALWAYS_INLINE void FN(dw_tiles)(const real *src, int64_t row_step, const int64_t *off,
                                       const real *wt, int64_t n_taps, real init, real *dst,
                                       int64_t dst_row, int64_t dst_col, int64_t n_rows,
                                       int64_t n_cols, int padded)
{
    const int grid = n_taps == 9 ? FN(dw_grid)(off, row_step) : 0;
    if (grid == 1)
        PYCONV_DW_TILES_BY_WIDTH(9, 1);
    else if (grid == 2)
        PYCONV_DW_TILES_BY_WIDTH(9, 2);
    else if (n_taps == 9)
        PYCONV_DW_TILES_BY_WIDTH(9, 0);
    else
        PYCONV_DW_TILES_BY_WIDTH(n_taps, 0);
}
#undef PYCONV_DW_TILES_BY_WIDTH

/* d[k * d_step] = s[k * s_step] for k < n. The steps are constants at the calls that matter
 * (1 and 2), which compile to vector copies, deinterleaves and interleaves; the loop stays a
 * loop (a library call costs more than the short rows of small planes). */
PYCONV_ALWAYS_INLINE void FN(dw_copy)(real *PYCONV_RESTRICT d, int64_t d_step,
                                      const real *PYCONV_RESTRICT s, int64_t s_step, int64_t n)
{
    typedef FN(dw_vec) vec;
    int64_t k = 0;
    if (d_step == 1 && s_step == 1) {
        for (; k + PYCONV_DW_LANES <= n; k += PYCONV_DW_LANES) {
            PYCONV_NO_LIBCALL_LOOP();
            *(vec *)(d + k) = *(const vec *)(s + k);
        }
        for (; k < n; k++) {
            PYCONV_NO_LIBCALL_LOOP();
            d[k] = s[k];
        }
    } else {
        for (; k < n; k++) d[k * d_step] = s[k * s_step];
    }
}

/* Copy the h x w plane src into buf at l's positions (those that fall inside the buffer), each
 * position `step` elements apart (1; the lane count for one lane of a channel block). phases ==
 * l->phases, a constant at the calls for strides 1 and 2 (no divisions per plane). */
PYCONV_ALWAYS_INLINE void FN(dw_fill_by)(const pyconv_dw_plane *l, int64_t phases, int64_t step,
                                         const real *PYCONV_RESTRICT src, int64_t h, int64_t w,
                                         real *PYCONV_RESTRICT buf)
{
    const int64_t span = phases * l->width;
    const int64_t r_lo = PYCONV_MAX(0, -l->top), r_hi = PYCONV_MIN(h, l->rows - l->top);
    const int64_t c_lo = PYCONV_MAX(0, -l->left), c_hi = PYCONV_MIN(w, span - l->left);
    for (int64_t p = 0; p < phases; p++) {
        /* the first column c >= c_lo with (c + left) % phases == p, and the count */
        const int64_t c0 = c_lo + (p - (c_lo + l->left) % phases + phases) % phases;
        const int64_t n = c0 < c_hi ? (c_hi - c0 + phases - 1) / phases : 0;
        real *d = buf + (p * l->width + (c0 + l->left) / phases + l->top * span) * step;
        for (int64_t r = r_lo; r < r_hi; r++)
            FN(dw_copy)(d + r * span * step, step, src + r * w + c0, phases, n);
    }
}

PYCONV_ALWAYS_INLINE void FN(dw_fill)(const pyconv_dw_plane *l, const real *PYCONV_RESTRICT src,
                                      int64_t h, int64_t w, real *PYCONV_RESTRICT buf)
{
    if (l->phases == 1)
        FN(dw_fill_by)(l, 1, 1, src, h, w, buf);
    else if (l->phases == 2)
        FN(dw_fill_by)(l, 2, 1, src, h, w, buf);
    else
        FN(dw_fill_by)(l, l->phases, 1, src, h, w, buf);
}

/* The layout of an input plane for the forward pass and the weight gradient: the padded input,
 * columns split by the stride, holding every value the output tiles read (rows rounded up to
 * the tallest tile, columns to the widest tile and to whole vectors). Each phase row is whole
 * vectors long too, so every row's loads have the same alignment: with rows of any length, as
 * many of them crossed a cache line as not (docs/performance.md, tenth session). */
static pyconv_dw_plane FN(dw_input_plane_of)(const pyconv_conv_shape *s)
{
    const int64_t lanes = PYCONV_DW_LANES;
    const int64_t cols = PYCONV_MAX(pyconv_round_up(s->w_out, lanes), 4 * lanes);
    pyconv_dw_plane l;
    l.rows = (pyconv_round_up(s->h_out, 8) - 1) * s->stride_h + (s->kh - 1) * s->dil_h + 1;
    l.phases = s->stride_w;
    l.width = pyconv_round_up(cols + (s->kw - 1) * s->dil_w / s->stride_w, lanes);
    l.top = s->pad_top;
    l.left = s->pad_left;
    return l;
}

/* One forward plane: the copy of x, then every output through the tiles. */
PYCONV_SIMD_CLONES
static void FN(dw_forward_plane)(const pyconv_conv_shape *s, const pyconv_dw_plane *l,
                                 const int64_t *off, const real *x, const real *wc, real b,
                                 real *buf, real *y)
{
    FN(dw_fill)(l, x, s->h_in, s->w_in, buf);
    FN(dw_tiles)(buf, s->stride_h * l->phases * l->width, off, wc, s->kh * s->kw, b, y, s->w_out, 1,
                 s->h_out, s->w_out, 0);
}

/* The forward pass by channel blocks (small planes, see dw_by_blocks): the planes of
 * PYCONV_DW_LANES channels of one image are copied, interleaved, into one padded buffer (padded
 * position (r, c) of lane l at (r * width + c) * lanes + l), so a vector holds one position of
 * every channel of the block and each tap is one whole-vector multiply-add per output, however
 * narrow the plane. Strides and dilations are plain offsets into it (no phases). A whole block
 * goes in and out by register transposes of lanes x lanes values (lanes consecutive positions
 * of each plane); one vector past the plane takes the input positions it does not read. */
static pyconv_dw_plane FN(dw_block_plane_of)(const pyconv_conv_shape *s)
{
    pyconv_dw_plane l;
    l.rows = (s->h_out - 1) * s->stride_h + (s->kh - 1) * s->dil_h + 1;
    l.phases = 1;
    l.width = (s->w_out - 1) * s->stride_w + (s->kw - 1) * s->dil_w + 1;
    l.top = s->pad_top;
    l.left = s->pad_left;
    return l;
}

/* y[l * plane + t] = init + sum over k < n_taps of wt[k] * buf[pos[t] + off[k]] (lane l), for
 * lanes l < nl and t < nc <= PYCONV_DW_TILE_VECTORS outputs; the sums stay in registers across
 * the taps. */
PYCONV_ALWAYS_INLINE void FN(dw_block_tile)(const real *buf, const int64_t *pos, const int64_t *off,
                                            const FN(dw_vec) *wt, int64_t n_taps, FN(dw_vec) init,
                                            real *y, int64_t plane, int64_t nl, int64_t nc)
{
    typedef FN(dw_vec) vec;
    enum { L = PYCONV_DW_LANES, T = PYCONV_DW_TILE_VECTORS };
    vec acc[T];
    for (int t = 0; t < T; t++) acc[t] = init;
    for (int64_t k = 0; k < n_taps; k++) {
        const vec wv = wt[k];
        const real *src = buf + off[k];
        for (int t = 0; t < T; t++) acc[t] += wv * *(const vec *)(src + pos[t]);
    }
#if defined(PYCONV_TRANSPOSE_BYTES)
    if (nl == L && nc == T) {
        for (int t0 = 0; t0 < T; t0 += L) {
            pyconv_tvec v[L];
            for (int l = 0; l < L; l++) v[l] = (pyconv_tvec)acc[t0 + l];
            pyconv_transpose(v, L);
            for (int l = 0; l < L; l++) *(vec *)(y + l * plane + t0) = (vec)v[l];
        }
        return;
    }
#endif
    real tile[T * L];
    memcpy(tile, acc, sizeof tile);
    for (int64_t l = 0; l < nl; l++)
        for (int64_t t = 0; t < nc; t++) y[l * plane + t] = tile[t * L + l];
}

/* Every output of the block through tiles of consecutive outputs (pos: n_out positions, then
 * zeros up to a whole tile); a last tile that does not fit ends at n_out, overlapping the one
 * before. */
PYCONV_ALWAYS_INLINE void FN(dw_block_tiles)(const real *buf, const int64_t *pos, int64_t n_out,
                                             const int64_t *off, const FN(dw_vec) *wt,
                                             int64_t n_taps, FN(dw_vec) init, real *y, int64_t nl)
{
    enum { T = PYCONV_DW_TILE_VECTORS };
    for (int64_t q0 = 0; q0 < n_out; q0 += T) {
        const int64_t q = n_out >= T ? PYCONV_MIN(q0, n_out - T) : 0;
        FN(dw_block_tile)(buf, pos + q, off, wt, n_taps, init, y + q, n_out, nl, PYCONV_MIN(T, n_out - q));
    }
}

/* One forward block: nl <= PYCONV_DW_LANES planes of x (with their weights w and bias) into the
 * interleaved buffer (input position p to at[p]), their weights into wt (one vector per tap),
 * then every output of y. Lanes from nl on hold what the block before left (computed, never
 * stored); their weights are 0. */
PYCONV_SIMD_CLONES
static void FN(dw_forward_block)(const pyconv_conv_shape *s, const pyconv_dw_plane *l,
                                 const int64_t *off, const int64_t *pos, const int64_t *at,
                                 const real *x, const real *w, const real *bias, int64_t nl,
                                 real *buf, FN(dw_vec) *wt, real *y)
{
    typedef FN(dw_vec) vec;
    enum { L = PYCONV_DW_LANES };
    const int64_t taps = s->kh * s->kw, plane_in = s->h_in * s->w_in, n_out = s->h_out * s->w_out;
    real init[L], *wl = (real *)wt;
#if defined(PYCONV_TRANSPOSE_BYTES)
    const int whole = nl == L && plane_in >= L;
    for (int64_t p0 = 0; whole && p0 < plane_in; p0 += L) {
        const int64_t p = PYCONV_MIN(p0, plane_in - L);
        pyconv_tvec v[L];
        for (int lane = 0; lane < L; lane++) v[lane] = (pyconv_tvec) * (const vec *)(x + lane * plane_in + p);
        pyconv_transpose(v, L);
        for (int j = 0; j < L; j++) *(vec *)(buf + at[p + j]) = (vec)v[j];
    }
#else
    const int whole = 0;
    (void)at;
#endif
    for (int64_t lane = 0; lane < L; lane++) {
        const int live = lane < nl;
        if (live && !whole) FN(dw_fill_by)(l, 1, L, x + lane * plane_in, s->h_in, s->w_in, buf + lane);
        for (int64_t k = 0; k < taps; k++) wl[k * L + lane] = live ? w[lane * taps + k] : (real)0;
        init[lane] = live && bias ? bias[lane] : (real)0;
    }
    vec b;
    memcpy(&b, init, sizeof b);
    if (taps == 9)
        FN(dw_block_tiles)(buf, pos, n_out, off, wt, 9, b, y, nl);
    else
        FN(dw_block_tiles)(buf, pos, n_out, off, wt, taps, b, y, nl);
}

/* The input-gradient padded copy of grad_output (phases along both axes, see dw_input_plane)
 * and, in *cols, the widest phase row in whole tiles. */
static pyconv_dw_plane FN(dw_grad_plane_of)(const pyconv_conv_shape *s, int64_t *cols)
{
    const int64_t sh = s->stride_h, sw = s->stride_w;
    *cols = PYCONV_MAX(pyconv_round_up((s->w_in + sw - 1) / sw, PYCONV_DW_LANES), 4 * PYCONV_DW_LANES);
    /* grad_output padded so that every shift of every phase's rows and columns is inside */
    pyconv_dw_plane l;
    l.phases = 1;
    l.top = (s->kh - 1) * s->dil_h / sh;
    l.left = (s->kw - 1) * s->dil_w / sw;
    l.rows = l.top + pyconv_round_up((s->h_in + sh - 1) / sh, 8) +
             (PYCONV_MIN(sh, s->h_in) - 1 + s->pad_top) / sh;
    l.width = l.left + *cols + (PYCONV_MIN(sw, s->w_in) - 1 + s->pad_left) / sw;
    return l;
}

/* Each thread's scratch (one arena buffer): byte offsets of its named parts. */
typedef struct {
    size_t plane;   /* the padded copy of one input (or grad_output) plane; zero where padding */
    size_t grad;    /* weight gradient: one grad_output plane, rows padded to whole vectors */
    size_t sums;    /* weight gradient: the vector sums of a run of channels' taps */
    size_t off;     /* input gradient: one phase's tap offsets ... */
    size_t wt;      /* ... and weights; forward by blocks: the block's weights, a vector per tap */
    size_t rows;    /* strided input gradient: the phase rows of one plane */
    size_t zeroed;  /* the parts from 0 up to here start zeroed */
    size_t bytes;
} FN(depthwise_layout);

/* Whether the forward pass runs by channel blocks: output rows of at most
 * PYCONV_DW_BLOCK_MAX_WIDTH. */
static int FN(dw_by_blocks)(const pyconv_conv_shape *s)
{
    return s->w_out <= PYCONV_DW_BLOCK_MAX_WIDTH;
}

/* The scratch of op for s; run: the weight gradient's channels per task. */
static FN(depthwise_layout) FN(depthwise_layout_of)(const pyconv_conv_shape *s, pyconv_conv_op op,
                                                    int64_t run)
{
    const int64_t taps = s->kh * s->kw;
    FN(depthwise_layout) l;
    memset(&l, 0, sizeof l);
    if (op == PYCONV_OP_INPUT_GRAD) {
        int64_t cols;
        const pyconv_dw_plane p = FN(dw_grad_plane_of)(s, &cols);
        l.plane = pyconv_layout_part(&l.bytes, (size_t)pyconv_dw_plane_size(&p) * sizeof(real));
        l.zeroed = l.bytes;
        l.off = pyconv_layout_part(&l.bytes, (size_t)taps * sizeof(int64_t));
        l.wt = pyconv_layout_part(&l.bytes, (size_t)taps * sizeof(real));
        if (s->stride_w > 1)
            l.rows = pyconv_layout_part(
                &l.bytes, (size_t)(pyconv_round_up(s->h_in, s->stride_h) * s->stride_w * cols) * sizeof(real));
        return l;
    }
    if (op == PYCONV_OP_FORWARD && FN(dw_by_blocks)(s)) {
        const pyconv_dw_plane p = FN(dw_block_plane_of)(s);
        l.plane = pyconv_layout_part(&l.bytes,
                                     (size_t)((pyconv_dw_plane_size(&p) + 1) * PYCONV_DW_LANES) * sizeof(real));
        l.zeroed = l.bytes;
        l.wt = pyconv_layout_part(&l.bytes, (size_t)taps * sizeof(FN(dw_vec)));
        return l;
    }
    const pyconv_dw_plane p = FN(dw_input_plane_of)(s);
    l.plane = pyconv_layout_part(&l.bytes, (size_t)pyconv_dw_plane_size(&p) * sizeof(real));
    if (op == PYCONV_OP_WEIGHT_GRAD) {
        l.grad = pyconv_layout_part(&l.bytes,
                                    (size_t)(s->h_out * pyconv_round_up(s->w_out, PYCONV_DW_LANES)) * sizeof(real));
        l.zeroed = l.bytes;
        l.sums = pyconv_layout_part(&l.bytes, (size_t)(run * taps) * sizeof(FN(dw_vec)));
    } else {
        l.zeroed = l.bytes;
    }
    return l;
}

/* The work the threads are sized by, in the micro-kernel's multiply-adds: every op does one
 * multiply-add per output and tap, each about as long as PYCONV_DW_WORK_PER_TAP of the
 * micro-kernel's (a tap's input value is loaded on its own, and few of them run per vector:
 * docs/performance.md, "Issue 10, third session"). */
#define PYCONV_DW_WORK_PER_TAP 8.0
static double FN(dw_work)(const pyconv_conv_shape *s)
{
    return (double)(s->n * s->c_out) * (double)(s->h_out * s->w_out) * (double)(s->kh * s->kw) *
           PYCONV_DW_WORK_PER_TAP;
}

/* The weight gradient's channels per task for n_threads threads: a run of channels walked image
 * by image reads planes that lie side by side in memory. */
static int64_t FN(dw_channel_run)(const pyconv_conv_shape *s, int n_threads)
{
    return PYCONV_MAX(1, PYCONV_MIN(PYCONV_DW_CHANNEL_RUN, (s->c_out + n_threads - 1) / n_threads));
}

/* This thread's scratch, its zeroed parts zeroed (the padding that every plane's copy leaves as
 * it is). */
static char *FN(dw_scratch)(const FN(depthwise_layout) *l, const pyconv_thread *th)
{
    char *scratch = (char *)th->scratch;
    memset(scratch, 0, l->zeroed);
    return scratch;
}

/* The arguments of a depthwise kernel. */
typedef struct {
    const pyconv_conv_shape *s;
    FN(depthwise_layout) layout;
    pyconv_dw_plane plane;          /* the padded copy the tiles read */
    const int64_t *off;             /* forward, weight gradient: tap offsets into the copy */
    const int64_t *pos;             /* forward by blocks: each output's position in the copy ... */
    const int64_t *at;              /* ... and each input's (past the plane where not read) */
    pyconv_dw_phases ph;            /* input gradient: the taps by phase */
    int64_t cols;                   /* input gradient: the phase rows' width */
    int64_t run;                    /* weight gradient: channels per task */
    const real *x, *w, *gy;
    const FN(pyconv_epilogue) *ep;  /* forward only */
    real *y, *gx, *gw;
} FN(dw_args);

/* Runs task over n_items on copies of the input planes (forward, weight gradient): sets a's
 * plane layout and tap offsets (forward by blocks: its interleaved copy's, and the outputs'
 * positions), each thread's scratch sized by a->layout. */
static pyconv_status FN(dw_run_on_input_planes)(FN(dw_args) *a, int64_t n_items, int n_threads,
                                                pyconv_range_fn task, int by_blocks)
{
    const pyconv_conv_shape *s = a->s;
    const int64_t taps = s->kh * s->kw, n_out = s->h_out * s->w_out;
    const int64_t n_pos = by_blocks ? PYCONV_MAX(n_out, PYCONV_DW_TILE_VECTORS) : 0;
    const int64_t n_at = by_blocks ? s->h_in * s->w_in : 0;
    a->plane = by_blocks ? FN(dw_block_plane_of)(s) : FN(dw_input_plane_of)(s);
    int64_t *off = (int64_t *)pyconv_aligned_alloc((size_t)(taps + n_pos + n_at) * sizeof(int64_t));
    if (off == NULL) return PYCONV_ERR_NOMEM;
    pyconv_dw_input_offsets(s, &a->plane, off);
    if (by_blocks) {
        int64_t *pos = off + taps;
        for (int64_t k = 0; k < taps; k++) off[k] *= PYCONV_DW_LANES;
        for (int64_t q = 0; q < n_pos; q++)
            pos[q] = q < n_out ? (q / s->w_out * s->stride_h * a->plane.width + q % s->w_out * s->stride_w) *
                                     PYCONV_DW_LANES
                               : 0;
        int64_t *at = pos + n_pos;
        const pyconv_dw_plane *l = &a->plane;
        for (int64_t p = 0; p < n_at; p++) {
            const int64_t r = p / s->w_in + l->top, c = p % s->w_in + l->left;
            at[p] = (r >= 0 && r < l->rows && c >= 0 && c < l->width ? r * l->width + c : l->rows * l->width) *
                    PYCONV_DW_LANES;
        }
        a->pos = pos;
        a->at = at;
    }
    a->off = off;
    const pyconv_scratch scratch = {PYCONV_ARENA_CONV_0, a->layout.bytes};
    const pyconv_status st = pyconv_parallel_for(n_items, FN(dw_work)(s), n_threads, task, a, scratch);
    pyconv_aligned_free(off);
    return st;
}

/* The epilogue's residual and activation on output planes [p0, p1), still in cache. */
static void FN(dw_finish)(const FN(dw_args) *a, int64_t p0, int64_t p1)
{
    const int64_t plane_out = a->s->h_out * a->s->w_out;
    if (!FN(epilogue_fused)(a->ep)) return;
    for (int64_t p = p0; p < p1; p++)
        FN(finish_run)(a->y + p * plane_out, a->ep->residual ? a->ep->residual + p * plane_out : NULL,
                       plane_out, a->ep->activation);
}

/* Output planes [lo, hi) (plane p = image p / c, channel p % c). */
static pyconv_status FN(dw_forward_planes)(const void *ctx, int64_t lo, int64_t hi,
                                           const pyconv_thread *th)
{
    const FN(dw_args) *a = (const FN(dw_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t taps = s->kh * s->kw, plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    real *buf = (real *)(FN(dw_scratch)(&a->layout, th) + a->layout.plane);
    for (int64_t p = lo; p < hi; p++) {
        const int64_t c = p % s->c_out;
        FN(dw_forward_plane)(s, &a->plane, a->off, a->x + p * plane_in, a->w + c * taps,
                             a->ep->bias ? a->ep->bias[c] : (real)0, buf, a->y + p * plane_out);
        FN(dw_finish)(a, p, p + 1);
    }
    return PYCONV_OK;
}

/* Channel blocks [lo, hi) (block b = image b / blocks, channels from b % blocks * lanes). */
static pyconv_status FN(dw_forward_blocks)(const void *ctx, int64_t lo, int64_t hi,
                                           const pyconv_thread *th)
{
    const FN(dw_args) *a = (const FN(dw_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t taps = s->kh * s->kw, plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    const int64_t blocks = (s->c_out + PYCONV_DW_LANES - 1) / PYCONV_DW_LANES;
    char *scratch = FN(dw_scratch)(&a->layout, th);
    real *buf = (real *)(scratch + a->layout.plane);
    FN(dw_vec) *wt = (FN(dw_vec) *)(scratch + a->layout.wt);
    for (int64_t b = lo; b < hi; b++) {
        const int64_t c0 = b % blocks * PYCONV_DW_LANES, nl = PYCONV_MIN(PYCONV_DW_LANES, s->c_out - c0);
        const int64_t p0 = b / blocks * s->c_out + c0;
        FN(dw_forward_block)(s, &a->plane, a->off, a->pos, a->at, a->x + p0 * plane_in, a->w + c0 * taps,
                             a->ep->bias ? a->ep->bias + c0 : NULL, nl, buf, wt, a->y + p0 * plane_out);
        FN(dw_finish)(a, p0, p0 + nl);
    }
    return PYCONV_OK;
}

pyconv_status FN(pyconv_forward_depthwise)(const pyconv_conv_shape *s, const real *x, const real *w,
                                           const FN(pyconv_epilogue) *ep, real *y, int n_threads)
{
    FN(dw_args) a;
    memset(&a, 0, sizeof a);
    a.s = s;
    a.layout = FN(depthwise_layout_of)(s, PYCONV_OP_FORWARD, 0);
    a.x = x;
    a.w = w;
    a.ep = ep;
    a.y = y;
    if (FN(dw_by_blocks)(s))
        return FN(dw_run_on_input_planes)(&a, s->n * ((s->c_out + PYCONV_DW_LANES - 1) / PYCONV_DW_LANES),
                                          n_threads, FN(dw_forward_blocks), 1);
    return FN(dw_run_on_input_planes)(&a, s->n * s->c_out, n_threads, FN(dw_forward_planes), 0);
}

/* One input-gradient plane gx: the copy of gy, then for each phase (ih0, iw0) its list of taps
 * (offsets into buf in off, weights in wt) through the tiles. With unit column stride the
 * tiles write gx; otherwise the phase rows of tmp (row ih, phase iw0 at (ih*sw + iw0) *
 * tmp_width), interleaved into gx at the end. */
PYCONV_SIMD_CLONES
static void FN(dw_input_plane)(const pyconv_conv_shape *s, const pyconv_dw_plane *l,
                               const pyconv_dw_phases *ph, const real *gy, const real *wc,
                               real *buf, int64_t *off, real *wt, real *tmp, int64_t tmp_width,
                               real *gx)
{
    const int64_t sh = s->stride_h, sw = s->stride_w, w_in = s->w_in;
    FN(dw_fill)(l, gy, s->h_out, s->w_out, buf);
    for (int64_t ih0 = 0; ih0 < ph->n_h; ih0++)
        for (int64_t iw0 = 0; iw0 < ph->n_w; iw0++) {
            int64_t n = 0;
            /* taps in descending order, which is ascending shift (offset): a stride-1 3x3
             * list is then a grid (dw_grid) */
            for (int64_t a = ph->start_h[ih0 + 1] - 1; a >= ph->start_h[ih0]; a--)
                for (int64_t b = ph->start_w[iw0 + 1] - 1; b >= ph->start_w[iw0]; b--) {
                    off[n] = (ph->shift_h[a] + l->top) * l->width + ph->shift_w[b] + l->left;
                    wt[n++] = wc[ph->tap_h[a] * s->kw + ph->tap_w[b]];
                }
            if (sw == 1)
                FN(dw_tiles)(buf, l->width, off, wt, n, (real)0, gx + ih0 * w_in, sh * w_in, 1,
                             ph->count_h[ih0], ph->count_w[iw0], 0);
            else
                FN(dw_tiles)(buf, l->width, off, wt, n, (real)0, tmp + (ih0 * sw + iw0) * tmp_width,
                             sh * sw * tmp_width, 1, ph->count_h[ih0], ph->count_w[iw0], 1);
        }
    if (sw == 1) return;
    for (int64_t ih = 0; ih < s->h_in; ih++)
        for (int64_t iw0 = 0; iw0 < ph->n_w; iw0++) {
            real *d = gx + ih * w_in + iw0;
            const real *t = tmp + (ih * sw + iw0) * tmp_width;
            if (sw == 2)
                FN(dw_copy)(d, 2, t, 1, ph->count_w[iw0]);
            else
                FN(dw_copy)(d, sw, t, 1, ph->count_w[iw0]);
        }
}

/* Input-gradient planes [lo, hi) (plane p = image p / c, channel p % c). */
static pyconv_status FN(dw_input_planes)(const void *ctx, int64_t lo, int64_t hi,
                                         const pyconv_thread *th)
{
    const FN(dw_args) *a = (const FN(dw_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t taps = s->kh * s->kw, plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    char *scratch = FN(dw_scratch)(&a->layout, th);
    real *buf = (real *)(scratch + a->layout.plane);
    int64_t *off = (int64_t *)(scratch + a->layout.off);
    real *wt = (real *)(scratch + a->layout.wt);
    real *tmp = s->stride_w == 1 ? NULL : (real *)(scratch + a->layout.rows);
    for (int64_t p = lo; p < hi; p++)
        FN(dw_input_plane)(s, &a->plane, &a->ph, a->gy + p * plane_out, a->w + p % s->c_in * taps, buf,
                           off, wt, tmp, a->cols, a->gx + p * plane_in);
    return PYCONV_OK;
}

pyconv_status FN(pyconv_input_depthwise)(const pyconv_conv_shape *s, const real *w, const real *gy,
                                         real *gx, int n_threads)
{
    const int64_t kh = s->kh, kw = s->kw;
    FN(dw_args) a;
    memset(&a, 0, sizeof a);
    a.s = s;
    a.layout = FN(depthwise_layout_of)(s, PYCONV_OP_INPUT_GRAD, 0);
    a.plane = FN(dw_grad_plane_of)(s, &a.cols);
    a.w = w;
    a.gy = gy;
    a.gx = gx;
    pyconv_dw_phases *ph = &a.ph;
    ph->n_h = PYCONV_MIN(s->stride_h, s->h_in);
    ph->n_w = PYCONV_MIN(s->stride_w, s->w_in);
    int64_t *axes = (int64_t *)pyconv_aligned_alloc(
        (size_t)(2 * ph->n_h + 1 + 2 * kh + 2 * ph->n_w + 1 + 2 * kw) * sizeof(int64_t));
    if (axes == NULL) return PYCONV_ERR_NOMEM;
    ph->start_h = axes;
    ph->count_h = ph->start_h + ph->n_h + 1;
    ph->tap_h = ph->count_h + ph->n_h;
    ph->shift_h = ph->tap_h + kh;
    ph->start_w = ph->shift_h + kh;
    ph->count_w = ph->start_w + ph->n_w + 1;
    ph->tap_w = ph->count_w + ph->n_w;
    ph->shift_w = ph->tap_w + kw;
    pyconv_dw_phase_taps(ph->n_h, s->h_in, s->pad_top, s->stride_h, kh, s->dil_h, ph->start_h, ph->count_h,
                         ph->tap_h, ph->shift_h);
    pyconv_dw_phase_taps(ph->n_w, s->w_in, s->pad_left, s->stride_w, kw, s->dil_w, ph->start_w, ph->count_w,
                         ph->tap_w, ph->shift_w);
    const pyconv_scratch scratch = {PYCONV_ARENA_CONV_0, a.layout.bytes};
    const pyconv_status st = pyconv_parallel_for(s->n * s->c_in, FN(dw_work)(s), n_threads,
                                                 FN(dw_input_planes), &a, scratch);
    pyconv_aligned_free(axes);
    return st;
}

/* acc[k] += sum over rows oh and column blocks q of the vectors g[oh, q..] * x[oh*row_step +
 * off[k] + q..], for k < n_taps <= PYCONV_DW_TAP_CHUNK: the taps' sums stay in registers over
 * the whole plane. g is g_width (whole vectors) wide, zero past the plane's width. */
PYCONV_ALWAYS_INLINE void FN(dw_weight_taps)(const real *xb, int64_t row_step, const int64_t *off,
                                             int64_t n_taps, const real *g, int64_t g_width,
                                             int64_t h_out, FN(dw_vec) *PYCONV_RESTRICT acc)
{
    typedef FN(dw_vec) vec;
    vec a[PYCONV_DW_TAP_CHUNK];
    for (int64_t k = 0; k < n_taps; k++) a[k] = acc[k];
    for (int64_t oh = 0; oh < h_out; oh++)
        for (int64_t q = 0; q < g_width; q += PYCONV_DW_LANES) {
            const vec gv = *(const vec *)(g + oh * g_width + q);
            const real *xv = xb + oh * row_step + q;
            for (int64_t k = 0; k < n_taps; k++) a[k] += gv * *(const vec *)(xv + off[k]);
        }
    for (int64_t k = 0; k < n_taps; k++) acc[k] = a[k];
}

/* One image's contribution to the weight gradient of one channel: the copies of the x and gy
 * planes, then every tap's sums, PYCONV_DW_TAP_CHUNK taps at a time (a 3x3 kernel in one pass,
 * the tap loop unrolled). gy's copy pads its rows to whole vectors with zeros; rows already
 * whole vectors long are read in place. */
PYCONV_SIMD_CLONES
static void FN(dw_weight_plane)(const pyconv_conv_shape *s, const pyconv_dw_plane *lx,
                                const pyconv_dw_plane *lg, const int64_t *off, const real *x,
                                const real *g, real *xb, real *gb, FN(dw_vec) *acc)
{
    const int64_t taps = s->kh * s->kw, row_step = s->stride_h * lx->phases * lx->width;
    FN(dw_fill)(lx, x, s->h_in, s->w_in, xb);
    if (lg->width != s->w_out) {
        FN(dw_fill)(lg, g, s->h_out, s->w_out, gb);
        g = gb;
    }
    for (int64_t k0 = 0; k0 < taps; k0 += PYCONV_DW_TAP_CHUNK) {
        const int64_t n = PYCONV_MIN(PYCONV_DW_TAP_CHUNK, taps - k0);
        if (n == PYCONV_DW_TAP_CHUNK)
            FN(dw_weight_taps)(xb, row_step, off + k0, PYCONV_DW_TAP_CHUNK, g, lg->width, s->h_out,
                               acc + k0);
        else
            FN(dw_weight_taps)(xb, row_step, off + k0, n, g, lg->width, s->h_out, acc + k0);
    }
}

/* Runs of channels [lo, hi) of the weight gradient (run t = channels t*run .. t*run + run - 1),
 * each channel's sums taken over the images in order, whatever the runs. */
static pyconv_status FN(dw_weight_runs)(const void *ctx, int64_t lo, int64_t hi,
                                        const pyconv_thread *th)
{
    typedef FN(dw_vec) vec;
    const FN(dw_args) *a = (const FN(dw_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t taps = s->kh * s->kw, plane_in = s->h_in * s->w_in, plane_out = s->h_out * s->w_out;
    const pyconv_dw_plane lg = {s->h_out, 1, pyconv_round_up(s->w_out, PYCONV_DW_LANES), 0, 0};
    char *scratch = FN(dw_scratch)(&a->layout, th);
    real *xb = (real *)(scratch + a->layout.plane), *gb = (real *)(scratch + a->layout.grad);
    vec *acc = (vec *)(scratch + a->layout.sums);
    for (int64_t t = lo; t < hi; t++) {
        const int64_t c0 = t * a->run, c1 = PYCONV_MIN(s->c_out, c0 + a->run);
        memset(acc, 0, (size_t)((c1 - c0) * taps) * sizeof(vec));
        for (int64_t img = 0; img < s->n; img++)
            for (int64_t c = c0; c < c1; c++)
                FN(dw_weight_plane)(s, &a->plane, &lg, a->off, a->x + (img * s->c_in + c) * plane_in,
                                    a->gy + (img * s->c_out + c) * plane_out, xb, gb, acc + (c - c0) * taps);
        for (int64_t k = 0; k < (c1 - c0) * taps; k++) {
            real lane[PYCONV_DW_LANES], sum = 0;
            memcpy(lane, &acc[k], sizeof lane);
            for (int l = 0; l < PYCONV_DW_LANES; l++) sum += lane[l];
            a->gw[c0 * taps + k] = sum;
        }
    }
    return PYCONV_OK;
}

pyconv_status FN(pyconv_weight_depthwise)(const pyconv_conv_shape *s, const real *x, const real *gy,
                                          real *gw, int n_threads)
{
    const int nt = pyconv_threads_for(FN(dw_work)(s), s->c_out, n_threads);
    FN(dw_args) a;
    memset(&a, 0, sizeof a);
    a.s = s;
    a.run = FN(dw_channel_run)(s, nt);
    a.layout = FN(depthwise_layout_of)(s, PYCONV_OP_WEIGHT_GRAD, a.run);
    a.x = x;
    a.gy = gy;
    a.gw = gw;
    return FN(dw_run_on_input_planes)(&a, (s->c_out + a.run - 1) / a.run, nt, FN(dw_weight_runs), 0);
}

double FN(pyconv_depthwise_workspace)(const pyconv_conv_shape *s, pyconv_conv_op op, int n_threads)
{
    const int64_t parts = op == PYCONV_OP_WEIGHT_GRAD ? s->c_out : s->n * s->c_out;
    const int nt = pyconv_threads_for(FN(dw_work)(s), parts, n_threads);
    const FN(depthwise_layout) l = FN(depthwise_layout_of)(s, op, FN(dw_channel_run)(s, nt));
    return (double)nt * (double)l.bytes;
}
