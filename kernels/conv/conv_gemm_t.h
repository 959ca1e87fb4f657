/* im2col + GEMM convolution template. Per image and group (K = c_in/groups*kh*kw rows of
 * patches, L = h_out*w_out columns, M = c_out/groups filters):
 *   forward          y_g  (M x L)  = W_g (M x K) @ col_g (K x L)          (+ bias)
 *   input gradient   col_g (K x L) = W_g^T @ gy_g, then col2im into gx
 *   weight gradient  gW_g (M x K) += gy_g (M x L) @ col_g^T, over the batch in order
 * A 1x1, stride-1, unpadded convolution uses the image itself as its patch matrix.
 *
 * Threads: with at least as many images as threads, each thread takes whole images with its
 * own patch buffer and single-threaded GEMMs; otherwise images go one by one with every
 * thread inside im2col and the GEMM. */

static int FN(is_pointwise)(const pyconv_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 &&
           s->pad_top == 0 && s->pad_left == 0 && s->h_out == s->h_in && s->w_out == s->w_in;
}

/* Signature shared by the per-image steps below: image img, scratch col, inner thread count. */
typedef pyconv_status (*FN(image_step))(const pyconv_conv_shape *s, const real *a, const real *b,
                                        const real *bias, real *out, real *col, int64_t img,
                                        int n_threads);

/* Runs step over every image, splitting threads between images and the step as above. */
static pyconv_status FN(over_images)(const pyconv_conv_shape *s, FN(image_step) step,
                                     const real *a, const real *b, const real *bias, real *out,
                                     int n_threads)
{
    const int64_t col_size = FN(is_pointwise)(s) ? 0
        : s->c_in * s->kh * s->kw * s->h_out * s->w_out;
    const int workers = s->n >= n_threads ? n_threads : 1;
    const int inner = workers == 1 ? n_threads : 1;
    real *ws = NULL;
    if (col_size > 0) {
        ws = (real *)pyconv_aligned_alloc((size_t)(workers * col_size) * sizeof(real));
        if (ws == NULL) return PYCONV_ERR_NOMEM;
    }
    int status = PYCONV_OK;
    int64_t wk;
    #pragma omp parallel for num_threads(workers) schedule(static) if(workers > 1)
    for (wk = 0; wk < workers; wk++) {
        real *col = ws ? ws + wk * col_size : NULL;
        for (int64_t img = wk; img < s->n; img += workers) {
            int st = step(s, a, b, bias, out, col, img, inner);
            if (st != PYCONV_OK) {
                #pragma omp atomic write
                status = st;
            }
        }
    }
    pyconv_aligned_free(ws);
    return (pyconv_status)status;
}

static pyconv_status FN(forward_image)(const pyconv_conv_shape *s, const real *x, const real *w,
                                       const real *bias, real *y, real *col, int64_t img,
                                       int n_threads)
{
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out;
    const real *xi = x + img * s->c_in * s->h_in * s->w_in;
    real *yi = y + img * s->c_out * l;
    if (col != NULL) {
        pyconv_status st = FN(pyconv_im2col_planes)(s, xi, col, s->c_in, n_threads);
        if (st != PYCONV_OK) return st;
    }
    const real *patches = col ? col : xi;
    for (int64_t g = 0; g < s->groups; g++) {
        pyconv_status st = FN(pyconv_gemm)(0, 0, cout_g, l, k, 1, w + g * cout_g * k, k,
                                           patches + g * k * l, l, 0, yi + g * cout_g * l, l,
                                           n_threads);
        if (st != PYCONV_OK) return st;
    }
    if (bias != NULL) {
        for (int64_t oc = 0; oc < s->c_out; oc++) {
            real *row = yi + oc * l;
            #pragma omp simd
            for (int64_t p = 0; p < l; p++) row[p] += bias[oc];
        }
    }
    return PYCONV_OK;
}

static pyconv_status FN(input_image)(const pyconv_conv_shape *s, const real *w, const real *gy,
                                     const real *unused, real *gx, real *col, int64_t img,
                                     int n_threads)
{
    const int64_t cout_g = s->c_out / s->groups, k = s->c_in / s->groups * s->kh * s->kw;
    const int64_t l = s->h_out * s->w_out;
    real *gxi = gx + img * s->c_in * s->h_in * s->w_in;
    real *patches = col ? col : gxi;
    (void)unused;
    for (int64_t g = 0; g < s->groups; g++) {
        pyconv_status st = FN(pyconv_gemm)(1, 0, k, l, cout_g, 1, w + g * cout_g * k, k,
                                           gy + (img * s->c_out + g * cout_g) * l, l, 0,
                                           patches + g * k * l, l, n_threads);
        if (st != PYCONV_OK) return st;
    }
    return col ? FN(pyconv_col2im_planes)(s, col, gxi, s->c_in, n_threads) : PYCONV_OK;
}

pyconv_status FN(pyconv_conv2d_im2col)(const pyconv_conv_shape *s, const real *x,
                                       const real *w, const real *bias, real *y,
                                       int n_threads)
{
    return FN(over_images)(s, FN(forward_image), x, w, bias, y, n_threads);
}

pyconv_status FN(pyconv_conv2d_input_im2col)(const pyconv_conv_shape *s, const real *w,
                                             const real *gy, real *gx, int n_threads)
{
    return FN(over_images)(s, FN(input_image), w, gy, NULL, gx, n_threads);
}

/* Images in batch order, each GEMM accumulating into gw: the summation order is fixed, so
 * the result does not depend on the thread count (the GEMM splits rows/columns, not k). */
pyconv_status FN(pyconv_conv2d_weight_im2col)(const pyconv_conv_shape *s, const real *x,
                                              const real *gy, real *gw, int n_threads)
{
    const int64_t cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const int64_t k = cin_g * s->kh * s->kw, l = s->h_out * s->w_out;
    const int pointwise = FN(is_pointwise)(s);
    real *col = NULL;
    memset(gw, 0, (size_t)(s->c_out * k) * sizeof(real));
    if (!pointwise) {
        col = (real *)pyconv_aligned_alloc((size_t)(s->c_in * s->kh * s->kw * l) * sizeof(real));
        if (col == NULL) return PYCONV_ERR_NOMEM;
    }
    pyconv_status st = PYCONV_OK;
    for (int64_t img = 0; img < s->n && st == PYCONV_OK; img++) {
        const real *xi = x + img * s->c_in * s->h_in * s->w_in;
        if (!pointwise) st = FN(pyconv_im2col_planes)(s, xi, col, s->c_in, n_threads);
        const real *patches = pointwise ? xi : col;
        for (int64_t g = 0; g < s->groups && st == PYCONV_OK; g++)
            st = FN(pyconv_gemm)(0, 1, cout_g, k, l, 1, gy + (img * s->c_out + g * cout_g) * l, l,
                                 patches + g * k * l, l, 1, gw + g * cout_g * k, k, n_threads);
    }
    pyconv_aligned_free(col);
    return st;
}
