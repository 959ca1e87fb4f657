/* GEMM blocking parameters, per ISA and dtype: the one place they are set.
 *
 * MR x NR   micro-tile held in registers by the micro-kernel.
 * KC        depth of a packed block: an MR x KC A micro-panel plus a KC x NR B micro-panel
 *           stay in L1 (32 KiB here) while the micro-kernel streams them.
 * MC        rows of the packed A block (MC x KC), kept in L2 (512 KiB per core here).
 * NC        columns of the packed B block (KC x NC), kept in L3 (32 MiB shared here) and
 *           shared by the threads.
 * PACK_A_PANELS  the implicit GEMM of a 1x1 convolution packs a block of gathered pixels into
 *           micro-panels before multiplying it by at least this many B micro-panels (0: never;
 *           implicit_forward_t.h).
 * MC is a multiple of MR and NC a multiple of NR. Names end in the dtype suffix (_f32 / _f64)
 * so templates can select them with FN(). AVX2: tuned on an AMD EPYC (Zen 3); AVX-512 (7 rows): on a
 * Zen 4. */
#ifndef PYCONV_GEMM_CONFIG_H
#define PYCONV_GEMM_CONFIG_H

/* Portable C micro-kernel: small tiles the compiler can keep in 16 SSE registers. */
#define PYCONV_REF_MR_f32 4
#define PYCONV_REF_NR_f32 8
#define PYCONV_REF_KC_f32 256
#define PYCONV_REF_MC_f32 128
#define PYCONV_REF_NC_f32 4096

#define PYCONV_REF_MR_f64 4
#define PYCONV_REF_NR_f64 4
#define PYCONV_REF_KC_f64 256
#define PYCONV_REF_MC_f64 64
#define PYCONV_REF_NC_f64 4096
#define PYCONV_REF_PACK_A_PANELS 0

/* The AVX2 + FMA (and AVX-512) micro-kernels need x86-64 and GCC/clang's per-function target
 * attribute (the library itself is compiled for baseline x86-64). */
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define PYCONV_HAVE_AVX2 1
#else
#define PYCONV_HAVE_AVX2 0
#endif

/* AVX2 + FMA: 6 rows x 2 ymm registers = 12 accumulators (of 16 ymm registers). */
#define PYCONV_AVX2_MR_f32 6
#define PYCONV_AVX2_NR_f32 16
#define PYCONV_AVX2_KC_f32 256
#define PYCONV_AVX2_MC_f32 144
#define PYCONV_AVX2_NC_f32 4080

#define PYCONV_AVX2_MR_f64 6
#define PYCONV_AVX2_NR_f64 8
#define PYCONV_AVX2_KC_f64 256
#define PYCONV_AVX2_MC_f64 72
#define PYCONV_AVX2_NC_f64 4080

/* A 1x1 layer's gathered tile reads another input plane, another cache line, at each of its KC
 * k steps: 16-32 KiB of lines beside the 16 KiB B micro-panel in a 32 KiB L1. Packed first,
 * 1x1 layers of 128 filters and more ran 1.1-1.5x faster on a Zen 3, fewer filters gained
 * nothing (docs/performance.md, fourteenth session). The other tables are not measured yet. */
#define PYCONV_AVX2_PACK_A_PANELS 8

/* AVX-512F: the same kernel on 64-byte vectors, 7 rows x 2 vectors (14 of 32 zmm registers
 * accumulate), chosen on AMD CPUs. 7 rows, not 6: the implicit GEMM's rows are output pixels,
 * and networks fed 224x224 images have 7 * 2^k pixels per image (49 at 7x7 fill 7 tiles exactly,
 * where 6-row tiles computed 54 rows). KC = 512 float / 256 double: each C tile is loaded and
 * stored once per KC multiply-adds of every accumulator, and the KC x NR B micro-panel (64 /
 * 32 KiB) streams from L2 at 128 bytes per 14 FMAs, far under L2's bandwidth; the MC x KC A block
 * (224 KiB, MC = 16 tiles) stays in a 1 MiB L2. Chosen by measured speed on a Zen 4 (figures in
 * docs/performance.md): the float GEMM at 1 thread runs at 0.88-0.92 of the core's FMA peak at
 * every size from 256 to 2064, where 6 rows at KC = 128 ranged over 0.73-0.89. */
#define PYCONV_AVX512_MR_f32 7
#define PYCONV_AVX512_NR_f32 32
#define PYCONV_AVX512_KC_f32 512
#define PYCONV_AVX512_MC_f32 112
#define PYCONV_AVX512_NC_f32 4096

#define PYCONV_AVX512_MR_f64 7
#define PYCONV_AVX512_NR_f64 16
#define PYCONV_AVX512_KC_f64 256
#define PYCONV_AVX512_MC_f64 112
#define PYCONV_AVX512_NC_f64 4096
#define PYCONV_AVX512_PACK_A_PANELS 0

/* The fused Winograd micro-kernel (ukernel_wino_t.h) of both AVX-512 tables: tiles per group.
 * 4 tiles x 6 elements of a row of the 6x6 = 24 accumulators, beside 3 vectors of the row's
 * transform and the 6 values made from them, in 32 zmm registers; each transformed filter
 * vector (6 adds or multiply-adds of its row) then feeds 4 FMAs. */
#define PYCONV_AVX512_WINO_TILES 4

/* AVX-512F, 12 x (2 vectors): 24 of 32 zmm registers accumulate, so each B vector load feeds
 * 12 FMAs and 24 independent chains cover the FMA latency of two pipes -- the shape of BLIS's
 * and MKL's Skylake-X kernels, chosen on Intel CPUs. The KC x 32 B micro-panel (the one loop 2
 * keeps in L1) is 24 KiB at KC = 192, under a 32-48 KiB L1 with the streamed A panels; the
 * MC x KC A block (360 KiB) stays in a 1-2 MiB L2; the KC x NC B block (2.3 MiB) in L3. */
#define PYCONV_AVX512X12_MR_f32 12
#define PYCONV_AVX512X12_NR_f32 32
#define PYCONV_AVX512X12_KC_f32 192
#define PYCONV_AVX512X12_MC_f32 480
#define PYCONV_AVX512X12_NC_f32 3072

#define PYCONV_AVX512X12_MR_f64 12
#define PYCONV_AVX512X12_NR_f64 16
#define PYCONV_AVX512X12_KC_f64 192
#define PYCONV_AVX512X12_MC_f64 240
#define PYCONV_AVX512X12_NC_f64 3072
#define PYCONV_AVX512X12_PACK_A_PANELS 0

/* NEON (aarch64, where it is always present): BLIS's armv8a tile shapes (8 x 12 float, 6 x 8
 * double) and its Cortex-A57 MC and NC (120, 3072). KC 256 (BLIS: 640 / 240; at most
 * PYCONV_GEMM_MAX_KC here) keeps an MR x KC A micro-panel plus a KC x NR B micro-panel (20 KiB
 * float, 28 KiB double) in a 32 KiB L1D (Cortex-A72/A76; Neoverse cores have 64 KiB). Not
 * tuned: no ARM machine was at hand, only QEMU. */
#if defined(__aarch64__) && defined(__GNUC__)
#define PYCONV_HAVE_NEON 1
#else
#define PYCONV_HAVE_NEON 0
#endif
#define PYCONV_NEON_MR_f32 8
#define PYCONV_NEON_NR_f32 12
#define PYCONV_NEON_KC_f32 256
#define PYCONV_NEON_MC_f32 120
#define PYCONV_NEON_NC_f32 3072

#define PYCONV_NEON_MR_f64 6
#define PYCONV_NEON_NR_f64 8
#define PYCONV_NEON_KC_f64 256
#define PYCONV_NEON_MC_f64 120
#define PYCONV_NEON_NC_f64 3072
#define PYCONV_NEON_PACK_A_PANELS 0

/* B micro-panels in a chunk of C's columns when the threads take the columns in parts, each
 * packing all of A (one MC block, or one packed A block's worth, at most) beside its own B:
 * 4 panels are 4 x NR products per packed A value. */
#define PYCONV_GEMM_CHUNK_PANELS 4

/* Largest KC of any micro-kernel: pack callbacks may keep per-k-index data on the stack. */
#define PYCONV_GEMM_MAX_KC 512

/* Largest MR * NR of any micro-kernel: the size of the temporary tile for edge tiles. */
#define PYCONV_GEMM_MAX_TILE 384

#endif /* PYCONV_GEMM_CONFIG_H */
