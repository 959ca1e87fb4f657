/* Placeholder GEMM template (replaced by the BLIS-style implementation). */
pyconv_status FN(pyconv_gemm)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                              real alpha, const real *a, int64_t lda,
                              const real *b, int64_t ldb, real beta,
                              real *c, int64_t ldc, int n_threads)
{
    int64_t i;
    (void)n_threads;
    for (i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            real acc = 0;
            for (int64_t p = 0; p < k; p++) {
                real av = trans_a ? a[p * lda + i] : a[i * lda + p];
                real bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                acc += av * bv;
            }
            c[i * ldc + j] = alpha * acc + (beta == 0 ? 0 : beta * c[i * ldc + j]);
        }
    }
    return PYCONV_OK;
}
