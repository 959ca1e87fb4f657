/* The GEMM's internal interface, for other kernels (the convolution's implicit GEMM).
 *
 * The driver computes C = alpha * A @ B + beta * C for an m x k matrix A and a k x n matrix B
 * that it never reads directly: it asks pack callbacks for blocks of them, already in the
 * micro-kernel's panel format. The plain GEMM passes strided-matrix callbacks
 * (pyconv_pack_strided_*); the convolution passes callbacks that gather input patches straight
 * into B panels (implicit GEMM: no im2col matrix), or the transposed weight into A panels.
 *
 * Panel format. A pack callback
 *     pack(ctx, x0, nx, p0, kc, w, dst)
 * writes the block of rows x0 .. x0+nx-1 of the "panel" dimension (m for A, n for B) and
 * k-indices p0 .. p0+kc-1 as ceil(nx / w) micro-panels, one after the other. Micro-panel q
 * holds panel indices x0 + q*w .. x0 + q*w + w-1 and is kc*w elements long: for each
 * k-index p in order, the w values X(x0 + q*w + r, p), r = 0 .. w-1, contiguously:
 *     dst[q*kc*w + p*w + r] = X(x0 + q*w + r, p0 + p)
 * where X(i, p) = A[i, p] for A (w = MR) and X(j, p) = B[p, j] for B (w = NR). Entries past
 * the matrix edge (x0 + q*w + r >= x0 + nx) must be written as 0. dst is aligned to
 * PYCONV_ALIGN bytes. The driver calls pack_b from several threads at once on disjoint
 * column ranges (x0 a multiple of w) and pack_a from several threads on any ranges, so a
 * callback must only read ctx and write dst.
 *
 * Threads, memory. The driver runs a team of up to n_threads threads (fewer for small
 * problems; common/parallel.h) and takes its packing buffers from the calling and worker
 * threads' arenas (slots PYCONV_ARENA_GEMM_A/B), so a caller may use the other slots freely,
 * and may call the driver with n_threads = 1 from inside its own parallel task.
 *
 * Macro-kernel. Loops 2 and 1 around the micro-kernel and the edge tiles live in one function,
 * pyconv_macro_kernel, shared by the driver (A packed) and the implicit-GEMM convolutions (A
 * gathered through row pointers and offsets, pyconv_a_source).
 *
 * Dispatch. The micro-kernel and blocking come from pyconv_gemm_active_arch(), chosen once per
 * process by pyconv_gemm_init() (declared in pyconv_kernels.h): one extension module,
 * pyconv.cython_kernels, holds the kernels and calls it at import. */
#ifndef PYCONV_GEMM_INTERNAL_H
#define PYCONV_GEMM_INTERNAL_H

#include "common/parallel.h"
#include "gemm/gemm_config.h"

/* MR, NR, KC, MC, NC as gemm_config.h defines them, and pack_a_panels: the implicit GEMMs
 * pack a gathered A block into micro-panels first (pyconv_pack_gathered) when they multiply it
 * by at least that many B micro-panels, 0: never (gemm_config.h). */
typedef struct {
    int64_t mr, nr, kc, mc, nc, pack_a_panels;
} pyconv_gemm_blocking;

/* What a micro-kernel fetches into the cache while it runs, for the tiles after it (BLIS's
 * auxinfo): `lines` cache lines from `next` (none when 0), one per k step from the first, in
 * L2. The macro-kernel hands each tile a share of the next B micro-panel: packed weights read
 * once per call come from memory, and requested in one burst before each tile they still
 * arrived late (ResNet-50's 1x1 512->2048 at batch 1 took 8-15% longer; docs/performance.md,
 * seventh session). */
typedef struct {
    const void *next;
    int64_t lines;
} pyconv_prefetch;
#define PYCONV_NO_PREFETCH ((pyconv_prefetch){NULL, 0})

/* The two entry points of one instruction set's micro-kernel (types below). */
#define PYCONV_UKERNELS_FOR(isa, real, sfx)                                                     \
void pyconv_ukernel_##isa##_##sfx(int64_t m, int64_t kc, real alpha, const real *a,            \
                                  const real *b, real beta, real *c, int64_t ldc,              \
                                  pyconv_prefetch pf);                                         \
void pyconv_ukernel_gather_##isa##_##sfx(int64_t m, int64_t kc, const int64_t *off,            \
                                         const real *const *rows, const real *b, real beta,    \
                                         real *c, int64_t ldc, pyconv_prefetch pf);

#define PYCONV_GEMM_INTERNAL_FOR(real, sfx)                                                     \
/* Micro-kernel: the first m (1 <= m <= MR) rows of the MR x NR tile c (row stride ldc, unit   \
 * column stride) become alpha * sum_p a[p*MR + i] * b[p*NR + j] + beta * c; with beta == 0, c  \
 * is not read; rows m .. MR-1 of c are neither read nor written, and cost nothing. pf: lines  \
 * to fetch for later tiles (pyconv_prefetch).                                                 \
 */                                                                                            \
typedef void (*pyconv_ukernel_##sfx)(int64_t m, int64_t kc, real alpha, const real *a,          \
                                     const real *b, real beta, real *c, int64_t ldc,            \
                                     pyconv_prefetch pf);                                       \
/* The same with A gathered instead of packed: A(i, p) = rows[i][off[p]] for the m row         \
 * pointers rows[0 .. m-1] (alpha is 1). The convolution points each row at an output pixel's  \
 * first input value and off[p] is kernel tap p's offset from it, so no patch is packed. */     \
typedef void (*pyconv_ukernel_gather_##sfx)(int64_t m, int64_t kc, const int64_t *off,          \
                                            const real *const *rows, const real *b, real beta,  \
                                            real *c, int64_t ldc, pyconv_prefetch pf);          \
/* The A operand of the macro-kernel: packed micro-panels (rows == NULL; panel i at          \
 * packed + i*kc), or gathered, A(i, p) = rows[i][off[p]] (one pointer per row of C). */      \
typedef struct {                                                                               \
    const real *packed;                                                                        \
    const real *const *rows;                                                                   \
    const int64_t *off;                                                                        \
} pyconv_a_source_##sfx;                                                                       \
/* Pack callback: see "Panel format" above. */                                                  \
typedef void (*pyconv_pack_fn_##sfx)(const void *ctx, int64_t x0, int64_t nx, int64_t p0,       \
                                     int64_t kc, int64_t w, real *dst);                         \
/* A strided matrix X(x, p) = base[x*sx + p*sp], the context of pyconv_pack_strided. */         \
typedef struct {                                                                               \
    const real *base;                                                                          \
    int64_t sx, sp;                                                                            \
} pyconv_strided_##sfx;                                                                        \
void pyconv_pack_strided_##sfx(const void *ctx, int64_t x0, int64_t nx, int64_t p0,            \
                               int64_t kc, int64_t w, real *dst);                               \
/* A w-wide micro-panel from `width` <= w rows of a row-major matrix (row stride sx), a        \
 * transpose: dst[p*w + r] = src[r*sx + p] for p < np, r < width, and 0 for width <= r < w      \
 * (pack_transposed_x86.c). */                                                                  \
typedef void (*pyconv_pack_transposed_##sfx)(const real *src, int64_t sx, int64_t width,        \
                                             int64_t np, int64_t w, real *dst);                 \
void pyconv_pack_transposed_avx2_##sfx(const real *src, int64_t sx, int64_t width, int64_t np, \
                                       int64_t w, real *dst);                                   \
void pyconv_pack_transposed_avx512_##sfx(const real *src, int64_t sx, int64_t width,           \
                                         int64_t np, int64_t w, real *dst);                     \
/* The same transpose, through the active instruction set's pack_transposed, or element by      \
 * element where it has none. */                                                                \
void pyconv_pack_rows_##sfx(const real *src, int64_t sx, int64_t width, int64_t np, int64_t w, \
                            real *dst);                                                        \
/* A gathered A block (m rows, a's rows and off: pyconv_a_source) packed into mr-row            \
 * micro-panels, the layout of a packed A block: dst[(i/mr)*mr*kc + p*mr + i%mr] =             \
 * rows[i][off[p]] for i < m (the last panel's rows from m on are not written; the             \
 * micro-kernel reads only a tile's m rows). */                                                 \
void pyconv_pack_gathered_##sfx(const real *const *rows, const int64_t *off, int64_t m,         \
                                int64_t kc, int64_t mr, real *dst);                             \
/* C (m x n, row stride ldc) = alpha * A @ B + beta * C; beta == 0 does not read C. */          \
pyconv_status pyconv_gemm_driver_##sfx(int64_t m, int64_t n, int64_t k, real alpha,            \
                                       pyconv_pack_fn_##sfx pack_a, const void *a_ctx,          \
                                       pyconv_pack_fn_##sfx pack_b, const void *b_ctx,          \
                                       real beta, real *c, int64_t ldc, int n_threads);         \
/* The fused Winograd F(4x4, 3x3) micro-kernel (ukernel_wino_t.h): the 36 elementwise          \
 * products of conv/winograd_t.h with the filter transform in registers, for one group of      \
 * PYCONV_<ISA>_WINO_TILES tiles and one NR-wide panel of filters:                              \
 *     m[e*m_estride + t*ldm + f] (+)= sum_{c < kc} v[(c*36 + e)*TG + t] * U_e(c, f)            \
 * with U = G g G^T of the taps taps[(c*9 + k)*NR + f] (k read as 8 - k when flipped); added    \
 * to m when beta is 1, written when 0. */                                                      \
typedef void (*pyconv_ukernel_wino_##sfx)(int64_t kc, const real *taps, int flipped,           \
                                          const real *v, real beta, real *m,                   \
                                          int64_t m_estride, int64_t ldm);                     \
void pyconv_ukernel_wino_avx512_##sfx(int64_t kc, const real *taps, int flipped,               \
                                      const real *v, real beta, real *m, int64_t m_estride,    \
                                      int64_t ldm);                                            \
PYCONV_UKERNELS_FOR(ref, real, sfx)                                                            \
PYCONV_UKERNELS_FOR(avx2, real, sfx)                                                           \
PYCONV_UKERNELS_FOR(avx512, real, sfx)                                                         \
PYCONV_UKERNELS_FOR(avx512x12, real, sfx)                                                      \
PYCONV_UKERNELS_FOR(neon, real, sfx)

PYCONV_GEMM_INTERNAL_FOR(float, f32)
PYCONV_GEMM_INTERNAL_FOR(double, f64)
#undef PYCONV_GEMM_INTERNAL_FOR
#undef PYCONV_UKERNELS_FOR

/* One instruction set's micro-kernels, blocking and B-panel transpose (NULL: element by
 * element, pyconv_pack_rows), and its fused Winograd micro-kernel with the tiles it takes at a
 * time (NULL and 0 where there is none: instruction sets with 16 vector registers, which would
 * hold too few tiles' accumulators; their Winograd runs the GEMM path). */
typedef struct {
    const char *name;
    pyconv_ukernel_f32 ukernel_f32;
    pyconv_ukernel_gather_f32 ukernel_gather_f32;
    pyconv_gemm_blocking blocking_f32;
    pyconv_pack_transposed_f32 pack_transposed_f32;
    pyconv_ukernel_f64 ukernel_f64;
    pyconv_ukernel_gather_f64 ukernel_gather_f64;
    pyconv_gemm_blocking blocking_f64;
    pyconv_pack_transposed_f64 pack_transposed_f64;
    pyconv_ukernel_wino_f32 ukernel_wino_f32;
    pyconv_ukernel_wino_f64 ukernel_wino_f64;
    int wino_tiles;
} pyconv_gemm_arch;

/* The table pyconv_gemm_init() chose (read-only afterwards). */
const pyconv_gemm_arch *pyconv_gemm_active_arch(void);

/* The macro-kernel: C (mc x nc, row stride ldc) = alpha * A @ B + beta * C over the B
 * micro-panels [jp_lo, jp_hi) of a kc-deep block (panel jp at b_block + jp*b_panel_stride)
 * and the mc rows of A. A tile short of C's bottom edge computes only its rows; one past C's
 * right edge goes through a temporary (edge tiles). */
#define PYCONV_MACRO_KERNEL_FOR(real, sfx)                                                      \
void pyconv_macro_kernel_##sfx(const pyconv_gemm_arch *arch, int64_t mc, int64_t nc,          \
                               int64_t kc, int64_t jp_lo, int64_t jp_hi, real alpha,           \
                               const pyconv_a_source_##sfx *a, const real *b_block,            \
                               int64_t b_panel_stride, real beta, real *c, int64_t ldc);
PYCONV_MACRO_KERNEL_FOR(float, f32)
PYCONV_MACRO_KERNEL_FOR(double, f64)
#undef PYCONV_MACRO_KERNEL_FOR

/* Threads worth using for an m x n x k product: at most n_threads, fewer when the work is too
 * small to pay for them (pyconv_threads_for), never more than n_tiles. */
int pyconv_gemm_thread_count(int64_t m, int64_t n, int64_t k, int64_t n_tiles, int n_threads);

#endif /* PYCONV_GEMM_INTERNAL_H */
