/* Run-time choice of the GEMM micro-kernels: CPU detection once, a read-only table after. */
#include "gemm/gemm_internal.h"

#define PYCONV_BLOCKING(isa, sfx)                                                              \
    { PYCONV_##isa##_MR_##sfx, PYCONV_##isa##_NR_##sfx, PYCONV_##isa##_KC_##sfx,                \
      PYCONV_##isa##_MC_##sfx, PYCONV_##isa##_NC_##sfx, PYCONV_##isa##_PACK_A_PANELS }

/* Pack callbacks keep per-k-index data of one KC block on the stack (gemm_config.h). */
_Static_assert(PYCONV_REF_KC_f32 <= PYCONV_GEMM_MAX_KC && PYCONV_REF_KC_f64 <= PYCONV_GEMM_MAX_KC &&
                   PYCONV_AVX2_KC_f32 <= PYCONV_GEMM_MAX_KC && PYCONV_AVX2_KC_f64 <= PYCONV_GEMM_MAX_KC &&
                   PYCONV_AVX512_KC_f32 <= PYCONV_GEMM_MAX_KC && PYCONV_AVX512_KC_f64 <= PYCONV_GEMM_MAX_KC &&
                   PYCONV_AVX512X12_KC_f32 <= PYCONV_GEMM_MAX_KC && PYCONV_AVX512X12_KC_f64 <= PYCONV_GEMM_MAX_KC &&
                   PYCONV_NEON_KC_f32 <= PYCONV_GEMM_MAX_KC && PYCONV_NEON_KC_f64 <= PYCONV_GEMM_MAX_KC,
               "KC beyond PYCONV_GEMM_MAX_KC");
/* Both AVX-512 tables run the one fused Winograd micro-kernel, written for its panel width. */
_Static_assert(PYCONV_AVX512X12_NR_f32 == PYCONV_AVX512_NR_f32 &&
                   PYCONV_AVX512X12_NR_f64 == PYCONV_AVX512_NR_f64,
               "the AVX-512 tables' panels are as wide");

static const pyconv_gemm_arch reference_arch = {
    "reference",
    pyconv_ukernel_ref_f32, pyconv_ukernel_gather_ref_f32, PYCONV_BLOCKING(REF, f32), NULL,
    pyconv_ukernel_ref_f64, pyconv_ukernel_gather_ref_f64, PYCONV_BLOCKING(REF, f64), NULL,
    NULL, NULL, 0,
};

#if PYCONV_HAVE_AVX2
static const pyconv_gemm_arch avx2_arch = {
    "avx2+fma",
    pyconv_ukernel_avx2_f32, pyconv_ukernel_gather_avx2_f32, PYCONV_BLOCKING(AVX2, f32),
    pyconv_pack_transposed_avx2_f32,
    pyconv_ukernel_avx2_f64, pyconv_ukernel_gather_avx2_f64, PYCONV_BLOCKING(AVX2, f64),
    pyconv_pack_transposed_avx2_f64,
    NULL, NULL, 0,
};

static const pyconv_gemm_arch avx512_arch = {
    "avx512f",
    pyconv_ukernel_avx512_f32, pyconv_ukernel_gather_avx512_f32, PYCONV_BLOCKING(AVX512, f32),
    pyconv_pack_transposed_avx512_f32,
    pyconv_ukernel_avx512_f64, pyconv_ukernel_gather_avx512_f64, PYCONV_BLOCKING(AVX512, f64),
    pyconv_pack_transposed_avx512_f64,
    pyconv_ukernel_wino_avx512_f32, pyconv_ukernel_wino_avx512_f64, PYCONV_AVX512_WINO_TILES,
};

static const pyconv_gemm_arch avx512x12_arch = {
    "avx512f-12x32",
    pyconv_ukernel_avx512x12_f32, pyconv_ukernel_gather_avx512x12_f32, PYCONV_BLOCKING(AVX512X12, f32),
    pyconv_pack_transposed_avx512_f32,
    pyconv_ukernel_avx512x12_f64, pyconv_ukernel_gather_avx512x12_f64, PYCONV_BLOCKING(AVX512X12, f64),
    pyconv_pack_transposed_avx512_f64,
    /* the panels are as wide as the 7-row kernel's: its fused Winograd kernel serves */
    pyconv_ukernel_wino_avx512_f32, pyconv_ukernel_wino_avx512_f64, PYCONV_AVX512_WINO_TILES,
};
#endif

#if PYCONV_HAVE_NEON
static const pyconv_gemm_arch neon_arch = {
    "neon",
    pyconv_ukernel_neon_f32, pyconv_ukernel_gather_neon_f32, PYCONV_BLOCKING(NEON, f32), NULL,
    pyconv_ukernel_neon_f64, pyconv_ukernel_gather_neon_f64, PYCONV_BLOCKING(NEON, f64), NULL,
    NULL, NULL, 0,
};
#endif

/* Written only by pyconv_gemm_init, which runs once, at the import of the module holding the
 * kernels, under the GIL, before any kernel can run. */
static const pyconv_gemm_arch *active_arch = &reference_arch;

/* The kernels this CPU runs, with their PYCONV_ARCH names, in the order pyconv_gemm_archs lists
 * them; the last is the default. */
typedef struct {
    const char *key;
    const pyconv_gemm_arch *arch;
} arch_choice;

#define PYCONV_MAX_ARCHS 4

static int cpu_archs(arch_choice *out)
{
    int n = 0;
    out[n++] = (arch_choice){"reference", &reference_arch};
#if PYCONV_HAVE_AVX2
    __builtin_cpu_init();
    /* libgcc / compiler-rt also check that the OS saves the ymm / zmm registers. */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        out[n++] = (arch_choice){"avx2", &avx2_arch};
        if (__builtin_cpu_supports("avx512f")) {
            /* the 7-row kernel on AMD (gemm_config.h); Intel's cores want the 12-row one */
            const arch_choice seven = {"avx512", &avx512_arch}, twelve = {"avx512x12", &avx512x12_arch};
            const int intel = __builtin_cpu_is("intel");
            out[n++] = intel ? seven : twelve;
            out[n++] = intel ? twelve : seven;
        }
    }
#endif
#if PYCONV_HAVE_NEON
    out[n++] = (arch_choice){"neon", &neon_arch}; /* every aarch64 CPU has NEON */
#endif
    return n;
}

void pyconv_gemm_init(void)
{
    arch_choice archs[PYCONV_MAX_ARCHS];
    const int n = cpu_archs(archs);
    const char *forced = getenv("PYCONV_ARCH");
    active_arch = archs[n - 1].arch;
    for (int i = 0; forced != NULL && i < n; i++)
        if (strcmp(forced, archs[i].key) == 0) active_arch = archs[i].arch;
}

const char *pyconv_gemm_archs(void)
{
#if PYCONV_HAVE_NEON
    return "reference neon"; /* cpu_archs on every aarch64 CPU */
#elif PYCONV_HAVE_AVX2
    arch_choice archs[PYCONV_MAX_ARCHS];
    const int n = cpu_archs(archs);
    if (n < 3) return n == 1 ? "reference" : "reference avx2";
    return archs[n - 1].arch == &avx512_arch ? "reference avx2 avx512x12 avx512"
                                             : "reference avx2 avx512 avx512x12";
#else
    return "reference";
#endif
}

const char *pyconv_gemm_arch_name(void)
{
    arch_choice archs[PYCONV_MAX_ARCHS];
    const int n = cpu_archs(archs);
    for (int i = 0; i < n; i++)
        if (archs[i].arch == active_arch) return archs[i].key;
    return "reference";
}

const pyconv_gemm_arch *pyconv_gemm_active_arch(void) { return active_arch; }

const char *pyconv_gemm_isa(void) { return active_arch->name; }
