/* The forward pass's output stage (template helper, included by each forward algorithm once
 * per dtype, so no include guard): y = act(sum + bias + residual), written where results are
 * stored, so a fused layer makes one pass over its output. NaN stays NaN through every
 * activation, as in PyTorch. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef PYCONV_EPILOGUE_FLOAT
#define PYCONV_EPILOGUE_FLOAT
/* The float sigmoid family without libm calls, so that loops over it vectorize (a call per
 * value cost 10-20 ns: a fused SiLU took twice a 1x1 layer's products). Double keeps libm,
 * whose results are NumPy's to the bit. */

/* 1 + e^v: v = n ln2 + r, |r| <= ln2/2 (Cody-Waite; n rounded by the 1.5 * 2^23 shifter, read
 * back from its bits, no conversion), Cephes' expf polynomial for e^r (about 1 ulp), 2^n as
 * two halves' exponent bits (each a normal float). e^v below 2^-126 is returned as that
 * (1 + e^v rounds to 1 from v < -17 on); above FLT_MAX, inf. NaN stays NaN. */
PYCONV_ALWAYS_INLINE float pyconv_one_plus_exp_f32(float v)
{
    const float x = v < -87.3f ? -87.3f : v > 88.72f ? 88.72f : v;
    const float shifter = 0x1.8p23f;
    const float t = x * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e_r = p * (r * r) + r + 1;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    const int32_t ni = (int32_t)(tb - 0x4B400000u), h = ni / 2;
    const uint32_t b1 = (uint32_t)(h + 127) << 23, b2 = (uint32_t)(ni - h + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    const float sum = 1 + e_r * s1 * s2;
    return v > 88.7228391f ? INFINITY : sum;
}

/* tanh: an odd polynomial below 0.625 (Cephes' tanhf), where 1 - 2 / (1 + e^2|v|) would cancel
 * to a few ulps of 1; the sign restored. */
PYCONV_ALWAYS_INLINE float pyconv_tanh_f32(float v)
{
    const float a = fabsf(v), z = v * v;
    float q = -5.70498872745e-3f;
    q = q * z + 2.06390887954e-2f;
    q = q * z - 5.37397155531e-2f;
    q = q * z + 1.33314422036e-1f;
    q = q * z - 3.33332819422e-1f;
    const float small = q * z * v + v;
    const float large = copysignf(1 - 2 / pyconv_one_plus_exp_f32(2 * a), v);
    return a < 0.625f ? small : large;
}
#endif

PYCONV_ALWAYS_INLINE real FN(activate)(real v, pyconv_activation act)
{
    const int f32 = sizeof(real) == sizeof(float);
    switch (act) {
    case PYCONV_ACT_RELU: return v < 0 ? (real)0 : v;
    case PYCONV_ACT_RELU6: return v < 0 ? (real)0 : v > 6 ? (real)6 : v;
    case PYCONV_ACT_SILU: return v / (f32 ? pyconv_one_plus_exp_f32((float)-v) : 1 + exp(-v));
    case PYCONV_ACT_SIGMOID: return 1 / (f32 ? pyconv_one_plus_exp_f32((float)-v) : 1 + exp(-v));
    case PYCONV_ACT_TANH: return f32 ? pyconv_tanh_f32((float)v) : tanh(v);
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
    /* a loop per activation, which then vectorizes: through the switch (the activation
     * unknown to the loop), ReLU6 took a branch per value, mispredicted on half of them, and
     * cost as much as a 1x1 layer's products */
#define PYCONV_ACTIVATE_RUN(a)                                            \
    case a:                                                                 \
        for (int64_t t = 0; t < n; t++) y[t] = FN(activate)(y[t], a);       \
        break;
    switch (act) {
        PYCONV_ACTIVATE_RUN(PYCONV_ACT_RELU)
        PYCONV_ACTIVATE_RUN(PYCONV_ACT_RELU6)
        PYCONV_ACTIVATE_RUN(PYCONV_ACT_SILU)
        PYCONV_ACTIVATE_RUN(PYCONV_ACT_SIGMOID)
        PYCONV_ACTIVATE_RUN(PYCONV_ACT_TANH)
    default: break;
    }
#undef PYCONV_ACTIVATE_RUN
}
