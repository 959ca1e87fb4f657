"""pyconv.reference: every pyconv op in plain NumPy, the specification the kernels are tested against.

Readable rather than fast: windows come from `sliding_window_view`, convolutions are im2col
followed by a (grouped) matmul, and scatter-adds loop over the few kernel taps, never over pixels.
Everything is computed in float64; the result has the float dtype (float32 or float64) of the op's
first array argument, so the same code judges float32 and float64 kernels. Argument
normalization comes from `pyconv._args`, so padding forms, pairs and output sizes mean exactly
what they mean in the public API. Names and argument order follow PyTorch
(torch.nn.functional, torch.nn.grad); layout is NCHW; convolution is cross-correlation."""
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pyconv._args import (as_float_array, as_int, as_pair, as_shape, check_shape, conv_padding,
                          output_size)

__all__ = [
    "avg_pool2d", "avg_pool2d_backward", "col2im", "conv2d", "conv2d_bias", "conv2d_input",
    "conv2d_weight", "gemm", "im2col", "max_pool2d", "max_pool2d_backward", "winograd_magnitude",
    "winograd_weight_magnitude",
]


# ----------------------------------------------------------------------------------------------
# Shared pieces

def _as_float64(value, name, ndim):
    """(float64 copy of value, value's own float dtype); non-float dtypes raise TypeError."""
    arr = as_float_array(value, name, ndim=ndim)
    return arr.astype(np.float64), arr.dtype


def _pad(x, pads, value=0.0):
    """Pad the two spatial axes of an (N, C, H, W) array by (top, bottom, left, right)."""
    top, bottom, left, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _windows(padded, kernel, stride, dilation, out):
    """Read-only view (N, C, oh, ow, kh, kw) of the (dilated) windows of a padded array."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    view = sliding_window_view(padded, span, axis=(2, 3))
    view = view[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return view[:, :, :out[0], :out[1]]


def _im2col(x, kernel, stride, dilation, pads, out):
    """(N, C, H, W) -> (N, C*kh*kw, oh*ow); row c*kh*kw + i*kw + j holds tap (i, j) of channel c."""
    n, c = x.shape[:2]
    windows = _windows(_pad(x, pads), kernel, stride, dilation, out)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel[0] * kernel[1], out[0] * out[1])


def _col2im(cols, channels, size, kernel, stride, dilation, pads, out):
    """The adjoint of _im2col: add every column entry back onto its pixel (overlaps sum, entries
    that fall on padding are dropped)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    top, bottom, left, right = pads
    n = cols.shape[0]
    padded = np.zeros((n, channels, size[0] + top + bottom, size[1] + left + right))
    taps = cols.reshape(n, channels, kh, kw, oh, ow)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                   j * dw:j * dw + sw * (ow - 1) + 1:sw] += taps[:, :, i, j]
    return padded[:, :, top:top + size[0], left:left + size[1]]


def _conv_geometry(size, kernel_size, stride, padding, dilation, kernel_name="kernel_size"):
    """(kernel, stride, dilation, (top, bottom, left, right), (oh, ow)) of a convolution over an
    input of spatial `size`; ValueError when the dilated kernel does not fit the padded input."""
    kernel = as_pair(kernel_size, kernel_name, minimum=1)
    stride = as_pair(stride, "stride", minimum=1)
    dilation = as_pair(dilation, "dilation", minimum=1)
    pads = top, bottom, left, right = conv_padding(padding, kernel, dilation, stride)
    out = (output_size(size[0], kernel[0], stride[0], dilation[0], top, bottom),
           output_size(size[1], kernel[1], stride[1], dilation[1], left, right))
    if min(out) < 1:
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        padded = (size[0] + top + bottom, size[1] + left + right)
        raise ValueError(f"{kernel_name}: the dilated kernel {span} must fit the padded input {padded}, "
                         f"got output size {out}")
    return kernel, stride, dilation, pads, out


def _check_groups(channels, weight_shape, groups):
    """The input channels and the weight shape (O, C/groups, kh, kw) must agree with groups."""
    if weight_shape[1] * groups != channels:
        raise ValueError(f"weight: expected {channels} input channels = weight.shape[1] * groups, "
                         f"got {weight_shape[1]} * {groups} = {weight_shape[1] * groups}")
    if weight_shape[0] % groups != 0:
        raise ValueError(f"groups: must divide the {weight_shape[0]} output channels, got {groups}")


def _grouped(arr, groups):
    """(N, G*K, ...) -> (N, G, K, L): channel blocks are contiguous, one per group. (Explicit
    sizes, no -1: the arrays may be empty.)"""
    n, channels = arr.shape[:2]
    return arr.reshape(n, groups, channels // groups, math.prod(arr.shape[2:]))


def _grouped_weight(w, groups):
    """(O, C/G, kh, kw) -> (G, O/G, C/G*kh*kw): one GEMM operand per group."""
    return w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))


# ----------------------------------------------------------------------------------------------
# Convolution

def _silu(v):
    with np.errstate(over="ignore", invalid="ignore"):  # silu(-inf) = -inf / inf = nan, as in torch
        return v / (1 + np.exp(-v))


def _sigmoid(v):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-v))


# The activations of conv2d's output stage, NaN-propagating as in PyTorch.
ACTIVATIONS = {
    "relu": lambda v: np.where(v < 0, 0.0, v),
    "relu6": lambda v: np.clip(v, 0.0, 6.0),
    "silu": _silu,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
}


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           activation=None, residual=None):
    """out[n, o] = act(bias[o] + residual[n, o] + sum over c in o's group, i, j of
    weight[o, c, i, j] * padded_input[n, c, y*sh + i*dh, x*sw + j*dw]).

    input (N, C, H, W); weight (O, C/groups, kh, kw); bias (O,) or None. padding: int, pair,
    ((top, bottom), (left, right)), "valid", "same" (stride 1) or "full". activation: None or
    a name in ACTIVATIONS; residual: None or an (N, O, oh, ow) array. -> (N, O, oh, ow)."""
    x, dtype = _as_float64(input, "input", 4)
    w, _ = _as_float64(weight, "weight", 4)
    groups = as_int(groups, "groups", minimum=1)
    _check_groups(x.shape[1], w.shape, groups)
    kernel, stride, dilation, pads, out = _conv_geometry(x.shape[2:], w.shape[2:], stride, padding, dilation,
                                                         "weight.shape[2:]")
    cols = _grouped(_im2col(x, kernel, stride, dilation, pads, out), groups)
    y = _grouped_weight(w, groups) @ cols
    y = y.reshape(x.shape[0], w.shape[0], *out)
    if bias is not None:
        b, _ = _as_float64(bias, "bias", 1)
        check_shape(b, (w.shape[0],), "bias")
        y += b[:, None, None]
    if residual is not None:
        r, _ = _as_float64(residual, "residual", 4)
        check_shape(r, y.shape, "residual")
        y += r
    if activation is not None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected None or one of {tuple(ACTIVATIONS)}, got {activation!r}")
        y = ACTIVATIONS[activation](y)
    return y.astype(dtype)


def winograd_magnitude(input, weight, pads, groups=1):
    """The scale of Winograd F(4x4, 3x3)'s rounding errors in each output of the stride-1 3x3
    convolution of input with weight, padded by pads = (top, bottom, left, right) (negative: a
    crop). The transforms mix each 4x4 output tile's whole 6x6 input patch, so the scale is, per
    output o: the sum over o's group's channels c of (the sum of |input[c]| over the 9x9 window
    that holds every 6x6 patch o's tile can read) * (the sum of |weight[o, c]| over the taps).
    Float64, shaped like the convolution's output (docs/winograd.md)."""
    x, _ = _as_float64(input, "input", 4)
    w, _ = _as_float64(weight, "weight", 4)
    top, bottom, left, right = (int(p) for p in pads)
    h, w_in = x.shape[2:]
    x = np.abs(x[:, :, max(0, -top):h - max(0, -bottom), max(0, -left):w_in - max(0, -right)])
    taps = np.abs(w).sum(axis=(2, 3))[:, :, None, None] * np.ones((1, 1, 9, 9))
    padding = ((max(0, top) + 3, max(0, bottom) + 3), (max(0, left) + 3, max(0, right) + 3))
    return conv2d(x, taps, padding=padding, groups=groups)


def winograd_weight_magnitude(input, grad_output, pads, groups=1):
    """The scale of the rounding errors of Winograd F(4x4, 3x3)'s weight gradient of the
    stride-1 3x3 convolution of input padded by pads = (top, bottom, left, right), >= 0. It sums
    the products of each output tile's transformed 4x4 block of grad_output (zeros past the
    output's edge) and transformed 6x6 input patch, so the scale is, per filter f and input
    channel c of its group: the sum over the tiles of (the sum of |grad_output[f]| over the
    tile) * (the sum of |input[c]| over its patch). Float64, shaped like the weight
    (C_out, C_in / groups, 3, 3), the same for the nine taps (docs/winograd.md)."""
    x, _ = _as_float64(input, "input", 4)
    g, _ = _as_float64(grad_output, "grad_output", 4)
    top, bottom, left, right = (int(p) for p in pads)
    n, c, h, w_in = x.shape
    f, h_out, w_out = g.shape[1:]
    tiles_h, tiles_w = -(-h_out // 4), -(-w_out // 4)
    # the tiles' sums: 4x4 blocks of |gy| (padded to whole tiles), 6x6 patches of |x| at stride 4
    tile_sums = conv2d(np.abs(g), np.ones((f, 1, 4, 4)), stride=4, groups=f,
                       padding=((0, 4 * tiles_h - h_out), (0, 4 * tiles_w - w_out)))
    patch_sums = conv2d(np.abs(x), np.ones((c, 1, 6, 6)), stride=4, groups=c,
                        padding=((top, 4 * tiles_h + 2 - h - top), (left, 4 * tiles_w + 2 - w_in - left)))
    per_group = np.einsum("ngft,ngct->gfc", tile_sums.reshape(n, groups, f // groups, -1),
                          patch_sums.reshape(n, groups, c // groups, -1))
    return np.repeat(per_group.reshape(f, c // groups, 1), 9, axis=2).reshape(f, c // groups, 3, 3)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of conv2d w.r.t. its input (torch.nn.grad.conv2d_input): the transposed
    convolution of grad_output (N, O, oh, ow) with weight, as an (N, C, H, W) array.
    input_size is exactly (N, C, H, W); it fixes the rows/columns a stride leaves uncovered."""
    n, c, h, w_in = as_shape(input_size, "input_size", 4)
    w, dtype = _as_float64(weight, "weight", 4)
    g, _ = _as_float64(grad_output, "grad_output", 4)
    groups = as_int(groups, "groups", minimum=1)
    _check_groups(c, w.shape, groups)
    kernel, stride, dilation, pads, out = _conv_geometry((h, w_in), w.shape[2:], stride, padding, dilation,
                                                         "weight.shape[2:]")
    check_shape(g, (n, w.shape[0], *out), "grad_output")
    cols = _grouped_weight(w, groups).transpose(0, 2, 1) @ _grouped(g, groups)
    cols = cols.reshape(n, c * kernel[0] * kernel[1], out[0] * out[1])
    return _col2im(cols, c, (h, w_in), kernel, stride, dilation, pads, out).astype(dtype)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of conv2d w.r.t. its weight (torch.nn.grad.conv2d_weight): for each group,
    sum over n of grad_output @ im2col(input)^T, as an array of weight_size (O, C/groups, kh, kw)."""
    x, dtype = _as_float64(input, "input", 4)
    weight_size = as_shape(weight_size, "weight_size", 4)
    g, _ = _as_float64(grad_output, "grad_output", 4)
    groups = as_int(groups, "groups", minimum=1)
    _check_groups(x.shape[1], weight_size, groups)
    kernel, stride, dilation, pads, out = _conv_geometry(x.shape[2:], weight_size[2:], stride, padding, dilation,
                                                         "weight_size[2:]")
    check_shape(g, (x.shape[0], weight_size[0], *out), "grad_output")
    cols = _grouped(_im2col(x, kernel, stride, dilation, pads, out), groups)
    grad = (_grouped(g, groups) @ cols.transpose(0, 1, 3, 2)).sum(axis=0)
    return grad.reshape(weight_size).astype(dtype)


def conv2d_bias(grad_output):
    """Gradient of conv2d w.r.t. its bias: grad_output (N, O, oh, ow) summed over N, oh, ow -> (O,)."""
    g, dtype = _as_float64(grad_output, "grad_output", 4)
    return g.sum(axis=(0, 2, 3)).astype(dtype)


def im2col(input, kernel_size, dilation=1, padding=0, stride=1):
    """torch.nn.functional.unfold: (N, C, H, W) -> (N, C*kh*kw, L), L = oh*ow, row index
    c*kh*kw + i*kw + j, column index y*ow + x; padding takes every form conv2d takes."""
    x, dtype = _as_float64(input, "input", 4)
    kernel, stride, dilation, pads, out = _conv_geometry(x.shape[2:], kernel_size, stride, padding, dilation)
    return _im2col(x, kernel, stride, dilation, pads, out).astype(dtype)


def col2im(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """torch.nn.functional.fold, the adjoint of im2col: (N, C*kh*kw, L) -> (N, C, H, W) with
    (H, W) = output_size, summing the entries that land on the same pixel."""
    cols, dtype = _as_float64(input, "input", 3)
    size = as_pair(output_size, "output_size", minimum=1)
    kernel, stride, dilation, pads, out = _conv_geometry(size, kernel_size, stride, padding, dilation)
    taps = kernel[0] * kernel[1]
    if cols.shape[1] % taps != 0:
        raise ValueError(f"input: expected dimension 1 divisible by kh*kw = {taps}, got shape {cols.shape}")
    if cols.shape[2] != out[0] * out[1]:
        raise ValueError(f"input: expected {out[0] * out[1]} = {out[0]}x{out[1]} columns for "
                         f"output_size {size}, got shape {cols.shape}")
    return _col2im(cols, cols.shape[1] // taps, size, kernel, stride, dilation, pads, out).astype(dtype)


# ----------------------------------------------------------------------------------------------
# Pooling

def _pool_geometry(size, kernel_size, stride, padding, dilation, ceil_mode):
    """(kernel, stride, dilation, pads, out) of a pooling. pads = (top, bottom, left, right): the
    symmetric padding, with bottom/right grown where ceil_mode lets the last window run past it."""
    kernel = as_pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None else as_pair(stride, "stride", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    dilation = as_pair(dilation, "dilation", minimum=1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"padding: expected at most half the kernel size {kernel}, got {padding}")
    out = tuple(output_size(size[a], kernel[a], stride[a], dilation[a], padding[a], padding[a], bool(ceil_mode))
                for a in range(2))
    if min(out) < 1:
        raise ValueError(f"kernel_size: kernel {kernel} with dilation {dilation} and padding {padding} "
                         f"gives output size {out} for input size {tuple(size)}")
    after = [max(padding[a], (out[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 - size[a] - padding[a])
             for a in range(2)]
    return kernel, stride, dilation, (padding[0], after[0], padding[1], after[1]), out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each (dilated) window; stride None = kernel_size; padding <= kernel_size // 2.

    Only positions inside the input are candidates (padding acts as -inf but is never chosen: an
    all -inf window gives its first in-bounds element). Ties go to the first element in row-major
    window order; a NaN wins (the first NaN). Indices are int64 flat h*W + w inside each (n, c)
    plane. A window with no in-bounds element (possible only with dilation) raises ValueError.
    -> (N, C, oh, ow), plus the indices when return_indices."""
    x, dtype = _as_float64(input, "input", 4)
    n, c, h, w = x.shape
    kernel, stride, dilation, pads, out = _pool_geometry((h, w), kernel_size, stride, padding, dilation, ceil_mode)
    taps = kernel[0] * kernel[1]
    values = _windows(_pad(x, pads, -np.inf), kernel, stride, dilation, out).reshape(n, c, *out, taps)
    plane = np.arange(h * w, dtype=np.int64).reshape(1, 1, h, w)
    where = _windows(_pad(plane, pads, -1), kernel, stride, dilation, out).reshape(*out, taps)
    inside = where >= 0
    if not inside.any(axis=-1).all():
        raise ValueError(f"dilation: some {kernel} windows with dilation {dilation} and padding {pads} "
                         f"hold no element of the {h}x{w} input")
    candidates = np.where(inside, values, -np.inf)
    is_nan = np.isnan(candidates)
    is_max = inside & (candidates == candidates.max(axis=-1, keepdims=True))
    chosen = np.where(is_nan.any(axis=-1, keepdims=True), is_nan, is_max).argmax(axis=-1)[..., None]
    result = np.take_along_axis(values, chosen, axis=-1)[..., 0].astype(dtype)
    if not return_indices:
        return result
    indices = np.take_along_axis(np.broadcast_to(where, values.shape), chosen, axis=-1)[..., 0]
    return result, indices


def max_pool2d_backward(grad_output, indices, input_size):
    """Gradient of max_pool2d w.r.t. its input: each grad_output entry is added at its argmax
    (overlapping windows accumulate). indices: integer, shape of grad_output, in [0, H*W)."""
    g, dtype = _as_float64(grad_output, "grad_output", 4)
    n, c, h, w = as_shape(input_size, "input_size", 4)
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices: expected an integer array, got dtype {idx.dtype}")
    check_shape(idx, g.shape, "indices")
    if g.shape[:2] != (n, c):
        raise ValueError(f"grad_output: expected (N, C) = {(n, c)} from input_size, got shape {g.shape}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= h * w):
        raise ValueError(f"indices: expected values in [0, {h * w}), got [{idx.min()}, {idx.max()}]")
    plane_start = (np.arange(n * c, dtype=np.int64) * (h * w)).reshape(n, c, 1, 1)
    grad = np.bincount((idx + plane_start).ravel(), weights=g.ravel(), minlength=n * c * h * w)
    return grad.reshape(n, c, h, w).astype(dtype)


def _avg_divisor(size, kernel, stride, padding, out, count_include_pad, divisor_override):
    """(oh, ow) divisors, PyTorch's rule: divisor_override if given; else the window clipped to the
    padded input (count_include_pad) or clipped to the input itself."""
    if divisor_override is not None:
        divisor = as_int(divisor_override, "divisor_override")
        if divisor == 0:
            raise ValueError("divisor_override: expected a nonzero int, got 0")
        return np.full(out, float(divisor))
    counts = []
    for a in range(2):
        start = np.arange(out[a]) * stride[a] - padding[a]
        end = np.minimum(start + kernel[a], size[a] + padding[a])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size[a])
        counts.append(end - start)
    return np.outer(*counts).astype(np.float64)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window (sum / divisor, see _avg_divisor); padding <= kernel_size // 2 is zeros."""
    x, dtype = _as_float64(input, "input", 4)
    kernel, stride, dilation, pads, out = _pool_geometry(x.shape[2:], kernel_size, stride, padding, 1, ceil_mode)
    sums = _windows(_pad(x, pads), kernel, stride, dilation, out).sum(axis=(-2, -1))
    divisor = _avg_divisor(x.shape[2:], kernel, stride, pads[::2], out, count_include_pad, divisor_override)
    return (sums / divisor).astype(dtype)


def avg_pool2d_backward(grad_output, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d w.r.t. its input: grad_output / divisor spread over each window's
    in-bounds elements (overlapping windows accumulate). -> input_size (N, C, H, W)."""
    g, dtype = _as_float64(grad_output, "grad_output", 4)
    n, c, h, w = as_shape(input_size, "input_size", 4)
    kernel, stride, dilation, pads, out = _pool_geometry((h, w), kernel_size, stride, padding, 1, ceil_mode)
    check_shape(g, (n, c, *out), "grad_output")
    share = g / _avg_divisor((h, w), kernel, stride, pads[::2], out, count_include_pad, divisor_override)
    cols = np.broadcast_to(share[:, :, None, None], (n, c, *kernel, *out))
    cols = cols.reshape(n, c * kernel[0] * kernel[1], out[0] * out[1])
    return _col2im(cols, c, (h, w), kernel, stride, dilation, pads, out).astype(dtype)


# ----------------------------------------------------------------------------------------------
# GEMM

def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """alpha * op(a) @ op(b) + beta * c, op(x) = x.T when trans_x (BLAS semantics: c is not read
    when beta == 0, so NaN in c does not propagate then). -> a's dtype."""
    a64, dtype = _as_float64(a, "a", 2)
    b64, _ = _as_float64(b, "b", 2)
    op_a = a64.T if trans_a else a64
    op_b = b64.T if trans_b else b64
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(f"b: inner dimensions must agree: op(a) is {op_a.shape[0]}x{op_a.shape[1]}, "
                         f"op(b) is {op_b.shape[0]}x{op_b.shape[1]}")
    result = float(alpha) * (op_a @ op_b)
    beta = float(beta)
    if beta != 0.0:
        if c is None:
            raise ValueError(f"c: beta={beta} needs c, got None")
        c64, _ = _as_float64(c, "c", 2)
        check_shape(c64, result.shape, "c")
        result += beta * c64
    return result.astype(dtype)


# ----------------------------------------------------------------------------------------------
# Convolution variants (pyconv.conv_variants)

__all__ += ["conv1d", "conv_transpose2d"]

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, causal=False):
    """conv2d of input (N, C, L) with weight (O, C/groups, k) on a unit-height image; padding is an
    int or a string as for conv2d. causal=True pads (k-1)*dilation on the left only. -> (N, O, L_out)."""
    x, dtype = _as_float64(input, "input", 3)
    w, _ = _as_float64(weight, "weight", 3)
    dilation = as_int(dilation, "dilation", minimum=1)
    if causal:
        padding = ((0, 0), ((w.shape[2] - 1) * dilation, 0))
    elif not isinstance(padding, str):
        padding = (0, as_int(padding, "padding", minimum=0))
    y = conv2d(x[:, :, None], w[:, :, None], bias, (1, stride), padding, (1, dilation), groups)
    return y[:, :, 0].astype(dtype)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose2d: input (N, C, H, W), weight (C, O/groups, kh, kw). Every
    input pixel scatters its weighted kernel into an uncropped (N, O, (H-1)*sh + dh*(kh-1) + 1, ...)
    output (conv2d_input of an unpadded convolution), which output_padding extends by zeros at the
    bottom/right and padding then crops on every side."""
    x, dtype = _as_float64(input, "input", 4)
    w, _ = _as_float64(weight, "weight", 4)
    groups = as_int(groups, "groups", minimum=1)
    stride = as_pair(stride, "stride", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    output_padding = as_pair(output_padding, "output_padding", minimum=0)
    dilation = as_pair(dilation, "dilation", minimum=1)
    n, _, h, w_in = x.shape
    uncropped = [(size - 1) * s + d * (k - 1) + 1 for size, s, d, k in zip((h, w_in), stride, dilation, w.shape[2:])]
    out = [u + op - 2 * p for u, op, p in zip(uncropped, output_padding, padding)]
    if min(out) < 1:
        raise ValueError(f"input: expected an output size >= 1, got {tuple(out)}")
    y = conv2d_input((n, w.shape[1] * groups, *uncropped), w, x, stride, 0, dilation, groups)
    y = _pad(y, (0, output_padding[0], 0, output_padding[1]))
    y = y[:, :, padding[0]:padding[0] + out[0], padding[1]:padding[1] + out[1]]
    if bias is not None:
        b, _ = _as_float64(bias, "bias", 1)
        check_shape(b, (y.shape[1],), "bias")
        y = y + b[:, None, None]
    return y.astype(dtype)


# ----------------------------------------------------------------------------------------------
# padding_mode, 1-D and transposed convolution gradients (pyconv.conv_variants)

__all__ += ["conv1d_input", "conv1d_weight", "conv2d_padded", "conv2d_padded_input", "conv2d_padded_weight",
            "conv_transpose1d", "conv_transpose1d_input", "conv_transpose1d_weight", "conv_transpose2d_input",
            "conv_transpose2d_weight", "fold", "fold_backward", "unfold", "unfold_backward"]


def _source_index(size, before, after, padding_mode):
    """For each position of an axis padded by (before, after): the input position it copies.
    reflect mirrors about the edge element, replicate repeats it, circular wraps around."""
    i = np.arange(-before, size + after)
    if padding_mode == "reflect":
        if max(before, after) >= size:
            raise ValueError(f"padding: 'reflect' needs padding smaller than the input size {size}")
        i = np.abs(i)
        return np.where(i >= size, 2 * (size - 1) - i, i)
    if padding_mode == "replicate":
        return np.clip(i, 0, size - 1)
    if padding_mode == "circular":
        if max(before, after) > size:
            raise ValueError(f"padding: 'circular' needs padding at most the input size {size}")
        return i % size
    raise ValueError(f"padding_mode: expected 'reflect', 'replicate' or 'circular', got {padding_mode!r}")


def _mode_pads(padding, kernel, stride, dilation):
    return conv_padding(padding, kernel, as_pair(dilation, "dilation", minimum=1), as_pair(stride, "stride", minimum=1))


def _padded_by_mode(x, pads, padding_mode):
    rows = _source_index(x.shape[2], pads[0], pads[1], padding_mode)
    cols = _source_index(x.shape[3], pads[2], pads[3], padding_mode)
    return x[:, :, rows[:, None], cols[None, :]]


def conv2d_padded(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """conv2d with torch.nn.Conv2d's padding_mode: the input padded by copying its own pixels
    ('reflect', 'replicate', 'circular'; 'zeros' is conv2d), then convolved unpadded."""
    if padding_mode == "zeros":
        return conv2d(input, weight, bias, stride, padding, dilation, groups)
    x, dtype = _as_float64(input, "input", 4)
    w, _ = _as_float64(weight, "weight", 4)
    padded = _padded_by_mode(x, _mode_pads(padding, w.shape[2:], stride, dilation), padding_mode)
    return conv2d(padded, w, bias, stride, 0, dilation, groups).astype(dtype)


def conv2d_padded_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1,
                        padding_mode="zeros"):
    """Gradient of conv2d_padded w.r.t. its input: the padded input's gradient, each padded
    position's value added to the input pixel it copies."""
    if padding_mode == "zeros":
        return conv2d_input(input_size, weight, grad_output, stride, padding, dilation, groups)
    n, c, h, w_in = as_shape(input_size, "input_size", 4)
    w, dtype = _as_float64(weight, "weight", 4)
    pads = _mode_pads(padding, w.shape[2:], stride, dilation)
    g = conv2d_input((n, c, h + pads[0] + pads[1], w_in + pads[2] + pads[3]), w, grad_output, stride, 0, dilation,
                     groups).astype(np.float64)
    rows = _source_index(h, pads[0], pads[1], padding_mode)
    cols = _source_index(w_in, pads[2], pads[3], padding_mode)
    grad = np.zeros((n, c, h, w_in))
    for i, r in enumerate(rows):
        for j, col in enumerate(cols):
            grad[:, :, r, col] += g[:, :, i, j]
    return grad.astype(dtype)


def conv2d_padded_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1,
                         padding_mode="zeros"):
    """Gradient of conv2d_padded w.r.t. its weight: conv2d_weight of the padded input."""
    if padding_mode == "zeros":
        return conv2d_weight(input, weight_size, grad_output, stride, padding, dilation, groups)
    x, dtype = _as_float64(input, "input", 4)
    size = as_shape(weight_size, "weight_size", 4)
    padded = _padded_by_mode(x, _mode_pads(padding, size[2:], stride, dilation), padding_mode)
    return conv2d_weight(padded, size, grad_output, stride, 0, dilation, groups).astype(dtype)


def _conv1d_as_2d(stride, padding, dilation, kernel, causal):
    dilation = as_int(dilation, "dilation", minimum=1)
    if causal:
        padding = ((0, 0), ((kernel - 1) * dilation, 0))
    elif not isinstance(padding, str):
        padding = (0, as_int(padding, "padding", minimum=0))
    return (1, stride), padding, (1, dilation)


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, causal=False):
    """Gradient of conv1d w.r.t. its input: conv2d_input on unit-height views."""
    n, c, length = as_shape(input_size, "input_size", 3)
    w, dtype = _as_float64(weight, "weight", 3)
    g, _ = _as_float64(grad_output, "grad_output", 3)
    geometry = _conv1d_as_2d(stride, padding, dilation, w.shape[2], causal)
    return conv2d_input((n, c, 1, length), w[:, :, None], g[:, :, None], *geometry, groups)[:, :, 0].astype(dtype)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, causal=False):
    """Gradient of conv1d w.r.t. its weight: conv2d_weight on unit-height views."""
    x, dtype = _as_float64(input, "input", 3)
    o, c, k = as_shape(weight_size, "weight_size", 3)
    g, _ = _as_float64(grad_output, "grad_output", 3)
    geometry = _conv1d_as_2d(stride, padding, dilation, k, causal)
    return conv2d_weight(x[:, :, None], (o, c, 1, k), g[:, :, None], *geometry, groups)[:, :, 0].astype(dtype)


def _transpose_geometry(size, kernel, stride, padding, output_padding, dilation):
    """(stride, padding, output_padding, dilation, uncropped size, output size) of a transposed
    convolution over a spatial `size`, as in conv_transpose2d."""
    stride = as_pair(stride, "stride", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    output_padding = as_pair(output_padding, "output_padding", minimum=0)
    dilation = as_pair(dilation, "dilation", minimum=1)
    uncropped = [(s_in - 1) * s + d * (k - 1) + 1 for s_in, s, d, k in zip(size, stride, dilation, kernel)]
    out = [u + op - 2 * p for u, op, p in zip(uncropped, output_padding, padding)]
    if min(out) < 1:
        raise ValueError(f"input: expected an output size >= 1, got {tuple(out)}")
    return stride, padding, output_padding, dilation, uncropped, out


def _uncrop(g, uncropped, padding, output_padding):
    """The adjoint of conv_transpose2d's crop: grad_output placed at offset padding inside the
    uncropped + output_padding array (zeros elsewhere), output_padding's rows then dropped."""
    n, c = g.shape[:2]
    full = np.zeros((n, c, uncropped[0] + output_padding[0], uncropped[1] + output_padding[1]))
    full[:, :, padding[0]:padding[0] + g.shape[2], padding[1]:padding[1] + g.shape[3]] = g
    return full[:, :, :uncropped[0], :uncropped[1]]


def conv_transpose2d_input(input_size, weight, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                           dilation=1):
    """Gradient of conv_transpose2d w.r.t. its input: grad_output uncropped (see _uncrop), then
    conv2d with the weight (the adjoint of conv2d_input)."""
    n, c, h, w_in = as_shape(input_size, "input_size", 4)
    w, dtype = _as_float64(weight, "weight", 4)
    g, _ = _as_float64(grad_output, "grad_output", 4)
    groups = as_int(groups, "groups", minimum=1)
    stride, padding, output_padding, dilation, uncropped, out = _transpose_geometry(
        (h, w_in), w.shape[2:], stride, padding, output_padding, dilation)
    check_shape(g, (n, w.shape[1] * groups, *out), "grad_output")
    return conv2d(_uncrop(g, uncropped, padding, output_padding), w, None, stride, 0, dilation, groups).astype(dtype)


def conv_transpose2d_weight(input, weight_size, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                            dilation=1):
    """Gradient of conv_transpose2d w.r.t. its weight: conv2d_weight of the uncropped grad_output
    with the input as the output gradient."""
    x, dtype = _as_float64(input, "input", 4)
    size = as_shape(weight_size, "weight_size", 4)
    g, _ = _as_float64(grad_output, "grad_output", 4)
    groups = as_int(groups, "groups", minimum=1)
    stride, padding, output_padding, dilation, uncropped, out = _transpose_geometry(
        x.shape[2:], size[2:], stride, padding, output_padding, dilation)
    check_shape(g, (x.shape[0], size[1] * groups, *out), "grad_output")
    return conv2d_weight(_uncrop(g, uncropped, padding, output_padding), size, x, stride, 0, dilation,
                         groups).astype(dtype)


def _transpose1d_as_2d(stride, padding, output_padding, dilation):
    return (1, stride), (0, padding), (0, output_padding), (1, dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose1d: conv_transpose2d on unit-height views."""
    x, dtype = _as_float64(input, "input", 3)
    w, _ = _as_float64(weight, "weight", 3)
    s, p, op, d = _transpose1d_as_2d(stride, padding, output_padding, dilation)
    return conv_transpose2d(x[:, :, None], w[:, :, None], bias, s, p, op, groups, d)[:, :, 0].astype(dtype)


def conv_transpose1d_input(input_size, weight, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                           dilation=1):
    n, c, length = as_shape(input_size, "input_size", 3)
    w, dtype = _as_float64(weight, "weight", 3)
    g, _ = _as_float64(grad_output, "grad_output", 3)
    s, p, op, d = _transpose1d_as_2d(stride, padding, output_padding, dilation)
    return conv_transpose2d_input((n, c, 1, length), w[:, :, None], g[:, :, None], s, p, op, groups,
                                  d)[:, :, 0].astype(dtype)


def conv_transpose1d_weight(input, weight_size, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                            dilation=1):
    x, dtype = _as_float64(input, "input", 3)
    c, o, k = as_shape(weight_size, "weight_size", 3)
    g, _ = _as_float64(grad_output, "grad_output", 3)
    s, p, op, d = _transpose1d_as_2d(stride, padding, output_padding, dilation)
    return conv_transpose2d_weight(x[:, :, None], (c, o, 1, k), g[:, :, None], s, p, op, groups,
                                   d)[:, :, 0].astype(dtype)


unfold = im2col
fold = col2im


def unfold_backward(grad_output, input_size, kernel_size, dilation=1, padding=0, stride=1):
    """Gradient of unfold w.r.t. its input (N, C, H, W) = input_size: fold of grad_output."""
    return col2im(grad_output, as_shape(input_size, "input_size", 4)[2:], kernel_size, dilation, padding, stride)


def fold_backward(grad_output, kernel_size, dilation=1, padding=0, stride=1):
    """Gradient of fold w.r.t. its input: unfold of grad_output."""
    return im2col(grad_output, kernel_size, dilation, padding, stride)


# ----------------------------------------------------------------------------------------------
# 1-D, adaptive and inverse pooling (pyconv.pool_variants, pyconv.adaptive)

__all__ += ["adaptive_avg_pool1d", "adaptive_avg_pool1d_backward", "adaptive_avg_pool2d",
            "adaptive_avg_pool2d_backward", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
            "avg_pool1d_backward", "max_pool1d", "max_pool1d_backward", "max_unpool1d", "max_unpool1d_backward",
            "max_unpool2d", "max_unpool2d_backward"]


def _window_1d(kernel_size, stride, padding, dilation=1):
    return (1, kernel_size), None if stride is None else (1, stride), (0, padding), (1, dilation)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """max_pool2d of (N, C, L) on a unit-height view; indices are positions in L."""
    x, dtype = _as_float64(input, "input", 3)
    result = max_pool2d(x[:, :, None], *_window_1d(kernel_size, stride, padding, dilation), ceil_mode, return_indices)
    if return_indices:
        return result[0][:, :, 0].astype(dtype), result[1][:, :, 0]
    return result[:, :, 0].astype(dtype)


def max_pool1d_backward(grad_output, indices, input_size):
    g, dtype = _as_float64(grad_output, "grad_output", 3)
    n, c, length = as_shape(input_size, "input_size", 3)
    return max_pool2d_backward(g[:, :, None], np.asarray(indices)[:, :, None], (n, c, 1, length))[:, :, 0].astype(dtype)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    x, dtype = _as_float64(input, "input", 3)
    y = avg_pool2d(x[:, :, None], *_window_1d(kernel_size, stride, padding)[:3], ceil_mode, count_include_pad)
    return y[:, :, 0].astype(dtype)


def avg_pool1d_backward(grad_output, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True):
    g, dtype = _as_float64(grad_output, "grad_output", 3)
    n, c, length = as_shape(input_size, "input_size", 3)
    gx = avg_pool2d_backward(g[:, :, None], (n, c, 1, length), *_window_1d(kernel_size, stride, padding)[:3],
                             ceil_mode, count_include_pad)
    return gx[:, :, 0].astype(dtype)


def _adaptive_windows(size, out):
    """[(start, end)] of the adaptive windows: [floor(i * size / out), ceil((i + 1) * size / out))."""
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


def _adaptive_size(output_size, spatial):
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * len(spatial)
    return tuple(s if o is None else as_int(o, "output_size", minimum=1) for o, s in zip(sizes, spatial))


def adaptive_avg_pool2d(input, output_size):
    """Mean over each adaptive window (see _adaptive_windows); output_size an int or a pair (None
    keeps that axis). -> (N, C, oh, ow)."""
    x, dtype = _as_float64(input, "input", 4)
    oh, ow = _adaptive_size(output_size, x.shape[2:])
    y = np.empty(x.shape[:2] + (oh, ow))
    for i, (r0, r1) in enumerate(_adaptive_windows(x.shape[2], oh)):
        for j, (c0, c1) in enumerate(_adaptive_windows(x.shape[3], ow)):
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y.astype(dtype)


def adaptive_avg_pool2d_backward(grad_output, input_size):
    """Each grad_output entry spread evenly over its window (overlapping windows accumulate)."""
    g, dtype = _as_float64(grad_output, "grad_output", 4)
    n, c, h, w = as_shape(input_size, "input_size", 4)
    grad = np.zeros((n, c, h, w))
    for i, (r0, r1) in enumerate(_adaptive_windows(h, g.shape[2])):
        for j, (c0, c1) in enumerate(_adaptive_windows(w, g.shape[3])):
            grad[:, :, r0:r1, c0:c1] += g[:, :, i, j, None, None] / ((r1 - r0) * (c1 - c0))
    return grad.astype(dtype)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over each adaptive window, with max_pool2d's rules (the first NaN, else the first
    maximum in row-major window order); indices flat h * W + w in each plane."""
    x, dtype = _as_float64(input, "input", 4)
    n, c, h, w = x.shape
    oh, ow = _adaptive_size(output_size, (h, w))
    y = np.empty((n, c, oh, ow))
    indices = np.empty((n, c, oh, ow), dtype=np.int64)
    plane = np.arange(h * w).reshape(h, w)
    for i, (r0, r1) in enumerate(_adaptive_windows(h, oh)):
        for j, (c0, c1) in enumerate(_adaptive_windows(w, ow)):
            values = x[:, :, r0:r1, c0:c1].reshape(n, c, (r1 - r0) * (c1 - c0))
            is_nan = np.isnan(values)
            first = np.where(is_nan.any(axis=-1), is_nan.argmax(axis=-1), values.argmax(axis=-1))
            y[:, :, i, j] = np.take_along_axis(values, first[..., None], axis=-1)[..., 0]
            indices[:, :, i, j] = plane[r0:r1, c0:c1].reshape(-1)[first]
    return (y.astype(dtype), indices) if return_indices else y.astype(dtype)


def adaptive_avg_pool1d(input, output_size):
    x, dtype = _as_float64(input, "input", 3)
    return adaptive_avg_pool2d(x[:, :, None], (1, output_size))[:, :, 0].astype(dtype)


def adaptive_avg_pool1d_backward(grad_output, input_size):
    g, dtype = _as_float64(grad_output, "grad_output", 3)
    n, c, length = as_shape(input_size, "input_size", 3)
    return adaptive_avg_pool2d_backward(g[:, :, None], (n, c, 1, length))[:, :, 0].astype(dtype)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    x, dtype = _as_float64(input, "input", 3)
    y, indices = adaptive_max_pool2d(x[:, :, None], (1, output_size), True)
    return (y[:, :, 0].astype(dtype), indices[:, :, 0]) if return_indices else y[:, :, 0].astype(dtype)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Zeros of (N, C, H_out, W_out), H_out = (H - 1) * stride - 2 * padding + kernel_size unless
    output_size (the last two entries) says otherwise, with input[n, c, i, j] written at flat
    position indices[n, c, i, j] of its plane (later entries win a repeated position)."""
    x, dtype = _as_float64(input, "input", 4)
    idx = np.asarray(indices)
    check_shape(idx, x.shape, "indices")
    kernel = as_pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None else as_pair(stride, "stride", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    if output_size is None:
        size = tuple((s - 1) * st - 2 * p + k for s, st, p, k in zip(x.shape[2:], stride, padding, kernel))
    else:
        size = tuple(output_size)[-2:]
    n, c, h, w = x.shape
    y = np.zeros((n, c, size[0] * size[1]))
    for a in range(n):
        for b in range(c):
            for i in range(h):
                for j in range(w):
                    position = int(idx[a, b, i, j])
                    if not 0 <= position < size[0] * size[1]:
                        raise ValueError(f"indices: expected values in [0, {size[0] * size[1]}), got {position}")
                    y[a, b, position] = x[a, b, i, j]
    return y.reshape(n, c, *size).astype(dtype)


def max_unpool2d_backward(grad_output, indices):
    """grad_output read at each index (PyTorch's gradient of max_unpool2d)."""
    g, dtype = _as_float64(grad_output, "grad_output", 4)
    idx = np.asarray(indices)
    n, c = g.shape[:2]
    planes = g.reshape(n, c, -1)
    grad = np.empty(idx.shape)
    for index in np.ndindex(*idx.shape):
        grad[index] = planes[index[0], index[1], idx[index]]
    return grad.astype(dtype)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    x, dtype = _as_float64(input, "input", 3)
    size = None if output_size is None else (1, tuple(np.atleast_1d(output_size))[-1])
    y = max_unpool2d(x[:, :, None], np.asarray(indices)[:, :, None], *_window_1d(kernel_size, stride, padding)[:3],
                     size)
    return y[:, :, 0].astype(dtype)


def max_unpool1d_backward(grad_output, indices):
    g, dtype = _as_float64(grad_output, "grad_output", 3)
    return max_unpool2d_backward(g[:, :, None], np.asarray(indices)[:, :, None])[:, :, 0].astype(dtype)
