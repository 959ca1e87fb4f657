/* The NEON micro-kernel (kernels/gemm/ukernel_neon_t.h) against the portable one, built for
 * aarch64 with the whole kernel library and run under QEMU (make test-aarch64):
 *  1. the GEMM entry point pyconv_gemm_* with the dispatched kernel (which must be "neon") and
 *     with PYCONV_ARCH=reference, both against double-precision loops, on edge-case m, n, k
 *     (0, 1, tile - 1, tile + 1, past a cache block, a large k), both transposes, several alpha
 *     and beta;
 *  2. the gather entry point pyconv_ukernel_gather_neon_* against the packed one and loops, at
 *     every tile height m = 1 .. MR;
 *  3. the convolution and its input and weight gradients with the im2col algorithm (implicit
 *     GEMM, which runs the gather kernel) against the direct one.
 * Prints one line per failure and exits non-zero if any. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm/gemm_internal.h"

static int failures;

static void fail(const char *what, const char *sfx, long long m, long long n, long long k,
                 double got, double want)
{
    if (failures++ < 20)
        printf("FAIL %s %s m=%lld n=%lld k=%lld: got %.9g want %.9g\n", what, sfx, m, n, k, got, want);
}

/* Values in [-1, 1) from a fixed sequence: the same inputs on every run. */
static double next_value(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (double)((*state >> 8) & 0xffff) / 32768.0 - 1.0;
}

#define TESTS_FOR(real, sfx, EPS)                                                                \
static int close_##sfx(double got, double want, int64_t k)                                      \
{                                                                                               \
    return fabs(got - want) <= EPS * (double)(k + 2) * (1.0 + fabs(want));                     \
}                                                                                               \
                                                                                                \
/* C = alpha * op(A) @ op(B) + beta * C, dispatched (NEON) and reference, against loops. */     \
static void check_gemm_##sfx(int64_t m, int64_t n, int64_t k, int ta, int tb, real alpha,      \
                             real beta)                                                         \
{                                                                                               \
    unsigned state = (unsigned)(m * 131 + n * 17 + k * 7 + ta * 3 + tb);                        \
    const int64_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;                  \
    const int64_t a_rows = ta ? k : m, b_rows = tb ? n : k;                                    \
    real *a = malloc(sizeof(real) * (size_t)(a_rows * lda + 1));                                \
    real *b = malloc(sizeof(real) * (size_t)(b_rows * ldb + 1));                                \
    real *c0 = malloc(sizeof(real) * (size_t)(m * ldc + 1));                                    \
    real *c[2] = {malloc(sizeof(real) * (size_t)(m * ldc + 1)),                                 \
                  malloc(sizeof(real) * (size_t)(m * ldc + 1))};                                \
    for (int64_t i = 0; i < a_rows * lda; i++) a[i] = (real)next_value(&state);                 \
    for (int64_t i = 0; i < b_rows * ldb; i++) b[i] = (real)next_value(&state);                 \
    for (int64_t i = 0; i < m * ldc; i++) c0[i] = c[0][i] = c[1][i] = (real)next_value(&state); \
    for (int arch = 0; arch < 2; arch++) {                                                      \
        if (arch == 1) setenv("PYCONV_ARCH", "reference", 1);                                   \
        pyconv_gemm_init();                                                                     \
        if (pyconv_gemm_##sfx(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c[arch], ldc, 2)    \
            != PYCONV_OK)                                                                        \
            fail("gemm status", #sfx, m, n, k, 0, 0);                                           \
    }                                                                                           \
    unsetenv("PYCONV_ARCH");                                                                    \
    pyconv_gemm_init();                                                                         \
    for (int64_t i = 0; i < m; i++)                                                             \
        for (int64_t j = 0; j < ldc; j++) {                                                     \
            double want = c0[i * ldc + j];                                                      \
            if (j < n) {                                                                        \
                double s = 0;                                                                   \
                for (int64_t p = 0; p < k; p++)                                                 \
                    s += (double)a[ta ? p * lda + i : i * lda + p] *                            \
                         b[tb ? j * ldb + p : p * ldb + j];                                     \
                want = alpha * s + (beta == 0 ? 0 : beta * want);                               \
            }                                                                                   \
            for (int arch = 0; arch < 2; arch++)                                                \
                if (!close_##sfx(c[arch][i * ldc + j], want, k))                                \
                    fail(arch ? "gemm reference" : "gemm neon", #sfx, m, n, k,                  \
                         c[arch][i * ldc + j], want);                                           \
        }                                                                                       \
    free(a); free(b); free(c0); free(c[0]); free(c[1]);                                         \
}                                                                                               \
                                                                                                \
/* The first m rows of an MR x NR tile, A gathered through row pointers and offsets (rows past \
 * m NULL: never read), against A packed and loops; the other rows keep their values. */       \
static void check_gather_##sfx(int64_t m, int64_t kc, real beta)                               \
{                                                                                               \
    enum { MR = PYCONV_NEON_MR_##sfx, NR = PYCONV_NEON_NR_##sfx, LDC = NR + 5, IMG = 9000 };    \
    unsigned state = (unsigned)kc;                                                              \
    real *img = malloc(sizeof(real) * IMG);                                                     \
    real *packed = malloc(sizeof(real) * (size_t)(MR * kc + 1));                                \
    real *b = malloc(sizeof(real) * (size_t)(NR * kc + 1));                                     \
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(kc + 1));                                 \
    real c_gather[MR * LDC], c_packed[MR * LDC], want[MR * LDC];                                \
    const real *rows[MR];                                                                       \
    for (int i = 0; i < IMG; i++) img[i] = (real)next_value(&state);                            \
    for (int i = 0; i < MR; i++) rows[i] = img + 29 * i + 1;                                    \
    for (int64_t p = 0; p < kc; p++) off[p] = (p * 97) % (IMG - 29 * MR - 1);                   \
    for (int64_t p = 0; p < kc; p++)                                                            \
        for (int i = 0; i < MR; i++) packed[p * MR + i] = rows[i][off[p]];                      \
    for (int64_t i = 0; i < NR * kc; i++) b[i] = (real)next_value(&state);                      \
    for (int i = 0; i < MR * LDC; i++) c_gather[i] = c_packed[i] = want[i] = (real)next_value(&state); \
    for (int i = 0; i < m; i++)                                                                 \
        for (int j = 0; j < NR; j++) {                                                          \
            double s = 0;                                                                       \
            for (int64_t p = 0; p < kc; p++) s += (double)packed[p * MR + i] * b[p * NR + j];   \
            want[i * LDC + j] = (real)(s + (beta == 0 ? 0 : beta * want[i * LDC + j]));        \
        }                                                                                       \
    for (int i = m; i < MR; i++) rows[i] = NULL;                                                \
    /* the gathered call fetches its own B panel's lines ahead, the packed one nothing */       \
    const pyconv_prefetch pf = {b, kc * NR * (int64_t)sizeof(real) / 64};                       \
    pyconv_ukernel_gather_neon_##sfx(m, kc, off, rows, b, beta, c_gather, LDC, pf);             \
    pyconv_ukernel_neon_##sfx(m, kc, 1, packed, b, beta, c_packed, LDC, PYCONV_NO_PREFETCH);    \
    for (int i = 0; i < MR * LDC; i++) {                                                        \
        if (!close_##sfx(c_gather[i], want[i], kc))                                             \
            fail("gather neon", #sfx, MR, NR, kc, c_gather[i], want[i]);                        \
        if (!close_##sfx(c_packed[i], want[i], kc))                                             \
            fail("packed neon", #sfx, MR, NR, kc, c_packed[i], want[i]);                        \
    }                                                                                           \
    free(img); free(packed); free(b); free(off);                                                \
}                                                                                               \
                                                                                                \
/* The convolution (with a residual and ReLU: the fused output stage at the NEON tiles' edges) \
 * and its input and weight gradients with the im2col algorithm (implicit GEMM: the gather      \
 * micro-kernel; GEMM + col2im) against the direct one. */                                      \
static void check_conv_##sfx(pyconv_conv_shape s)                                              \
{                                                                                               \
    unsigned state = (unsigned)(s.c_in * 7 + s.c_out);                                          \
    const int64_t nx = s.n * s.c_in * s.h_in * s.w_in;                                          \
    const int64_t nw = s.c_out * (s.c_in / s.groups) * s.kh * s.kw;                             \
    const int64_t ny = s.n * s.c_out * s.h_out * s.w_out;                                       \
    const int64_t k_fwd = nw / s.c_out, k_in = s.c_out * s.kh * s.kw, k_w = s.n * s.h_out * s.w_out; \
    real *x = malloc(sizeof(real) * (size_t)nx), *w = malloc(sizeof(real) * (size_t)nw);        \
    real *gy = malloc(sizeof(real) * (size_t)ny), *bias = malloc(sizeof(real) * (size_t)s.c_out); \
    real *out[2] = {malloc(sizeof(real) * (size_t)(nx + nw + ny)),                              \
                    malloc(sizeof(real) * (size_t)(nx + nw + ny))};                             \
    const pyconv_algorithm algos[2] = {PYCONV_ALGO_IM2COL, PYCONV_ALGO_DIRECT};                 \
    for (int64_t i = 0; i < nx; i++) x[i] = (real)next_value(&state);                           \
    for (int64_t i = 0; i < nw; i++) w[i] = (real)next_value(&state);                           \
    for (int64_t i = 0; i < ny; i++) gy[i] = (real)next_value(&state);                          \
    for (int64_t i = 0; i < s.c_out; i++) bias[i] = (real)next_value(&state);                   \
    for (int a = 0; a < 2; a++)                                                                 \
        if (pyconv_conv2d_##sfx(&s, algos[a], x, w, bias, gy, PYCONV_ACT_RELU, out[a], 2) != PYCONV_OK || \
            pyconv_conv2d_input_##sfx(&s, algos[a], w, gy, out[a] + ny, 2) != PYCONV_OK ||      \
            pyconv_conv2d_weight_##sfx(&s, algos[a], x, gy, out[a] + ny + nx, 2) != PYCONV_OK)  \
            fail("conv status", #sfx, s.c_out, s.h_out * s.w_out, k_fwd, 0, 0);                 \
    for (int64_t i = 0; i < nx + nw + ny; i++) {                                                \
        const int64_t k = i < ny ? k_fwd : i < ny + nx ? k_in : k_w;                            \
        if (!close_##sfx(out[0][i], out[1][i], k))                                              \
            fail(i < ny ? "conv2d im2col vs direct" : i < ny + nx ? "conv2d_input im2col vs direct" \
                        : "conv2d_weight im2col vs direct", #sfx, s.c_out, s.h_out * s.w_out, k, \
                 out[0][i], out[1][i]);                                                         \
    }                                                                                           \
    free(x); free(w); free(gy); free(bias); free(out[0]); free(out[1]);                         \
}                                                                                               \
                                                                                                \
static void run_##sfx(void)                                                                     \
{                                                                                               \
    enum { MR = PYCONV_NEON_MR_##sfx, NR = PYCONV_NEON_NR_##sfx, KC = PYCONV_NEON_KC_##sfx,     \
           MC = PYCONV_NEON_MC_##sfx };                                                         \
    const int64_t ms[] = {0, 1, MR - 1, MR, MR + 1, 2 * MR + 3, MC + 1};                        \
    const int64_t ns[] = {0, 1, NR - 1, NR, NR + 1, 3 * NR + 5};                                \
    const int64_t ks[] = {0, 1, 2, 7, KC + 1};                                                  \
    const real alphas[] = {1, (real)-2.5}, betas[] = {0, 1, (real)0.5};                         \
    int t = 0;                                                                                  \
    for (size_t im = 0; im < sizeof ms / sizeof *ms; im++)                                      \
        for (size_t in = 0; in < sizeof ns / sizeof *ns; in++)                                  \
            for (size_t ik = 0; ik < sizeof ks / sizeof *ks; ik++, t++)                         \
                check_gemm_##sfx(ms[im], ns[in], ks[ik], t & 1, (t >> 1) & 1, alphas[t % 2],    \
                                 betas[t % 3]);                                                  \
    check_gemm_##sfx(MR + 1, NR + 1, 3 * KC + 17, 0, 0, 1, 0); /* large k: several KC blocks */ \
    const int64_t depths[] = {0, 1, 2, 3, 5, 8, 31, KC + 3};                                    \
    for (int64_t m = 1; m <= MR; m++)                                                           \
        for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {                           \
            check_gather_##sfx(m, depths[d], 0);                                                \
            check_gather_##sfx(m, depths[d], (real)0.75);                                       \
        }                                                                                       \
    /* n c_in h w c_out kh kw h_out w_out stride pad dil groups */                              \
    check_conv_##sfx((pyconv_conv_shape){2, 3, 11, 9, 13, 3, 3, 11, 9, 1, 1, 1, 1, 1, 1, 1});   \
    check_conv_##sfx((pyconv_conv_shape){1, 4, 13, 12, 10, 3, 2, 6, 6, 2, 2, 1, 0, 2, 1, 2});   \
    check_conv_##sfx((pyconv_conv_shape){3, 17, 5, 7, 25, 1, 1, 5, 7, 1, 1, 0, 0, 1, 1, 1});   \
}

TESTS_FOR(float, f32, 2e-6)
TESTS_FOR(double, f64, 1e-14)

int main(void)
{
    unsetenv("PYCONV_ARCH"); /* the dispatched kernel first, whatever the caller's setting */
    pyconv_gemm_init();
    const char *isa = pyconv_gemm_isa();
    printf("dispatched GEMM kernel: %s\n", isa);
    if (strcmp(isa, "neon") != 0) fail("dispatch (expected neon)", isa, 0, 0, 0, 0, 0);
    run_f32();
    run_f64();
    printf(failures ? "%d failure(s)\n" : "ok\n", failures);
    return failures != 0;
}
