"""pyconv: 2-D convolution and pooling kernels for NumPy on the CPU.

The functional API follows torch.nn.functional's names and argument order, so code can switch
by changing an import. Every op has a plain-NumPy twin in pyconv.reference."""
__version__ = "0.1.0"

import os as _os

from pyconv._config import show_config
from pyconv._threads import get_num_threads, set_num_threads
from pyconv.adaptive import (adaptive_avg_pool1d, adaptive_avg_pool1d_backward, adaptive_avg_pool2d,
                             adaptive_avg_pool2d_backward, adaptive_max_pool1d, adaptive_max_pool1d_backward,
                             adaptive_max_pool2d, adaptive_max_pool2d_backward)
from pyconv.conv import PackedWeight, col2im, im2col, plan
from pyconv.conv_variants import (conv1d, conv1d_input, conv1d_weight, conv2d, conv2d_bias, conv2d_input,
                                  conv2d_weight, conv_transpose1d, conv_transpose1d_input, conv_transpose1d_weight,
                                  conv_transpose2d, conv_transpose2d_input, conv_transpose2d_weight, fold,
                                  fold_backward, unfold, unfold_backward)
from pyconv.gemm import gemm
from pyconv.pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from pyconv.pool_variants import (avg_pool1d, avg_pool1d_backward, max_pool1d, max_pool1d_backward, max_unpool1d,
                                  max_unpool1d_backward, max_unpool2d, max_unpool2d_backward)


def get_include():
    """The directory of pyconv's C header (pyconv_kernels.h), for extensions that cimport
    pyconv.cython_kernels: pass it to the C compiler's include path, as numpy.get_include()."""
    return _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "include")


__all__ = [
    "PackedWeight", "adaptive_avg_pool1d", "adaptive_avg_pool1d_backward", "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
    "adaptive_max_pool1d", "adaptive_max_pool1d_backward", "adaptive_max_pool2d", "adaptive_max_pool2d_backward",
    "avg_pool1d", "avg_pool1d_backward", "avg_pool2d", "avg_pool2d_backward", "col2im", "conv1d", "conv1d_input",
    "conv1d_weight", "conv2d", "conv2d_bias", "conv2d_input", "conv2d_weight", "conv_transpose1d",
    "conv_transpose1d_input", "conv_transpose1d_weight", "conv_transpose2d", "conv_transpose2d_input",
    "conv_transpose2d_weight", "fold", "fold_backward", "gemm", "get_include", "get_num_threads", "im2col",
    "max_pool1d", "max_pool1d_backward", "max_pool2d", "max_pool2d_backward", "max_unpool1d", "max_unpool1d_backward",
    "max_unpool2d", "max_unpool2d_backward", "plan", "set_num_threads", "show_config", "unfold", "unfold_backward",
]
