"""The SIMD micro-kernel template (kernels/gemm/ukernel_simd_t.h) at the AVX-512 width, on any
AVX2 machine: a small C program instantiates it with 64-byte vectors (7x32 float, 7x16 double
tiles, as ukernel_avx512.c does, and 12-row ones, as ukernel_avx512x12.c) but compiled for AVX2 + FMA, where GCC splits each 64-byte
operation in two, and checks the packed and the gathered entry points against plain loops, at
every tile height m = 1 .. MR (rows m .. MR-1 of C must stay untouched).
This tests the template's indexing at that width; the AVX-512 instructions themselves run only
on a CPU that has them (dispatch.c picks them there). Needs a C compiler and the source tree."""
import os
import shutil
import subprocess
import textwrap

import pytest

import pyconv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNELS = os.path.join(ROOT, "kernels")
PUBLIC_INCLUDE = os.path.join(ROOT, "pyconv", "include")

HARNESS = textwrap.dedent(r"""
    #include "gemm/gemm_internal.h"
    #include <math.h>
    #include <stdio.h>

    #define PYCONV_WIDE_MR_f32 ROWS
    #define PYCONV_WIDE_NR_f32 32
    #define PYCONV_WIDE_MR_f64 ROWS
    #define PYCONV_WIDE_NR_f64 16
    #define PYCONV_SIMD_BYTES 64
    #define PYCONV_SIMD_TARGET "avx2,fma"
    #define PYCONV_SIMD_CFG(x) PYCONV_WIDE_##x
    #define PYCONV_SIMD_NAME(f) f##_wide
    #define PYCONV_TEMPLATE "gemm/ukernel_simd_t.h"
    #include "common/pyconv_instantiate.h"

    /* The first m rows of C (ROWS x nr, ldc = nr + 3) = alpha * A @ B + beta * C, packed and
     * gathered, against loops; the other rows keep their values. */
    #define CHECK(real, sfx, NR, TOL)                                                         \
    static int check_##sfx(int64_t m, int64_t kc, real alpha, real beta) {                    \
        enum { MR = ROWS, LDC = NR + 3 };                                                     \
        static real a[MR * 64], b[64 * NR] __attribute__((aligned(64)));                      \
        static real img[4096];                                                                \
        real c0[MR * LDC], c1[MR * LDC], want[MR * LDC];                                      \
        int64_t off[64];                                                                      \
        const real *rows[MR];                                                                 \
        for (int i = 0; i < 4096; i++) img[i] = (real)((i * 37 % 101) - 50) / 25;             \
        for (int64_t p = 0; p < kc; p++) off[p] = (p * 53) % 2000;                            \
        for (int i = 0; i < MR; i++) rows[i] = img + 17 * i + 3;                              \
        for (int64_t p = 0; p < kc; p++)                                                      \
            for (int i = 0; i < MR; i++) a[p * MR + i] = rows[i][off[p]];                     \
        for (int64_t k = 0; k < kc * NR; k++) b[k] = (real)((k * 29 % 83) - 41) / 20;         \
        for (int k = 0; k < MR * LDC; k++) c0[k] = c1[k] = want[k] = (real)(k % 7);          \
        for (int i = 0; i < m; i++)                                                           \
            for (int j = 0; j < NR; j++) {                                                    \
                double s = 0;                                                                 \
                for (int64_t p = 0; p < kc; p++) s += (double)a[p * MR + i] * b[p * NR + j];  \
                want[i * LDC + j] = (real)(alpha * s + (beta == 0 ? 0 : beta * want[i * LDC + j])); \
            }                                                                                 \
        /* the packed call fetches nothing ahead, the gathered one its own B panel's lines */ \
        pyconv_ukernel_wide_##sfx(m, kc, alpha, a, b, beta, c0, LDC, PYCONV_NO_PREFETCH);     \
        for (int i = m; i < MR; i++) rows[i] = NULL; /* never read */                        \
        const pyconv_prefetch pf = {b, kc * NR * (int64_t)sizeof(real) / 64};                \
        pyconv_ukernel_gather_wide_##sfx(m, kc, off, rows, b, beta, c1, LDC, pf);             \
        int bad = 0;                                                                          \
        for (int i = 0; i < MR; i++)                                                          \
            for (int j = 0; j < LDC; j++) {                                                   \
                const real w = want[i * LDC + j], g1 = c1[i * LDC + j];                       \
                const real g0 = c0[i * LDC + j];                                              \
                const double tol = TOL * (kc + 1) * (1 + fabs((double)w));                    \
                if (fabs((double)g0 - w) > tol) bad = 1;                                      \
                if (alpha == 1 && fabs((double)g1 - w) > tol) bad = 1;                        \
            }                                                                                 \
        return bad;                                                                           \
    }
    CHECK(float, f32, 32, 1e-6)
    CHECK(double, f64, 16, 1e-14)

    int main(void) {
        int bad = 0;
        const int64_t depths[] = {0, 1, 3, 4, 5, 17, 64};
        for (int64_t m = 1; m <= ROWS; m++)
            for (int d = 0; d < 7; d++) {
                bad |= check_f32(m, depths[d], 1, 0) | check_f32(m, depths[d], 1, 1);
                bad |= check_f32(m, depths[d], 0.5f, 2) | check_f64(m, depths[d], 1, 0);
                bad |= check_f64(m, depths[d], 1, 1) | check_f64(m, depths[d], -2, 0.25);
            }
        puts(bad ? "mismatch" : "ok");
        return bad;
    }
""")


def _avx2():
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return " avx2" in flags and " fma" in flags


@pytest.mark.skipif(not os.path.isdir(KERNELS), reason="needs the source tree's kernels/")
@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
@pytest.mark.skipif(not _avx2(), reason="the harness is compiled for AVX2 + FMA")
@pytest.mark.parametrize("rows", [6, 7, 12])
def test_wide_template_matches_loops(tmp_path, rows):
    src = tmp_path / "wide.c"
    exe = tmp_path / "wide"
    src.write_text(HARNESS)
    subprocess.run(["cc", "-O2", "-std=c11", f"-DROWS={rows}", "-I", KERNELS, "-I", PUBLIC_INCLUDE, str(src),
                    "-o", str(exe), "-lm"],
                   check=True, capture_output=True, text=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


def test_show_config_names_the_kernel():
    assert pyconv._gemm.isa() in ("reference", "avx2+fma", "avx512f", "avx512f-12x32", "neon")
