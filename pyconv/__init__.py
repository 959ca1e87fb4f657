"""pyconv: 2-D convolution and pooling kernels for NumPy on the CPU.

The functional API follows torch.nn.functional's names and argument order, so code can switch
by changing an import. Every op has a plain-NumPy twin in pyconv.reference."""
__version__ = "0.1.0"

import os as _os

from pyconv._config import show_config
from pyconv._threads import get_num_threads, set_num_threads
from pyconv.conv import col2im, conv2d, conv2d_bias, conv2d_input, conv2d_weight, im2col, plan
from pyconv.conv_variants import conv1d, conv_transpose2d
from pyconv.gemm import gemm
from pyconv.pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward



def get_include():
    """The directory of pyconv's C header (pyconv_kernels.h), for extensions that cimport
    pyconv.cython_kernels: pass it to the C compiler's include path, as numpy.get_include()."""
    return _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "include")


__all__ = [
    "avg_pool2d", "avg_pool2d_backward", "col2im", "conv1d", "conv2d", "conv2d_bias", "conv2d_input",
    "conv2d_weight", "conv_transpose2d", "gemm", "get_include", "get_num_threads", "im2col", "max_pool2d", "max_pool2d_backward", "plan",
    "set_num_threads",
    "show_config",
]
