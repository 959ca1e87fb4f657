"""Max and average 2-D pooling, forward and backward, with torch.nn.functional's names and
argument order. Inputs are (N, C, H, W) or (C, H, W); each op normalizes its arguments here,
builds a named geometry (pyconv._geometry.PoolGeometry) and has the kernels' own check
(pyconv_pool_shape_check, through _pool.check) validate it."""
import numpy as np

from pyconv import _pool
from pyconv._args import (
    Remembered, as_bool, as_float_array, as_indices, as_int, as_pair, as_shape, cache_key, check_no_overlap,
    check_shape, check_size, output_array, output_size)
from pyconv._geometry import PoolGeometry, check_int64
from pyconv._threads import effective_n_threads


def _spatial_input(value, name):
    """A float array of 3 (C, H, W) or 4 (N, C, H, W) dims, as a 4-d array, and its ndim."""
    arr = as_float_array(value, name)
    if arr.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) array, "
                         f"got {arr.ndim}-d with shape {arr.shape}")
    return (arr if arr.ndim == 4 else arr[np.newaxis]), arr.ndim


def _as_input_size(value, ndim):
    size = as_shape(value, "input_size", ndim)
    return size if ndim == 4 else (1,) + size


_GEOMETRIES = Remembered()


def _geometry(input_shape, kernel_size, stride, padding, dilation, ceil_mode, name):
    """The PoolGeometry of pooling parameters over a 4-d input shape, checked by the kernels'
    rules (padding at most half the kernel, every window reaching the input, sizes);
    remembered per argument set."""
    ceil_mode = as_bool(ceil_mode, "ceil_mode")  # checked first: then a plain bool in the key
    # the input shape is ints already (an array's, or as_shape's), and the name is the library's
    key = cache_key(kernel_size, stride, padding, dilation)
    return _GEOMETRIES.get(key and (key, input_shape, name, ceil_mode), _checked_geometry, input_shape,
                           kernel_size, stride, padding, dilation, ceil_mode, name)


def _checked_geometry(input_shape, kernel_size, stride, padding, dilation, ceil_mode, name):
    kh, kw = as_pair(kernel_size, "kernel_size", minimum=1)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        sh, sw = kh, kw  # PyTorch's default: stride = kernel_size
    else:
        sh, sw = as_pair(stride, "stride", minimum=1)
    ph, pw = as_pair(padding, "padding", minimum=0)
    dh, dw = as_pair(dilation, "dilation", minimum=1)
    n, c, h, w = input_shape
    if h < 1 or w < 1:
        raise ValueError(f"{name}: expected non-empty planes (H, W >= 1), got shape {tuple(input_shape)}")
    h_out = output_size(h, kh, sh, dh, ph, ph, ceil_mode)
    w_out = output_size(w, kw, sw, dw, pw, pw, ceil_mode)
    geometry = PoolGeometry(n * c, h, w, kh, kw, max(h_out, 0), max(w_out, 0), sh, sw, ph, pw, dh, dw)
    check_int64(geometry, 2 ** 63 - 1)  # windows, strides and padding may be that large
    check_size(input_shape, name)
    check_size((n, c, max(h_out, 0), max(w_out, 0)), "output")
    _pool.check(geometry)
    if h_out < 1 or w_out < 1:
        raise ValueError(f"kernel_size: the window ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1}) with dilation "
                         f"({dh}, {dw}) must fit the padded input ({h + 2 * ph}, {w + 2 * pw})")
    return geometry


def _divisor(divisor_override):
    """The kernels' divisor: 0 for none; any other int, negative too, as in PyTorch."""
    if divisor_override is None:
        return 0
    divisor = as_int(divisor_override, "divisor_override")
    if divisor == 0:
        raise ValueError("divisor_override: expected None or a nonzero int, got 0")
    return divisor


def _result(arr, ndim):
    return arr if ndim == 4 else arr[0]


def _output(out, shape, ndim, x):
    """The 4-d result array: fresh, or the caller's out= (of the input's ndim) checked."""
    if out is None:
        return output_array(None, shape, x.dtype)
    y = output_array(out, shape if ndim == 4 else shape[1:], x.dtype)
    check_no_overlap(y, [(x, "input")])
    return y if ndim == 4 else y[np.newaxis]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, out=None, n_threads=None):
    """2-D max pooling (padding counts as -inf; a NaN in a window wins, ties go to the first
    tap in row-major order). With return_indices, also the int64 argmax as the flat index
    h * W + w inside each input plane (PyTorch's format). out= receives the values."""
    x, ndim = _spatial_input(input, "input")
    geometry = _geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, "input")
    return_indices = as_bool(return_indices, "return_indices")
    n_threads = effective_n_threads(n_threads)
    shape = x.shape[:2] + (geometry.h_out, geometry.w_out)
    y = _output(out, shape, ndim, x)
    indices = output_array(None, shape, np.dtype(np.int64), "indices") if return_indices else None
    _pool.max_pool2d(geometry, x.reshape(-1), y.reshape(-1),
                     None if indices is None else indices.reshape(-1), n_threads)
    if return_indices:
        return _result(y, ndim), _result(indices, ndim)
    return _result(y, ndim)


def max_pool2d_backward(grad_output, indices, input_size, *, n_threads=None):
    """Gradient of max_pool2d w.r.t. its input: grad_output scattered through indices (as
    returned by max_pool2d) into an array of input_size; overlapping windows add up."""
    gy, ndim = _spatial_input(grad_output, "grad_output")
    n, c, h, w = _as_input_size(input_size, ndim)
    if gy.shape[:2] != (n, c):
        raise ValueError(f"grad_output: expected (N, C) = {(n, c)} as in input_size, got shape {gy.shape}")
    ind = as_indices(indices, gy.shape if ndim == 4 else gy.shape[1:])
    n_threads = effective_n_threads(n_threads)
    gx = output_array(None, (n, c, h, w), gy.dtype, "input_size")
    # the scatter only needs the planes' sizes: a 1x1 window stands for any
    geometry = PoolGeometry(n * c, h, w, 1, 1, gy.shape[2], gy.shape[3], 1, 1, 0, 0, 1, 1)
    ind64 = np.ascontiguousarray(ind, dtype=np.int64).reshape(-1)
    if not _pool.max_pool2d_backward(geometry, gy.reshape(-1), ind64, gx.reshape(-1), n_threads):
        bad = ind[(ind < 0) | (ind >= h * w)]
        raise ValueError(f"indices: expected values in [0, {h * w}) (H * W of input_size), got {bad.flat[0]}")
    return _result(gx, ndim)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, out=None, n_threads=None):
    """2-D average pooling; the divisor is divisor_override when given, else the window's size
    clipped to the padded input (count_include_pad) or to the input, as in PyTorch. out=
    receives the result."""
    x, ndim = _spatial_input(input, "input")
    geometry = _geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode, "input")
    count_include_pad = as_bool(count_include_pad, "count_include_pad")
    divisor = _divisor(divisor_override)
    n_threads = effective_n_threads(n_threads)
    y = _output(out, x.shape[:2] + (geometry.h_out, geometry.w_out), ndim, x)
    _pool.avg_pool2d(geometry, x.reshape(-1), y.reshape(-1), count_include_pad, divisor, n_threads)
    return _result(y, ndim)


def avg_pool2d_backward(grad_output, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, *, n_threads=None):
    """Gradient of avg_pool2d w.r.t. its input, for an input of input_size."""
    gy, ndim = _spatial_input(grad_output, "grad_output")
    size = _as_input_size(input_size, ndim)
    geometry = _geometry(size, kernel_size, stride, padding, 1, ceil_mode, "input_size")
    check_shape(gy, size[:2] + (geometry.h_out, geometry.w_out), "grad_output")
    count_include_pad = as_bool(count_include_pad, "count_include_pad")
    divisor = _divisor(divisor_override)
    n_threads = effective_n_threads(n_threads)
    gx = output_array(None, size, gy.dtype, "input_size")
    _pool.avg_pool2d_backward(geometry, gy.reshape(-1), gx.reshape(-1), count_include_pad, divisor, n_threads)
    return _result(gx, ndim)
