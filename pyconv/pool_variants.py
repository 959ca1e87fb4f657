"""1-D pooling and max unpooling with torch.nn.functional's names and argument order.

The 1-D pools run the 2-D kernels on a unit-height view (N, C, 1, L) (or (C, 1, L) when
unbatched), so their indices are PyTorch's 1-D ones: the position in L. max_unpool scatters
values to the positions max_pool's indices name (flat h * W + w in each plane)."""
import numpy as np

from pyconv._args import as_indices, as_pair, as_shape, output_array
from pyconv.conv_variants import as_single, batched_input, out_view, strip_batch
from pyconv.pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward


def _stride_1d(stride):
    """None or () (PyTorch's default: stride = kernel_size) stays None, else an int."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return None
    return (1, as_single(stride, "stride", minimum=1))


def input_1d(value, name):
    """A (C, L) or (N, C, L) float array as its unit-height 2-D view, and its ndim."""
    x, unbatched = batched_input(value, name, 3, "N, C, L")
    x = x[0] if unbatched else x
    return x[..., np.newaxis, :], x.ndim


def view_1d(out, ndim):
    """The caller's 1-D out= (ndim dims) as the unit-height view the 2-D op writes."""
    return out_view(out, ndim, (..., np.newaxis, slice(None)))


def size_1d(input_size, ndim):
    size = as_shape(input_size, "input_size", ndim)
    return size[:-1] + (1, size[-1])


def _window_1d(kernel_size, stride, padding, dilation=1):
    return ((1, as_single(kernel_size, "kernel_size", minimum=1)), _stride_1d(stride),
            (0, as_single(padding, "padding", minimum=0)), (1, as_single(dilation, "dilation", minimum=1)))


def indices_1d(indices):
    try:
        return np.asarray(indices)[..., np.newaxis, :]
    except Exception as exc:
        raise TypeError(f"indices: expected an integer array, got {type(indices).__name__}: {exc}") from None


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               *, out=None, n_threads=None):
    """1-D max pooling of (N, C, L) or (C, L), as torch.nn.functional.max_pool1d; the indices
    (return_indices=True) are int64 positions in L. out= receives the values."""
    x, ndim = input_1d(input, "input")
    kernel, stride, padding, dilation = _window_1d(kernel_size, stride, padding, dilation)
    result = max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices,
                        out=view_1d(out, ndim), n_threads=n_threads)
    if return_indices:
        return result[0][..., 0, :], result[1][..., 0, :]
    return result[..., 0, :]


def max_pool1d_backward(grad_output, indices, input_size, *, n_threads=None):
    """Gradient of max_pool1d w.r.t. its input (of input_size, (N, C, L) or (C, L))."""
    gy, ndim = input_1d(grad_output, "grad_output")
    gx = max_pool2d_backward(gy, indices_1d(indices), size_1d(input_size, ndim), n_threads=n_threads)
    return gx[..., 0, :]


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, *,
               out=None, n_threads=None):
    """1-D average pooling of (N, C, L) or (C, L), as torch.nn.functional.avg_pool1d."""
    x, ndim = input_1d(input, "input")
    kernel, stride, padding, _ = _window_1d(kernel_size, stride, padding)
    y = avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad,
                   out=view_1d(out, ndim), n_threads=n_threads)
    return y[..., 0, :]


def avg_pool1d_backward(grad_output, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, *, n_threads=None):
    """Gradient of avg_pool1d w.r.t. its input (of input_size, (N, C, L) or (C, L))."""
    gy, ndim = input_1d(grad_output, "grad_output")
    kernel, stride, padding, _ = _window_1d(kernel_size, stride, padding)
    gx = avg_pool2d_backward(gy, size_1d(input_size, ndim), kernel, stride, padding, ceil_mode,
                             count_include_pad, n_threads=n_threads)
    return gx[..., 0, :]


# ----------------------------------------------------------------------------------------------
# Max unpooling

def _unpool_size(spatial, kernel, stride, padding, output_size):
    """torch's _unpool_output_size: (in - 1) * stride - 2 * padding + kernel per axis, or
    output_size (its last len(spatial) entries when it has two more, (N, C, ...)) when strictly
    within one stride of that."""
    default = tuple((size - 1) * s - 2 * p + k for size, k, s, p in zip(spatial, kernel, stride, padding))
    if output_size is None:
        sizes = default
    else:
        sizes = tuple(output_size)
        if len(sizes) == len(spatial) + 2:
            sizes = sizes[2:]
        if len(sizes) != len(spatial):
            raise ValueError(f"output_size: expected {len(spatial)} or {len(spatial) + 2} sizes, got {len(sizes)}: "
                             f"{sizes!r}")
        sizes = as_shape(sizes, "output_size", len(spatial))
        low = tuple(a - s for a, s in zip(default, stride))
        high = tuple(a + s for a, s in zip(default, stride))
        if not all(lo < size < hi for lo, size, hi in zip(low, sizes, high)):
            raise ValueError(f"output_size: expected sizes strictly between {low} and {high}, got {sizes}")
    if min(sizes) < 1:
        raise ValueError(f"output_size: expected an output of at least 1 per axis, got {sizes}")
    return sizes


def _unpool_indices(indices, shape):
    return as_indices(indices, shape).astype(np.int64, copy=False)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None, *, out=None):
    """The partial inverse of max_pool2d, as torch.nn.functional.max_unpool2d: an array of zeros
    of output size (N, C, H_out, W_out) (or (C, H_out, W_out)) with input[n, c, i, j] written at
    the flat position indices[n, c, i, j] = h * W_out + w of its plane. H_out = (H - 1) * stride
    - 2 * padding + kernel_size unless output_size says otherwise. out= receives the result."""
    x, unbatched = batched_input(input, "input", 4, "N, C, H, W")
    kernel = as_pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        as_pair(stride, "stride", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    h_out, w_out = _unpool_size(x.shape[2:], kernel, stride, padding, output_size)
    idx = _unpool_indices(indices, x.shape[1:] if unbatched else x.shape).reshape(x.shape[0] * x.shape[1], -1)
    if idx.size and (idx.min() < 0 or idx.max() >= h_out * w_out):
        bad = idx[(idx < 0) | (idx >= h_out * w_out)]
        raise ValueError(f"indices: expected values in [0, {h_out * w_out}) (H_out * W_out), got {bad.flat[0]}")
    shape = x.shape[:2] + (h_out, w_out)
    y = output_array(out_view(out, 3 if unbatched else 4, np.newaxis if unbatched else ...), shape, x.dtype)
    y.fill(0)
    np.put_along_axis(y.reshape(len(idx), -1), idx, x.reshape(len(idx), -1), axis=1)
    return out if out is not None else strip_batch(y, unbatched)


def max_unpool2d_backward(grad_output, indices):
    """Gradient of max_unpool2d w.r.t. its input: grad_output read at the indices (an array of
    the indices' shape), as PyTorch computes it."""
    gy, unbatched = batched_input(grad_output, "grad_output", 4, "N, C, H, W")
    n, c = gy.shape[:2]
    idx = np.asarray(indices)
    idx = _unpool_indices(idx, (c,) + idx.shape[1:] if unbatched else (n, c) + idx.shape[2:])
    flat = idx.reshape(n * c, -1)
    plane = gy.shape[2] * gy.shape[3]
    if flat.size and (flat.min() < 0 or flat.max() >= plane):
        raise ValueError(f"indices: expected values in [0, {plane}) (H * W of grad_output), got "
                         f"{flat[(flat < 0) | (flat >= plane)].flat[0]}")
    return np.take_along_axis(gy.reshape(n * c, -1), flat, axis=1).reshape(idx.shape)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None, *, out=None):
    """The partial inverse of max_pool1d, as torch.nn.functional.max_unpool1d: (N, C, L_out) or
    (C, L_out) zeros with input written at the positions indices name."""
    x, ndim = input_1d(input, "input")
    kernel, stride, padding, _ = _window_1d(kernel_size, stride, padding)
    if output_size is not None:
        output_size = (1, tuple(output_size)[-1]) if hasattr(output_size, "__len__") else (1, output_size)
    y = max_unpool2d(x, indices_1d(indices), kernel, stride, padding, output_size,
                     out=view_1d(out, ndim))
    return y[..., 0, :]


def max_unpool1d_backward(grad_output, indices):
    """Gradient of max_unpool1d w.r.t. its input: grad_output read at the indices."""
    gy, _ = input_1d(grad_output, "grad_output")
    return max_unpool2d_backward(gy, indices_1d(indices))[..., 0, :]

