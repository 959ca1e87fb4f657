/* Template: the portable MR x NR micro-kernel (plain loops the compiler vectorizes). */
void FN(pyconv_ukernel_ref)(int64_t kc, real alpha, const real *PYCONV_RESTRICT a,
                            const real *PYCONV_RESTRICT b, real beta, real *PYCONV_RESTRICT c,
                            int64_t ldc)
{
    enum { MR = FN(PYCONV_REF_MR), NR = FN(PYCONV_REF_NR) };
    real acc[MR][NR] = {{0}};
    for (int64_t p = 0; p < kc; p++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; i++, c += ldc) {
        if (beta == 0)
            for (int j = 0; j < NR; j++) c[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < NR; j++) c[j] = alpha * acc[i][j] + beta * c[j];
    }
}
