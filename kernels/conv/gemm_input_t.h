/* Input gradient by GEMM and col2im (template), for strided convolutions (and the stride-1
 * ones whose transposed forward would fill few micro-tile columns: conv/select.c): per chunk
 * of images and group, col_g (K x chunk*L) = W_g^T @ the chunk's gy_g on the GEMM driver,
 * then col2im into gx. A 1x1, stride-1, unpadded convolution has gx = col: for one image at a
 * time (large images; a batch of one) the GEMM writes it directly. */

/* Images per GEMM at most: enough for PYCONV_MIN_GEMM_PIXELS columns: one small image's
 * grad_output fills few micro-panels, and each GEMM packs the weights again (ResNet-50's 512@14
 * stride 2 at batch 32, one GEMM per 7x7 image: 122 ms against PyTorch's 83; its 1x1 2048->512
 * at 7x7: 29 ms against 18). The workspace is sized for it. */
static int64_t FN(input_chunk_images)(const pyconv_conv_shape *s)
{
    const int64_t l = PYCONV_MAX(s->h_out * s->w_out, 1);
    return (PYCONV_MIN_GEMM_PIXELS + l - 1) / l;
}

/* Bytes of a chunk's patch matrix (all groups) and of its grad_output side by side (the
 * latter only used for chunks of several images); none for a pointwise convolution one image
 * at a time, whose GEMM writes gx directly. */
static size_t FN(chunk_bytes)(const pyconv_conv_shape *s)
{
    if (pyconv_is_pointwise(s) && FN(input_chunk_images)(s) == 1) return 0;
    const int64_t cols = FN(input_chunk_images)(s) * s->h_out * s->w_out;
    return (size_t)((s->c_in * s->kh * s->kw + s->c_out) * cols) * sizeof(real);
}

typedef struct {
    const pyconv_conv_shape *s;
    const real *w, *gy;
    real *gx;
} FN(input_args);

/* Images [img, img + imgs): per group, col_g (K x imgs*L) = W_g^T @ their gy_g side by side,
 * then col2im of each image's columns. */
static pyconv_status FN(input_images)(const void *ctx, int64_t img, int64_t imgs, int n_threads)
{
    const FN(input_args) *a = (const FN(input_args) *)ctx;
    const pyconv_conv_shape *s = a->s;
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out, cols = imgs * l;
    real *gx = a->gx + img * s->c_in * s->h_in * s->w_in;
    const real *gy = a->gy + img * s->c_out * l;
    real *col = gx;
    if (!(pyconv_is_pointwise(s) && imgs == 1)) {
        col = (real *)pyconv_arena_get(PYCONV_ARENA_CONV_0, FN(chunk_bytes)(s));
        if (col == NULL) return PYCONV_ERR_NOMEM;
        if (imgs > 1) {
            /* the images' grad_output planes side by side: one (c_out x imgs*L) matrix */
            real *side = col + s->c_in * s->kh * s->kw * cols;
            for (int64_t i = 0; i < imgs; i++)
                for (int64_t c = 0; c < s->c_out; c++)
                    memcpy(side + c * cols + i * l, gy + (i * s->c_out + c) * l,
                           (size_t)l * sizeof(real));
            gy = side;
        }
    }
    for (int64_t g = 0; g < s->groups; g++) {
        pyconv_status st = FN(pyconv_gemm)(1, 0, k, cols, cout_g, 1, a->w + g * cout_g * k, k,
                                           gy + g * cout_g * cols, cols, 0, col + g * k * cols,
                                           cols, n_threads);
        if (st != PYCONV_OK) return st;
    }
    if (col == gx) return PYCONV_OK;
    for (int64_t i = 0; i < imgs; i++) {
        pyconv_status st = FN(pyconv_col2im_planes)(s, col + i * l, cols,
                                                    gx + i * s->c_in * s->h_in * s->w_in,
                                                    s->c_in, n_threads);
        if (st != PYCONV_OK) return st;
    }
    return PYCONV_OK;
}

pyconv_status FN(pyconv_input_gemm_col2im)(const pyconv_conv_shape *s, const real *w,
                                           const real *gy, real *gx, int n_threads)
{
    const FN(input_args) a = {s, w, gy, gx};
    /* A column's sums run in the same order whatever the GEMM's width, so the result does not
     * depend on the chunks. */
    return pyconv_parallel_chunks(s->n, FN(input_chunk_images)(s), n_threads, FN(input_images),
                                  &a);
}

double FN(pyconv_input_gemm_col2im_workspace)(const pyconv_conv_shape *s, int n_threads)
{
    const pyconv_gemm_blocking blk = pyconv_gemm_active_arch()->FN(blocking);
    /* per thread: one chunk's patches and grad_output, and the GEMM's A block; the GEMM's
     * shared B block */
    return (double)n_threads * ((double)FN(chunk_bytes)(s) + (double)(blk.mc * blk.kc) * sizeof(real)) +
           (double)(blk.nc * blk.kc) * sizeof(real);
}
