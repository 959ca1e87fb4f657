/* Run-time choice of the GEMM micro-kernels: CPU detection once, a read-only table after. */
#include "gemm/gemm_internal.h"

#define PYCONV_BLOCKING(isa, sfx)                                                              \
    { PYCONV_##isa##_MR_##sfx, PYCONV_##isa##_NR_##sfx, PYCONV_##isa##_KC_##sfx,                \
      PYCONV_##isa##_MC_##sfx, PYCONV_##isa##_NC_##sfx }

static const pyconv_gemm_arch reference_arch = {
    "reference",
    pyconv_ukernel_ref_f32, pyconv_ukernel_gather_ref_f32, PYCONV_BLOCKING(REF, f32),
    pyconv_ukernel_ref_f64, pyconv_ukernel_gather_ref_f64, PYCONV_BLOCKING(REF, f64),
};

#if PYCONV_HAVE_AVX2
static const pyconv_gemm_arch avx2_arch = {
    "avx2+fma",
    pyconv_ukernel_avx2_f32, pyconv_ukernel_gather_avx2_f32, PYCONV_BLOCKING(AVX2, f32),
    pyconv_ukernel_avx2_f64, pyconv_ukernel_gather_avx2_f64, PYCONV_BLOCKING(AVX2, f64),
};

static const pyconv_gemm_arch avx512_arch = {
    "avx512f",
    pyconv_ukernel_avx512_f32, pyconv_ukernel_gather_avx512_f32, PYCONV_BLOCKING(AVX512, f32),
    pyconv_ukernel_avx512_f64, pyconv_ukernel_gather_avx512_f64, PYCONV_BLOCKING(AVX512, f64),
};
#endif

#if PYCONV_HAVE_NEON
static const pyconv_gemm_arch neon_arch = {
    "neon",
    pyconv_ukernel_neon_f32, pyconv_ukernel_gather_neon_f32, PYCONV_BLOCKING(NEON, f32),
    pyconv_ukernel_neon_f64, pyconv_ukernel_gather_neon_f64, PYCONV_BLOCKING(NEON, f64),
};
#endif

/* Written only by pyconv_gemm_init, which runs once, at the import of the module holding the
 * kernels, under the GIL, before any kernel can run. */
static const pyconv_gemm_arch *active_arch = &reference_arch;

/* The kernels this CPU runs, narrowest first, with their PYCONV_ARCH names. */
typedef struct {
    const char *key;
    const pyconv_gemm_arch *arch;
} arch_choice;

static int cpu_archs(arch_choice *out)
{
    int n = 0;
    out[n++] = (arch_choice){"reference", &reference_arch};
#if PYCONV_HAVE_AVX2
    __builtin_cpu_init();
    /* libgcc / compiler-rt also check that the OS saves the ymm / zmm registers. */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        out[n++] = (arch_choice){"avx2", &avx2_arch};
        if (__builtin_cpu_supports("avx512f")) out[n++] = (arch_choice){"avx512", &avx512_arch};
    }
#endif
#if PYCONV_HAVE_NEON
    out[n++] = (arch_choice){"neon", &neon_arch}; /* every aarch64 CPU has NEON */
#endif
    return n;
}

void pyconv_gemm_init(void)
{
    arch_choice archs[3];
    const int n = cpu_archs(archs);
    const char *forced = getenv("PYCONV_ARCH");
    active_arch = archs[n - 1].arch;
    for (int i = 0; forced != NULL && i < n; i++)
        if (strcmp(forced, archs[i].key) == 0) active_arch = archs[i].arch;
}

const char *pyconv_gemm_archs(void)
{
#if PYCONV_HAVE_NEON
    static const char *const lists[] = {"reference", "reference neon"};
#else
    static const char *const lists[] = {"reference", "reference avx2", "reference avx2 avx512"};
#endif
    arch_choice archs[3];
    return lists[cpu_archs(archs) - 1];
}

const pyconv_gemm_arch *pyconv_gemm_active_arch(void) { return active_arch; }

const char *pyconv_gemm_isa(void) { return active_arch->name; }
