/* Helpers shared by the convolution kernels in kernels/conv/ (not part of the public C API). */
#ifndef PYCONV_CONV_INTERNAL_H
#define PYCONV_CONV_INTERNAL_H

#include "common/pyconv_common.h"

/* The hot loops (direct kernels, patch packing) are compiled twice, for AVX2 + FMA and for baseline
 * x86-64, and the loader picks one for the CPU (GCC function multi-versioning); one version
 * elsewhere. OpenMP outlines parallel-loop bodies into functions that do not inherit the
 * attribute, so it goes on the per-task function each loop calls. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define PYCONV_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), noinline))
#else
#define PYCONV_SIMD_CLONES
#endif

/* Kernel taps i in [*lo, *hi) for which base + i*dil lies in [0, size): the valid taps of
 * one output row (base = oh*stride - pad). Empty ranges come out as lo == hi. */
PYCONV_INLINE void pyconv_tap_range(int64_t base, int64_t size, int64_t k, int64_t dil,
                                    int64_t *lo, int64_t *hi)
{
    int64_t l = base < 0 ? (-base + dil - 1) / dil : 0;
    int64_t h = base < size ? (size - 1 - base) / dil + 1 : 0;
    h = PYCONV_MIN(h, k);
    *lo = PYCONV_MIN(l, h);
    *hi = h;
}

/* Outputs o in [*lo, *hi) for which o*stride + offset lies in [0, size): the output columns a
 * kernel column (offset = j*dil - pad) reads inside the input. Empty ranges: lo == hi. */
PYCONV_INLINE void pyconv_out_range(int64_t offset, int64_t size, int64_t stride, int64_t n_out,
                                    int64_t *lo, int64_t *hi)
{
    int64_t l = offset < 0 ? (-offset + stride - 1) / stride : 0;
    int64_t h = offset < size ? (size - 1 - offset) / stride + 1 : 0;
    h = PYCONV_MIN(h, n_out);
    *lo = PYCONV_MIN(l, h);
    *hi = h;
}

/* Extent of the padded input along one axis: pad zeros, then the input, then zeros up to the
 * last value the last output's last tap reads (none when that lies inside the input). */
PYCONV_INLINE int64_t pyconv_padded_extent(int64_t size, int64_t pad, int64_t n_out,
                                           int64_t stride, int64_t k, int64_t dil)
{
    return pad + PYCONV_MAX(size, (n_out - 1) * stride + (k - 1) * dil - pad + 1);
}

/* Per-kernel-column output ranges [lo[j], hi[j]) of one geometry; NULL when out of memory. */
PYCONV_INLINE int64_t *pyconv_column_ranges(const pyconv_conv_shape *s)
{
    int64_t *r = (int64_t *)pyconv_aligned_alloc((size_t)(2 * s->kw) * sizeof(int64_t));
    if (r == NULL) return NULL;
    for (int64_t j = 0; j < s->kw; j++)
        pyconv_out_range(j * s->dil_w - s->pad_left, s->w_in, s->stride_w, s->w_out,
                         &r[j], &r[s->kw + j]);
    return r;
}

/* col2im of n_planes consecutive (h_in, w_in) planes: plane p owns the kh*kw rows starting
 * at row p*kh*kw of col (each row h_out*w_out long). */
#define PYCONV_DECLARE_CONV_INTERNAL(real, sfx)                                               \
pyconv_status pyconv_col2im_planes_##sfx(const pyconv_conv_shape *s, const real *col,        \
                                         real *x, int64_t n_planes, int n_threads);

PYCONV_DECLARE_CONV_INTERNAL(float, f32)
PYCONV_DECLARE_CONV_INTERNAL(double, f64)
#undef PYCONV_DECLARE_CONV_INTERNAL

#endif /* PYCONV_CONV_INTERNAL_H */
