#include "common/transpose.h"
#include "conv/conv_internal.h"

/* The sums are vectors of PYCONV_DW_BYTES bytes, written with GCC/clang vector extensions (in
 * the AVX2 clone one ymm register, in the baseline one two xmm); other compilers get vectors of
 * one element. `real` is the template's type. */
#if defined(__GNUC__)
#define PYCONV_DW_BYTES PYCONV_TRANSPOSE_BYTES
#else
#define PYCONV_DW_BYTES sizeof(real)
#endif
#define PYCONV_DW_LANES ((int)(PYCONV_DW_BYTES / sizeof(real)))
/* Vector sums per output tile: the multiply-add latency (4) times its throughput (2 a cycle). */
#define PYCONV_DW_TILE_VECTORS 8
/* Taps whose weight-gradient sums one pass keeps in registers: a 3x3 kernel in one pass. */
#define PYCONV_DW_TAP_CHUNK 9
/* The widest output rows the forward pass runs by channel blocks (depthwise_t.h). Measured,
 * 3x3 padding 1, batch 1, one thread, time by blocks / by planes: float32 0.72-0.84 for
 * MobileNetV2's layers at 7-28 outputs wide, float64 0.72-0.82 at 7-28; wider rows fill the
 * planes' tiles and a block's interleaved copy outgrows L1 (float32 at 56 wide: 0.84 with 144
 * channels but 1.14 with 24; 16 channels at 112: 1.27). */
#define PYCONV_DW_BLOCK_MAX_WIDTH 32
/* Most channels of one weight-gradient task (their sums stay in L1: 64 x 9 taps x 32 bytes). */
#define PYCONV_DW_CHANNEL_RUN 64

/* A zero-padded copy of one plane: padded row r and padded column c (source row r - top,
 * column c - left) sit at (r * phases + c % phases) * width + c / phases. Splitting the
 * columns into `phases` interleaved rows (the stride) makes each tap of a strided output row
 * one contiguous run. */
typedef struct {
    int64_t rows, phases, width, top, left;
} pyconv_dw_plane;

/* The input-gradient positions by phase along each axis (see pyconv_dw_phase_taps): n_h row
 * phases with their taps, shifts, starts and position counts; the same for n_w column phases. */
typedef struct {
    int64_t n_h, n_w;
    int64_t *start_h, *count_h, *tap_h, *shift_h, *start_w, *count_w, *tap_w, *shift_w;
} pyconv_dw_phases;

PYCONV_INLINE int64_t pyconv_dw_plane_size(const pyconv_dw_plane *l)
{
    return l->rows * l->phases * l->width;
}

PYCONV_INLINE int64_t pyconv_round_up(int64_t n, int64_t multiple)
{
    return (n + multiple - 1) / multiple * multiple;
}

/* off[i*kw + j]: where tap (i, j) of output (0, 0) sits in the input layout l. */
static void pyconv_dw_input_offsets(const pyconv_conv_shape *s, const pyconv_dw_plane *l,
                                    int64_t *off)
{
    for (int64_t i = 0; i < s->kh; i++)
        for (int64_t j = 0; j < s->kw; j++) {
            const int64_t col = j * s->dil_w;
            off[i * s->kw + j] = (i * s->dil_h * l->phases + col % l->phases) * l->width +
                                 col / l->phases;
        }
}

/* The kernel taps of one axis by phase: the count[ph] input-gradient positions ph + k*stride
 * (ph < n_phases, within size) receive tap t from output k + shift[t], for t in [start[ph],
 * start[ph + 1]), where tap[t] is the kernel index: those taps whose output position
 * (ph + pad - tap*dil) / stride is whole. Each tap belongs to at most one phase, so tap and
 * shift need k entries. */
static void pyconv_dw_phase_taps(int64_t n_phases, int64_t size, int64_t pad, int64_t stride,
                                 int64_t k, int64_t dil, int64_t *start, int64_t *count,
                                 int64_t *tap, int64_t *shift)
{
    int64_t n = 0;
    for (int64_t ph = 0; ph < n_phases; ph++) {
        start[ph] = n;
        count[ph] = (size - ph + stride - 1) / stride;
        for (int64_t i = 0; i < k; i++) {
            const int64_t a = ph + pad - i * dil;
            if (a % stride == 0) {
                tap[n] = i;
                shift[n++] = a / stride;
            }
        }
    }
    start[n_phases] = n;
}

#define PYCONV_TEMPLATE "conv/depthwise_t.h"
#include "common/pyconv_instantiate.h"
