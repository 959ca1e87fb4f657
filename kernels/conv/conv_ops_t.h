/* The public convolution entry points (template): check the geometry, plan the call
 * (conv/select.c), run the planned method. */

pyconv_status FN(pyconv_conv2d)(const pyconv_conv_shape *s, pyconv_algorithm algorithm,
                                const real *x, const real *w, const real *bias,
                                const real *residual, pyconv_activation activation, real *y,
                                int n_threads)
{
    return FN(pyconv_conv2d_packed)(s, algorithm, x, w, NULL, bias, residual, activation, y, n_threads);
}

pyconv_status FN(pyconv_conv2d_packed)(const pyconv_conv_shape *s, pyconv_algorithm algorithm,
                                       const real *x, const real *w, const real *packed,
                                       const real *bias, const real *residual,
                                       pyconv_activation activation, real *y, int n_threads)
{
    if (packed != NULL && (uintptr_t)packed % PYCONV_ALIGN != 0) return PYCONV_ERR_ARG;
    if (activation < PYCONV_ACT_NONE || activation > PYCONV_ACT_TANH) return PYCONV_ERR_ARG;
    const FN(pyconv_epilogue) ep = {bias, residual, activation};
    pyconv_conv_plan plan;
    const pyconv_status st = pyconv_conv_plan_make(s, PYCONV_OP_FORWARD, algorithm, sizeof(real),
                                                   n_threads, &plan);
    if (st != PYCONV_OK) return st;
    switch (plan.method) {
    case PYCONV_METHOD_NONE: return PYCONV_OK;
    case PYCONV_METHOD_IMPLICIT_GEMM: return FN(pyconv_forward_implicit)(s, x, w, 0, packed, &ep, y, n_threads);
    case PYCONV_METHOD_GEMM_POINTWISE: return FN(pyconv_forward_pointwise)(s, x, w, &ep, y, n_threads);
    case PYCONV_METHOD_WINOGRAD: return FN(pyconv_forward_winograd)(s, x, w, packed, &ep, y, n_threads);
    case PYCONV_METHOD_DEPTHWISE: return FN(pyconv_forward_depthwise)(s, x, w, &ep, y, n_threads);
    default: return FN(pyconv_forward_direct)(s, x, w, &ep, y, n_threads);  /* bias-only too */
    }
}

pyconv_status FN(pyconv_conv2d_input)(const pyconv_conv_shape *s, pyconv_algorithm algorithm,
                                      const real *w, const real *gy, real *gx, int n_threads)
{
    pyconv_conv_plan plan;
    const pyconv_status st = pyconv_conv_plan_make(s, PYCONV_OP_INPUT_GRAD, algorithm, sizeof(real),
                                                   n_threads, &plan);
    if (st != PYCONV_OK) return st;
    switch (plan.method) {
    case PYCONV_METHOD_NONE: return PYCONV_OK;
    case PYCONV_METHOD_ZEROS:
        memset(gx, 0, (size_t)(s->n * s->c_in * s->h_in * s->w_in) * sizeof(real));
        return PYCONV_OK;
    case PYCONV_METHOD_DIRECT_TRANSPOSED: return FN(pyconv_input_transposed)(s, 0, w, gy, gx, n_threads);
    case PYCONV_METHOD_IMPLICIT_TRANSPOSED: return FN(pyconv_input_transposed)(s, 1, w, gy, gx, n_threads);
    case PYCONV_METHOD_GEMM_COL2IM: return FN(pyconv_input_gemm_col2im)(s, w, gy, gx, n_threads);
    case PYCONV_METHOD_WINOGRAD_TRANSPOSED: return FN(pyconv_input_winograd)(s, w, gy, gx, n_threads);
    case PYCONV_METHOD_DEPTHWISE: return FN(pyconv_input_depthwise)(s, w, gy, gx, n_threads);
    default: return FN(pyconv_input_direct)(s, w, gy, gx, n_threads);
    }
}

pyconv_status FN(pyconv_conv2d_weight)(const pyconv_conv_shape *s, pyconv_algorithm algorithm,
                                       const real *x, const real *gy, real *gw, int n_threads)
{
    pyconv_conv_plan plan;
    const pyconv_status st = pyconv_conv_plan_make(s, PYCONV_OP_WEIGHT_GRAD, algorithm, sizeof(real),
                                                   n_threads, &plan);
    if (st != PYCONV_OK) return st;
    switch (plan.method) {
    case PYCONV_METHOD_NONE: return PYCONV_OK;
    case PYCONV_METHOD_ZEROS:
        memset(gw, 0, (size_t)(s->c_out * (s->c_in / s->groups) * s->kh * s->kw) * sizeof(real));
        return PYCONV_OK;
    case PYCONV_METHOD_IMPLICIT_GEMM: return FN(pyconv_weight_implicit)(s, x, gy, gw, n_threads);
    case PYCONV_METHOD_GEMM_PATCHES: return FN(pyconv_weight_gemm)(s, x, gy, gw, n_threads);
    case PYCONV_METHOD_WINOGRAD_WEIGHT: return FN(pyconv_weight_winograd)(s, x, gy, gw, n_threads);
    case PYCONV_METHOD_DEPTHWISE: return FN(pyconv_weight_depthwise)(s, x, gy, gw, n_threads);
    default: return FN(pyconv_weight_direct)(s, x, gy, gw, n_threads);
    }
}
