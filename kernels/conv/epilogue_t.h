/* The forward pass's output stage (template helper, included by each forward algorithm once
 * per dtype, so no include guard): y = act(sum + bias + residual), written where results are
 * stored, so a fused layer makes one pass over its output. NaN stays NaN through every
 * activation, as in PyTorch. */
#include <math.h>

PYCONV_ALWAYS_INLINE real FN(activate)(real v, pyconv_activation act)
{
    switch (act) {
    case PYCONV_ACT_RELU: return v < 0 ? (real)0 : v;
    case PYCONV_ACT_RELU6: return v < 0 ? (real)0 : v > 6 ? (real)6 : v;
    case PYCONV_ACT_SILU: return v / (1 + exp(-v));
    case PYCONV_ACT_SIGMOID: return 1 / (1 + exp(-v));
    case PYCONV_ACT_TANH: return tanh(v);
    default: return v;
    }
}

/* Whether the epilogue does more than add the bias. */
PYCONV_INLINE int FN(epilogue_fused)(const FN(pyconv_epilogue) *ep)
{
    return ep->residual != NULL || ep->activation != PYCONV_ACT_NONE;
}

/* y[t] = act(y[t] + residual[t]) for t < n (residual may be NULL): y already holds sum + bias. */
PYCONV_SIMD_CLONES
static void FN(finish_run)(real *PYCONV_RESTRICT y, const real *PYCONV_RESTRICT residual,
                           int64_t n, pyconv_activation act)
{
    if (residual != NULL)
        for (int64_t t = 0; t < n; t++) y[t] += residual[t];
    /* a loop per piecewise-linear activation, whose selects then vectorize: through the switch
     * (the activation unknown to the loop), ReLU6 took a branch per value, mispredicted on half
     * of them, and cost as much as a 1x1 layer's products */
    switch (act) {
    case PYCONV_ACT_NONE: break;
    case PYCONV_ACT_RELU:
        for (int64_t t = 0; t < n; t++) y[t] = FN(activate)(y[t], PYCONV_ACT_RELU);
        break;
    case PYCONV_ACT_RELU6:
        for (int64_t t = 0; t < n; t++) y[t] = FN(activate)(y[t], PYCONV_ACT_RELU6);
        break;
    default:
        for (int64_t t = 0; t < n; t++) y[t] = FN(activate)(y[t], act);
    }
}
