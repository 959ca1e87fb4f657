/* Input gradient by GEMM and col2im (template), for strided convolutions (and the stride-1
 * ones whose transposed forward would fill few micro-tile columns: conv/select.c): per image
 * and group, col_g (K x L) = W_g^T @ gy_g on the GEMM driver, then col2im into gx. A 1x1,
 * stride-1, unpadded convolution has gx = col: the GEMM writes it directly. */

/* Bytes of one image's patch matrix (all groups): the per-thread workspace. */
static size_t FN(col_bytes)(const pyconv_conv_shape *s)
{
    return pyconv_is_pointwise(s) ? 0 : (size_t)(s->c_in * s->kh * s->kw * s->h_out * s->w_out) * sizeof(real);
}

typedef struct {
    const pyconv_conv_shape *s;
    const real *w, *gy;
    real *gx;
} FN(input_args);

/* One image (imgs == 1: col2im works per image). */
static pyconv_status FN(input_image)(const void *ctx, int64_t img, int64_t imgs, int n_threads)
{
    const FN(input_args) *a = (const FN(input_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out;
    real *gxi = a->gx + img * s->c_in * s->h_in * s->w_in;
    real *col = gxi;
    (void)imgs;
    if (!pyconv_is_pointwise(s)) {
        col = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_0, FN(col_bytes)(s));
        if (col == NULL) return PYCONV_ERR_NOMEM;
    }
    for (int64_t g = 0; g < s->groups; g++) {
        pyconv_status st = FN(pyconv_gemm)(1, 0, k, l, cout_g, 1, a->w + g * cout_g * k, k,
                                           a->gy + (img * s->c_out + g * cout_g) * l, l, 0,
                                           col + g * k * l, l, n_threads);
        if (st != PYCONV_OK) return st;
    }
    return col == gxi ? PYCONV_OK : FN(pyconv_col2im_planes)(s, col, gxi, s->c_in, n_threads);
}

pyconv_status FN(pyconv_input_gemm_col2im)(const pyconv_conv_shape *s, const real *w,
                                           const real *gy, real *gx, int n_threads)
{
    const FN(input_args) a = {s, w, gy, gx};
    return pyconv_parallel_chunks(s->n, 1, n_threads, FN(input_image), &a);
}

double FN(pyconv_input_gemm_col2im_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    /* per thread: one image's patches and the GEMM's A block; the GEMM's shared B block */
    return (double)n_threads * ((double)FN(col_bytes)(s) + (double)(blk.mc * blk.kc) * sizeof(real)) +
           (double)(blk.nc * blk.kc) * sizeof(real);
}
