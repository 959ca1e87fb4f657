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

/* Written only by pyconv_gemm_init, which runs at module import under the GIL, before any
 * kernel can run; until then the portable kernel is used. */
static const pyconv_gemm_arch *active_arch = &reference_arch;

/* The widest kernel the CPU runs; `forced` (PYCONV_ARCH) may ask for "reference", or for
 * "avx2" on an AVX-512 CPU (to compare the two). */
static const pyconv_gemm_arch *detect_arch(const char *forced)
{
    if (forced != NULL && strcmp(forced, "reference") == 0) return &reference_arch;
#if PYCONV_HAVE_AVX2
    __builtin_cpu_init();
    /* libgcc / compiler-rt also check that the OS saves the ymm / zmm registers. */
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const int avx2_forced = forced != NULL && strcmp(forced, "avx2") == 0;
    if (avx2 && __builtin_cpu_supports("avx512f") && !avx2_forced) return &avx512_arch;
    if (avx2) return &avx2_arch;
#endif
#if PYCONV_HAVE_NEON
    return &neon_arch; /* every aarch64 CPU has NEON */
#endif
    return &reference_arch;
}

/* GCC / clang also run it when each extension module's copy of the library is loaded (at its
 * import, under the GIL), so modules that forget to call it still get the fast kernels. */
#if defined(__GNUC__)
__attribute__((constructor))
#endif
void pyconv_gemm_init(void)
{
    /* PYCONV_ARCH=reference forces the portable micro-kernel (tests run both paths). */
    active_arch = detect_arch(getenv("PYCONV_ARCH"));
}

const pyconv_gemm_arch *pyconv_gemm_active_arch(void) { return active_arch; }

const char *pyconv_gemm_isa(void) { return active_arch->name; }
