# Cython declarations of the C kernel API in kernels/pyconv_kernels.h (keep the two in step).
from libc.stdint cimport int64_t

cdef extern from "pyconv_kernels.h" nogil:
    ctypedef enum pyconv_status:
        PYCONV_OK
        PYCONV_ERR_NOMEM
        PYCONV_ERR_INDEX
        PYCONV_ERR_ARG

    ctypedef struct pyconv_conv_shape:
        int64_t n, c_in, h_in, w_in
        int64_t c_out, kh, kw
        int64_t h_out, w_out
        int64_t stride_h, stride_w
        int64_t pad_top, pad_left
        int64_t dil_h, dil_w
        int64_t groups

    ctypedef struct pyconv_pool_shape:
        int64_t n_planes, h_in, w_in
        int64_t kh, kw
        int64_t h_out, w_out
        int64_t stride_h, stride_w
        int64_t pad_h, pad_w
        int64_t dil_h, dil_w

    pyconv_status pyconv_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int n_threads)
    pyconv_status pyconv_im2col_f32(const pyconv_conv_shape *s, const float *x, float *col, int n_threads)
    pyconv_status pyconv_col2im_f32(const pyconv_conv_shape *s, const float *col, float *x, int n_threads)
    pyconv_status pyconv_conv2d_direct_f32(const pyconv_conv_shape *s, const float *x, const float *w, const float *bias, float *y, int n_threads)
    pyconv_status pyconv_conv2d_im2col_f32(const pyconv_conv_shape *s, const float *x, const float *w, const float *bias, float *y, int n_threads)
    pyconv_status pyconv_conv2d_winograd_f32(const pyconv_conv_shape *s, const float *x, const float *w, const float *bias, float *y, int n_threads)
    pyconv_status pyconv_conv2d_input_winograd_f32(const pyconv_conv_shape *s, const float *w, const float *gy, float *gx, int n_threads)
    pyconv_status pyconv_conv2d_input_direct_f32(const pyconv_conv_shape *s, const float *w, const float *gy, float *gx, int n_threads)
    pyconv_status pyconv_conv2d_input_im2col_f32(const pyconv_conv_shape *s, const float *w, const float *gy, float *gx, int n_threads)
    pyconv_status pyconv_conv2d_weight_direct_f32(const pyconv_conv_shape *s, const float *x, const float *gy, float *gw, int n_threads)
    pyconv_status pyconv_conv2d_weight_im2col_f32(const pyconv_conv_shape *s, const float *x, const float *gy, float *gw, int n_threads)
    pyconv_status pyconv_conv2d_bias_f32(const pyconv_conv_shape *s, const float *gy, float *gb, int n_threads)
    pyconv_status pyconv_maxpool2d_f32(const pyconv_pool_shape *s, const float *x, float *y, int64_t *indices, int n_threads)
    pyconv_status pyconv_maxpool2d_backward_f32(const pyconv_pool_shape *s, const float *gy, const int64_t *indices, float *gx, int n_threads)
    pyconv_status pyconv_avgpool2d_f32(const pyconv_pool_shape *s, const float *x, float *y, int count_include_pad, int64_t divisor_override, int n_threads)
    pyconv_status pyconv_avgpool2d_backward_f32(const pyconv_pool_shape *s, const float *gy, float *gx, int count_include_pad, int64_t divisor_override, int n_threads)

    pyconv_status pyconv_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c, int64_t ldc, int n_threads)
    pyconv_status pyconv_im2col_f64(const pyconv_conv_shape *s, const double *x, double *col, int n_threads)
    pyconv_status pyconv_col2im_f64(const pyconv_conv_shape *s, const double *col, double *x, int n_threads)
    pyconv_status pyconv_conv2d_direct_f64(const pyconv_conv_shape *s, const double *x, const double *w, const double *bias, double *y, int n_threads)
    pyconv_status pyconv_conv2d_im2col_f64(const pyconv_conv_shape *s, const double *x, const double *w, const double *bias, double *y, int n_threads)
    pyconv_status pyconv_conv2d_winograd_f64(const pyconv_conv_shape *s, const double *x, const double *w, const double *bias, double *y, int n_threads)
    pyconv_status pyconv_conv2d_input_winograd_f64(const pyconv_conv_shape *s, const double *w, const double *gy, double *gx, int n_threads)
    pyconv_status pyconv_conv2d_input_direct_f64(const pyconv_conv_shape *s, const double *w, const double *gy, double *gx, int n_threads)
    pyconv_status pyconv_conv2d_input_im2col_f64(const pyconv_conv_shape *s, const double *w, const double *gy, double *gx, int n_threads)
    pyconv_status pyconv_conv2d_weight_direct_f64(const pyconv_conv_shape *s, const double *x, const double *gy, double *gw, int n_threads)
    pyconv_status pyconv_conv2d_weight_im2col_f64(const pyconv_conv_shape *s, const double *x, const double *gy, double *gw, int n_threads)
    pyconv_status pyconv_conv2d_bias_f64(const pyconv_conv_shape *s, const double *gy, double *gb, int n_threads)
    pyconv_status pyconv_maxpool2d_f64(const pyconv_pool_shape *s, const double *x, double *y, int64_t *indices, int n_threads)
    pyconv_status pyconv_maxpool2d_backward_f64(const pyconv_pool_shape *s, const double *gy, const int64_t *indices, double *gx, int n_threads)
    pyconv_status pyconv_avgpool2d_f64(const pyconv_pool_shape *s, const double *x, double *y, int count_include_pad, int64_t divisor_override, int n_threads)
    pyconv_status pyconv_avgpool2d_backward_f64(const pyconv_pool_shape *s, const double *gy, double *gx, int count_include_pad, int64_t divisor_override, int n_threads)

    void pyconv_gemm_init()
    const char *pyconv_gemm_isa()
    int pyconv_openmp_enabled()
    int pyconv_openmp_max_threads()

cdef inline int check_status(pyconv_status status, str what) except -1:
    """Turn a kernel's status into the matching Python exception (call with the GIL held)."""
    if status == PYCONV_OK:
        return 0
    if status == PYCONV_ERR_NOMEM:
        raise MemoryError(f"{what}: could not allocate the kernel's workspace")
    if status == PYCONV_ERR_INDEX:
        raise ValueError(f"{what}: an index is out of range for the input plane")
    raise ValueError(f"{what}: the kernel rejected its arguments (status {<int>status})")
