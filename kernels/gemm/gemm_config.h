/* GEMM blocking parameters, per ISA and dtype: the one place they are set.
 *
 * MR x NR   micro-tile held in registers by the micro-kernel.
 * KC        depth of a packed block: an MR x KC A micro-panel plus a KC x NR B micro-panel
 *           stay in L1 (32 KiB here) while the micro-kernel streams them.
 * MC        rows of the packed A block (MC x KC), kept in L2 (512 KiB per core here).
 * NC        columns of the packed B block (KC x NC), kept in L3 (32 MiB shared here) and
 *           shared by the threads.
 * MC is a multiple of MR and NC a multiple of NR. Names end in the dtype suffix (_f32 / _f64)
 * so templates can select them with FN(). Tuned on an AMD EPYC (Zen 3, AVX2 + FMA). */
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

/* AVX-512F: the same 6 x (2 vectors) kernel on 64-byte vectors (12 of 32 zmm registers as
 * accumulators). Sized for a Skylake-SP-like core (32 KiB L1, 1 MiB L2): a 6 x KC A micro-panel
 * plus a KC x 32 B micro-panel in L1 at KC = 128. Not tuned: no AVX-512 machine was at hand. */
#define PYCONV_AVX512_MR_f32 6
#define PYCONV_AVX512_NR_f32 32
#define PYCONV_AVX512_KC_f32 128
#define PYCONV_AVX512_MC_f32 288
#define PYCONV_AVX512_NC_f32 4096

#define PYCONV_AVX512_MR_f64 6
#define PYCONV_AVX512_NR_f64 16
#define PYCONV_AVX512_KC_f64 128
#define PYCONV_AVX512_MC_f64 144
#define PYCONV_AVX512_NC_f64 4096

/* NEON (aarch64, where it is always present): BLIS's armv8a shapes and blocking (8 x 12
 * float and 6 x 8 double tiles; MC 120, KC 640 / 240, NC 3072, from its Cortex-A57
 * configuration). Not tuned: no ARM machine was at hand, only QEMU. */
#if defined(__aarch64__) && defined(__GNUC__)
#define PYCONV_HAVE_NEON 1
#else
#define PYCONV_HAVE_NEON 0
#endif
#define PYCONV_NEON_MR_f32 8
#define PYCONV_NEON_NR_f32 12
#define PYCONV_NEON_KC_f32 640
#define PYCONV_NEON_MC_f32 120
#define PYCONV_NEON_NC_f32 3072

#define PYCONV_NEON_MR_f64 6
#define PYCONV_NEON_NR_f64 8
#define PYCONV_NEON_KC_f64 240
#define PYCONV_NEON_MC_f64 120
#define PYCONV_NEON_NC_f64 3072

/* Largest MR * NR of any micro-kernel: the size of the temporary tile for edge tiles. */
#define PYCONV_GEMM_MAX_TILE 192

#endif /* PYCONV_GEMM_CONFIG_H */
