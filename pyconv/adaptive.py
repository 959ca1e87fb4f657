"""Adaptive average and max pooling, as torch.nn.functional's adaptive_*_pool1d/2d.

Output position i of an axis of input size n and output size o pools the window
[floor(i * n / o), ceil((i + 1) * n / o)). Three paths, fastest first:
- global (output 1x1, every ResNet head): each plane is one contiguous window; the average is a
  matrix-vector product with 1 / (H * W), the maximum an argmax per plane;
- o divides n: the windows tile the input, a plain pooling with kernel = stride = n / o (the
  2-D kernels);
- otherwise both are separable: the average is A_h @ x @ A_w^T with A[i, window i] = 1 / window
  size (two matrix products); the maximum is taken along W within each row, then along H over
  those row maxima (windows are at most ceil(n / o) + 1 wide).
The maximum takes the first NaN, else the first maximum in row-major window order, as max_pool2d
does. 1-D ops run on a unit-height view."""
import numpy as np

from pyconv._args import as_bool, as_int, output_array
from pyconv.conv_variants import batched_input, batched_size, out_view, strip_batch, with_batch
from pyconv.pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from pyconv.pool_variants import input_1d, max_pool1d_backward, size_1d, view_1d


def window_bounds(size, out):
    """(starts, ends) of the `out` adaptive windows over an axis of `size`."""
    i = np.arange(out)
    return (i * size) // out, -(-((i + 1) * size) // out)


def _output_size(output_size, spatial):
    """output_size as ints: an int or one value per spatial axis; None keeps the input's size."""
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != len(spatial):
            raise ValueError(f"output_size: expected an int or {len(spatial)} values, got {len(output_size)} "
                             f"values {tuple(output_size)!r}")
        values, names = output_size, [f"output_size[{a}]" for a in range(len(spatial))]
    else:
        values, names = (output_size,) * len(spatial), ["output_size"] * len(spatial)
    return tuple(size if v is None else as_int(v, name, minimum=1) for v, name, size in zip(values, names, spatial))


def _input(value):
    """(batched input, unbatched) with non-empty planes."""
    x, unbatched = batched_input(value, "input", 4, "N, C, H, W")
    if min(x.shape[2:]) < 1:
        raise ValueError(f"input: expected non-empty planes (H, W >= 1), got shape {x.shape}")
    return x, unbatched


def _grad_output(grad_output, input_size):
    """(batched grad_output, batched input size, unbatched) of a backward pass."""
    size, unbatched = batched_size(input_size, "input_size", 4)
    gy = with_batch(grad_output, 4, "grad_output", unbatched)
    if gy.shape[:2] != size[:2]:
        raise ValueError(f"grad_output: expected (N, C) = {size[:2]} as in input_size, got shape {gy.shape}")
    if min(size[2:]) < 1 or min(gy.shape[2:]) < 1:
        raise ValueError(f"input_size: expected non-empty planes for an output of shape {gy.shape}, got {size}")
    return gy, size, unbatched


def _tiles(spatial, out):
    """The kernel (= stride) of the plain pooling equal to this adaptive one, or None."""
    if all(n % o == 0 for n, o in zip(spatial, out)):
        return tuple(n // o for n, o in zip(spatial, out))
    return None


def _averaging_matrix(size, out, dtype):
    starts, ends = window_bounds(size, out)
    columns = np.arange(size)
    inside = (columns >= starts[:, np.newaxis]) & (columns < ends[:, np.newaxis])
    return (inside / (ends - starts)[:, np.newaxis]).astype(dtype)


def _separable(planes, rows, cols, result):
    """result[p] = rows @ planes[p] @ cols.T for every plane, as two single matrix products (the
    second over the planes side by side, after the first has shrunk them)."""
    count, h, w = planes.shape
    out_w = len(cols)
    along_w = planes.reshape(count * h, w) @ cols.T
    side_by_side = along_w.reshape(count, h, out_w).transpose(1, 0, 2).reshape(h, count * out_w)
    result[...] = (rows @ side_by_side).reshape(len(rows), count, out_w).transpose(1, 0, 2)


def adaptive_avg_pool2d(input, output_size, *, out=None, n_threads=None):
    """Adaptive average pooling of (N, C, H, W) or (C, H, W) to output_size (an int or a pair;
    None keeps that axis), as torch.nn.functional.adaptive_avg_pool2d. out= receives the result.
    The global case (output 1x1) is a mean: a matrix-vector product with 1 / (H * W)."""
    x, unbatched = _input(input)
    n, c, h, w = x.shape
    oh, ow = _output_size(output_size, (h, w))
    out_4d = out_view(out, 3 if unbatched else 4, np.newaxis if unbatched else ...)
    tiles = _tiles((h, w), (oh, ow))
    if (oh, ow) == (1, 1):
        y = output_array(out_4d, (n, c, 1, 1), x.dtype)
        np.matmul(x.reshape(n * c, h * w), np.full(h * w, 1 / (h * w), x.dtype), out=y.reshape(n * c))
    elif tiles is not None:
        y = avg_pool2d(x, tiles, out=out_4d, n_threads=n_threads)
    else:
        y = output_array(out_4d, (n, c, oh, ow), x.dtype)
        _separable(x.reshape(n * c, h, w), _averaging_matrix(h, oh, x.dtype), _averaging_matrix(w, ow, x.dtype),
                   y.reshape(n * c, oh, ow))
    return out if out is not None else strip_batch(y, unbatched)


def adaptive_avg_pool2d_backward(grad_output, input_size, *, n_threads=None):
    """Gradient of adaptive_avg_pool2d w.r.t. its input (of input_size, (N, C, H, W) or (C, H, W))."""
    gy, size, unbatched = _grad_output(grad_output, input_size)
    n, c, h, w = size
    oh, ow = gy.shape[2:]
    tiles = _tiles((h, w), (oh, ow))
    if (oh, ow) == (1, 1):
        gx = np.empty(size, gy.dtype)
        gx[...] = gy / gy.dtype.type(h * w)
    elif tiles is not None:
        gx = avg_pool2d_backward(gy, size, tiles, n_threads=n_threads)
    else:
        gx = np.empty(size, gy.dtype)
        _separable(gy.reshape(n * c, oh, ow), _averaging_matrix(h, oh, gy.dtype).T,
                   _averaging_matrix(w, ow, gy.dtype).T, gx.reshape(n * c, h, w))
    return strip_batch(gx, unbatched)


def _window_taps(size, out):
    """(out, widest window) positions of each window, the last one repeated to fill the row (a
    repeat never changes the first maximum or the first NaN)."""
    starts, ends = window_bounds(size, out)
    taps = starts[:, np.newaxis] + np.arange((ends - starts).max())
    return np.minimum(taps, (ends - 1)[:, np.newaxis])


def _argmax_along(values, taps, axis):
    """(maxima, positions) over windows of `axis` whose positions are the rows of taps (out,
    widest): the first NaN, else the first maximum, of each window."""
    windows = np.take(values, taps, axis=axis)  # the window axis right after `axis`
    chosen = np.expand_dims(np.argmax(windows, axis=axis + 1), axis + 1)  # NaN counts as the maximum
    maxima = np.take_along_axis(windows, chosen, axis=axis + 1).squeeze(axis + 1)
    return maxima, taps[np.arange(len(taps))[(...,) + (np.newaxis,) * (values.ndim - axis - 1)],
                        chosen.squeeze(axis + 1)]


def _separable_argmax(x, oh, ow):
    """Maxima and flat indices of the adaptive windows: along W within each row, then along H
    over those row maxima. The first row holding the window's maximum, and in it the first
    column, is the first maximum in row-major order (likewise for NaN)."""
    n, c, h, w = x.shape
    row_maxima, columns = _argmax_along(x, _window_taps(w, ow), 3)           # (n, c, h, ow)
    maxima, rows = _argmax_along(row_maxima, _window_taps(h, oh), 2)         # (n, c, oh, ow)
    return maxima, rows * w + np.take_along_axis(columns, rows, axis=2)


def adaptive_max_pool2d(input, output_size, return_indices=False, *, out=None, n_threads=None):
    """Adaptive max pooling of (N, C, H, W) or (C, H, W) to output_size, as
    torch.nn.functional.adaptive_max_pool2d; with return_indices also the int64 argmax, flat
    h * W + w in each plane (max_pool2d's format). out= receives the values."""
    x, unbatched = _input(input)
    oh, ow = _output_size(output_size, x.shape[2:])
    return_indices = as_bool(return_indices, "return_indices")
    out_4d = out_view(out, 3 if unbatched else 4, np.newaxis if unbatched else ...)
    n, c, h, w = x.shape
    tiles = _tiles((h, w), (oh, ow))
    if tiles is not None and (oh, ow) != (1, 1):
        result = max_pool2d(x, tiles, return_indices=return_indices, out=out_4d, n_threads=n_threads)
        y, indices = result if return_indices else (result, None)
    else:
        y = output_array(out_4d, (n, c, oh, ow), x.dtype)
        if (oh, ow) == (1, 1):  # global: each plane is one window, already contiguous
            indices = np.argmax(x.reshape(n, c, 1, 1, h * w), axis=-1)  # NaN counts as the maximum
            y[...] = np.take_along_axis(x.reshape(n, c, 1, h * w), indices.reshape(n, c, 1, 1), axis=-1)
        else:
            y[...], indices = _separable_argmax(x, oh, ow)
    values = out if out is not None else strip_batch(y, unbatched)
    return (values, strip_batch(indices, unbatched)) if return_indices else values


def adaptive_max_pool2d_backward(grad_output, indices, input_size, *, n_threads=None):
    """Gradient of adaptive_max_pool2d w.r.t. its input: grad_output scattered through the
    indices, as for max_pool2d."""
    return max_pool2d_backward(grad_output, indices, input_size, n_threads=n_threads)


def adaptive_avg_pool1d(input, output_size, *, out=None, n_threads=None):
    """Adaptive average pooling of (N, C, L) or (C, L) to output_size (an int or a 1-tuple)."""
    x, ndim = input_1d(input, "input")
    y = adaptive_avg_pool2d(x, (1, _size_1d_arg(output_size)), out=view_1d(out, ndim), n_threads=n_threads)
    return y[..., 0, :]


def adaptive_avg_pool1d_backward(grad_output, input_size, *, n_threads=None):
    """Gradient of adaptive_avg_pool1d w.r.t. its input (of input_size, (N, C, L) or (C, L))."""
    gy, ndim = input_1d(grad_output, "grad_output")
    return adaptive_avg_pool2d_backward(gy, size_1d(input_size, ndim), n_threads=n_threads)[..., 0, :]


def adaptive_max_pool1d(input, output_size, return_indices=False, *, out=None, n_threads=None):
    """Adaptive max pooling of (N, C, L) or (C, L); indices are int64 positions in L."""
    x, ndim = input_1d(input, "input")
    result = adaptive_max_pool2d(x, (1, _size_1d_arg(output_size)), return_indices, out=view_1d(out, ndim),
                                 n_threads=n_threads)
    if return_indices:
        return result[0][..., 0, :], result[1][..., 0, :]
    return result[..., 0, :]


def adaptive_max_pool1d_backward(grad_output, indices, input_size, *, n_threads=None):
    """Gradient of adaptive_max_pool1d w.r.t. its input (of input_size, (N, C, L) or (C, L))."""
    return max_pool1d_backward(grad_output, indices, input_size, n_threads=n_threads)


def _size_1d_arg(output_size):
    """An int or a 1-tuple (None keeps the length)."""
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 1:
            raise ValueError(f"output_size: expected an int or a 1-tuple, got {len(output_size)} values "
                             f"{tuple(output_size)!r}")
        output_size = output_size[0]
    return None if output_size is None else as_int(output_size, "output_size", minimum=1)
