# The one Cython declaration of pyconv's C API (pyconv/include/pyconv_kernels.h). Only
# pyconv.cython_kernels, the extension module that holds the compiled kernels, calls these
# functions; every other module (pyconv's glue and third-party extensions) goes through it.
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

    ctypedef enum pyconv_algorithm:
        PYCONV_ALGO_AUTO
        PYCONV_ALGO_DIRECT
        PYCONV_ALGO_IM2COL
        PYCONV_ALGO_WINOGRAD

    ctypedef enum pyconv_conv_op:
        PYCONV_OP_FORWARD
        PYCONV_OP_INPUT_GRAD
        PYCONV_OP_WEIGHT_GRAD

    ctypedef enum pyconv_activation:
        PYCONV_ACT_NONE
        PYCONV_ACT_RELU
        PYCONV_ACT_RELU6
        PYCONV_ACT_SILU
        PYCONV_ACT_SIGMOID
        PYCONV_ACT_TANH

    ctypedef enum pyconv_conv_method:
        PYCONV_METHOD_NONE

    ctypedef struct pyconv_conv_plan:
        pyconv_algorithm algorithm
        pyconv_conv_method method
        double workspace_bytes

    pyconv_status pyconv_conv_shape_check(const pyconv_conv_shape *s, char *msg, size_t msg_len)
    pyconv_status pyconv_pool_shape_check(const pyconv_pool_shape *s, char *msg, size_t msg_len)
    pyconv_status pyconv_conv_plan_make(const pyconv_conv_shape *s, pyconv_conv_op op, pyconv_algorithm requested,
                                        int real_size, int n_threads, pyconv_conv_plan *plan)
    const char *pyconv_conv_method_name(pyconv_conv_method method)

    pyconv_status pyconv_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int n_threads)
    pyconv_status pyconv_im2col_f32(const pyconv_conv_shape *s, const float *x, float *col, int n_threads)
    pyconv_status pyconv_col2im_f32(const pyconv_conv_shape *s, const float *col, float *x, int n_threads)
    pyconv_status pyconv_conv2d_f32(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const float *x, const float *w, const float *bias, const float *residual, pyconv_activation activation, float *y, int n_threads)
    int64_t pyconv_conv2d_packed_size_f32(const pyconv_conv_shape *s)
    pyconv_status pyconv_conv2d_pack_weight_f32(const pyconv_conv_shape *s, const float *w, float *packed, int n_threads)
    pyconv_status pyconv_conv2d_packed_f32(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const float *x, const float *w, const float *packed, const float *bias, const float *residual, pyconv_activation activation, float *y, int n_threads)
    pyconv_status pyconv_conv2d_input_f32(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const float *w, const float *gy, float *gx, int n_threads)
    pyconv_status pyconv_conv2d_weight_f32(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const float *x, const float *gy, float *gw, int n_threads)
    pyconv_status pyconv_conv2d_bias_f32(const pyconv_conv_shape *s, const float *gy, float *gb, int n_threads)
    pyconv_status pyconv_maxpool2d_f32(const pyconv_pool_shape *s, const float *x, float *y, int64_t *indices, int n_threads)
    pyconv_status pyconv_maxpool2d_backward_f32(const pyconv_pool_shape *s, const float *gy, const int64_t *indices, float *gx, int n_threads)
    pyconv_status pyconv_avgpool2d_f32(const pyconv_pool_shape *s, const float *x, float *y, int count_include_pad, int64_t divisor_override, int n_threads)
    pyconv_status pyconv_avgpool2d_backward_f32(const pyconv_pool_shape *s, const float *gy, float *gx, int count_include_pad, int64_t divisor_override, int n_threads)

    pyconv_status pyconv_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c, int64_t ldc, int n_threads)
    pyconv_status pyconv_im2col_f64(const pyconv_conv_shape *s, const double *x, double *col, int n_threads)
    pyconv_status pyconv_col2im_f64(const pyconv_conv_shape *s, const double *col, double *x, int n_threads)
    pyconv_status pyconv_conv2d_f64(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const double *x, const double *w, const double *bias, const double *residual, pyconv_activation activation, double *y, int n_threads)
    int64_t pyconv_conv2d_packed_size_f64(const pyconv_conv_shape *s)
    pyconv_status pyconv_conv2d_pack_weight_f64(const pyconv_conv_shape *s, const double *w, double *packed, int n_threads)
    pyconv_status pyconv_conv2d_packed_f64(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const double *x, const double *w, const double *packed, const double *bias, const double *residual, pyconv_activation activation, double *y, int n_threads)
    pyconv_status pyconv_conv2d_input_f64(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const double *w, const double *gy, double *gx, int n_threads)
    pyconv_status pyconv_conv2d_weight_f64(const pyconv_conv_shape *s, pyconv_algorithm algorithm, const double *x, const double *gy, double *gw, int n_threads)
    pyconv_status pyconv_conv2d_bias_f64(const pyconv_conv_shape *s, const double *gy, double *gb, int n_threads)
    pyconv_status pyconv_maxpool2d_f64(const pyconv_pool_shape *s, const double *x, double *y, int64_t *indices, int n_threads)
    pyconv_status pyconv_maxpool2d_backward_f64(const pyconv_pool_shape *s, const double *gy, const int64_t *indices, double *gx, int n_threads)
    pyconv_status pyconv_avgpool2d_f64(const pyconv_pool_shape *s, const double *x, double *y, int count_include_pad, int64_t divisor_override, int n_threads)
    pyconv_status pyconv_avgpool2d_backward_f64(const pyconv_pool_shape *s, const double *gy, double *gx, int count_include_pad, int64_t divisor_override, int n_threads)

    void pyconv_gemm_init()
    const char *pyconv_gemm_isa()
    const char *pyconv_gemm_archs()
    const char *pyconv_gemm_arch_name()
    int pyconv_openmp_enabled()
    int pyconv_openmp_max_threads()
