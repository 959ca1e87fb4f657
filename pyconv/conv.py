"""2-D convolution: forward, gradients w.r.t. input / weight / bias, im2col and col2im.

Names and argument order follow torch.nn.functional.conv2d, torch.nn.grad.conv2d_input /
conv2d_weight, and torch.nn.functional.unfold / fold. Arrays are NCHW; weights are
(C_out, C_in / groups, kh, kw). The result has the float dtype of the op's first array argument
(input; weight for conv2d_input), as in pyconv.reference; the other arrays are cast to it.

Each op normalizes its arguments here, builds a named geometry (pyconv._geometry.ConvGeometry)
that the kernels' own check validates, and asks the kernels' one selection function
(pyconv_conv_plan_make, kernels/conv/select.c) what runs: `plan()` below is the public way to
ask it. algorithm="auto" picks "direct" for grouped convolutions with tiny groups (depthwise)
and for forward passes with at most 2 filters per group, "winograd" where it was measured
faster, "im2col" (the implicit GEMM) otherwise; see docs/architecture.md.

algorithm="winograd" (conv2d, conv2d_input, conv2d_weight) runs Winograd F(4x4, 3x3)
(docs/winograd.md): 3x3 kernels, stride 1, dilation 1, at least WINOGRAD_MIN_CHANNELS input and
output channels per group, any padding; a ValueError names the condition a shape misses."""
from typing import NamedTuple

import numpy as np

from pyconv import _conv
from pyconv._args import (
    MAX_ELEMENTS, Remembered, aligned_empty, as_float_array, as_int, as_pair, as_shape, cache_key,
    check_no_overlap, check_shape, check_size, conv_padding, output_array, output_size)
from pyconv._geometry import ConvGeometry, check_int64
from pyconv._threads import effective_n_threads

ALGORITHMS = tuple(_conv.ALGORITHMS)
ACTIVATIONS = tuple(a for a in _conv.ACTIVATIONS if a is not None)
OPS = tuple(_conv.OPS)
# the kernels' PYCONV_WINOGRAD_MIN_CHANNELS (kernels/conv/select.c), for the message below
WINOGRAD_MIN_CHANNELS = 8


class Plan(NamedTuple):
    """What one convolution call runs: the algorithm ("direct", "im2col" or "winograd"), the method (how:
    "implicit-gemm", "direct-transposed", "gemm-col2im", ...), the workspace it takes from the
    per-thread arenas in bytes (all threads together), the thread count and the geometry."""
    op: str
    algorithm: str
    method: str
    workspace_bytes: int
    n_threads: int
    geometry: ConvGeometry


def _check_algorithm(algorithm):
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm: expected one of {ALGORITHMS}, got {algorithm!r}")
    return algorithm


def _check_winograd(op, geo):
    """ValueError naming the condition geo misses when op cannot run by Winograd (the kernels'
    plan only says that it cannot)."""
    if (geo.kh, geo.kw) != (3, 3):
        problem = f"the kernel must be 3x3, got {geo.kh}x{geo.kw}"
    elif (geo.stride_h, geo.stride_w) != (1, 1):
        problem = f"stride must be 1, got {(geo.stride_h, geo.stride_w)}"
    elif (geo.dil_h, geo.dil_w) != (1, 1):
        problem = f"dilation must be 1, got {(geo.dil_h, geo.dil_w)}"
    elif min(geo.c_in, geo.c_out) // geo.groups < WINOGRAD_MIN_CHANNELS:
        problem = (f"needs at least {WINOGRAD_MIN_CHANNELS} input and output channels per group, "
                   f"got {geo.c_in // geo.groups} and {geo.c_out // geo.groups}")
    else:
        return
    raise ValueError(f"algorithm='winograd': {problem}")


def _plan(op, geo, algorithm, dtype, n_threads):
    """The kernels' plan of one op; MemoryError when its workspace could not be allocated."""
    if _check_algorithm(algorithm) == "winograd":
        _check_winograd(op, geo)
    chosen, method, workspace = _conv.plan(op, geo, algorithm, np.dtype(dtype).itemsize, n_threads)
    if workspace > MAX_ELEMENTS:
        raise MemoryError(f"{op}: the {chosen} workspace would take {workspace:.3g} bytes")
    return Plan(op, chosen, method, int(workspace), n_threads, geo)


def _geometry(input_shape, c_out, kernel_size, stride, padding, dilation, groups,
              *, input_name="input"):
    """The ConvGeometry of an op on an (N, C_in, H, W) input, validated: argument forms here,
    the rest by the kernels' check (groups dividing the channels, sizes within int64 indexing);
    the kernel must fit the padded input."""
    n, c_in, h_in, w_in = input_shape
    kh, kw = kernel_size
    stride = as_pair(stride, "stride", minimum=1)
    dilation = as_pair(dilation, "dilation", minimum=1)
    groups = as_int(groups, "groups", minimum=1)
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel_size: expected positive sizes, got {(kh, kw)}")
    if c_in % groups:
        raise ValueError(f"groups: must divide the {c_in} input channels of {input_name}, got {groups}")
    top, bottom, left, right = conv_padding(padding, (kh, kw), dilation, stride)
    h_out = output_size(h_in, kh, stride[0], dilation[0], top, bottom)
    w_out = output_size(w_in, kw, stride[1], dilation[1], left, right)
    geo = ConvGeometry(n, c_in, h_in, w_in, c_out, kh, kw, max(h_out, 0), max(w_out, 0),
                       stride[0], stride[1], top, left, dilation[0], dilation[1], groups)
    check_int64(geo, MAX_ELEMENTS)  # the kernels' headroom for products
    check_size(geo.input_shape, input_name)
    check_size(geo.output_shape, "output")
    _conv.check(geo)
    if h_out <= 0 or w_out <= 0:
        raise ValueError(
            f"kernel_size: the dilated kernel ({dilation[0] * (kh - 1) + 1}, {dilation[1] * (kw - 1) + 1}) "
            f"is larger than the padded input ({h_in + top + bottom}, {w_in + left + right}); "
            f"expected an output size >= 1, got ({h_out}, {w_out})")
    return geo


def _weight_geometry(input_shape, weight_shape, stride, padding, dilation, groups,
                     *, input_name="input", weight_name="weight"):
    """_geometry for a convolution with a (C_out, C_in / groups, kh, kw) weight."""
    c_out, c_in_g, kh, kw = weight_shape
    geo = _geometry(input_shape, c_out, (kh, kw), stride, padding, dilation, groups,
                    input_name=input_name)
    if c_in_g * geo.groups != geo.c_in:
        raise ValueError(
            f"{weight_name}: expected {geo.c_in // geo.groups} input channels per group "
            f"({input_name} has {geo.c_in} channels, groups={geo.groups}), got {c_in_g} "
            f"(shape {tuple(weight_shape)})")
    return geo


_PLANS = Remembered()


def _validated_plan(op, input_shape, weight_shape, stride, padding, dilation, groups, algorithm, dtype,
                    n_threads, input_name, weight_name):
    geo = _weight_geometry(input_shape, weight_shape, stride, padding, dilation, groups,
                           input_name=input_name, weight_name=weight_name)
    return _plan(op, geo, algorithm, dtype, n_threads)


def _planned(op, input_shape, weight_shape, stride, padding, dilation, groups, algorithm, dtype,
             n_threads, *, input_name="input", weight_name="weight"):
    """The validated Plan of an op, its geometry included, remembered per argument set."""
    # the shapes are ints already (an array's, or as_shape's), n_threads too (effective_n_threads)
    key = cache_key(stride, padding, dilation, groups, algorithm)
    return _PLANS.get(key and (key, op, input_shape, weight_shape, dtype.itemsize, n_threads, input_name,
                               weight_name),
                      _validated_plan, op, input_shape, weight_shape, stride, padding, dilation, groups,
                      algorithm, dtype, n_threads, input_name, weight_name)


def plan(op, input_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1, *,
         algorithm="auto", dtype=np.float32, n_threads=None):
    """What `op` ("conv2d", "conv2d_input" or "conv2d_weight") would run for an input of
    input_shape (N, C_in, H, W) and a weight of weight_shape, with the same arguments as the
    op: a Plan with the algorithm, the method, the workspace in bytes and the geometry.

    >>> pyconv.plan("conv2d", (32, 64, 56, 56), (64, 64, 3, 3), padding=1).method
    'winograd'
    """
    if op not in OPS:
        raise ValueError(f"op: expected one of {OPS}, got {op!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype: expected float32 or float64, got {dtype}")
    return _planned(op, as_shape(input_shape, "input_shape", 4), as_shape(weight_shape, "weight_shape", 4),
                    stride, padding, dilation, groups, algorithm, dtype, effective_n_threads(n_threads),
                    input_name="input_shape", weight_name="weight_shape")


class PackedWeight:
    """A conv2d weight packed once for many forward passes (inference), as ONNX Runtime packs a
    model's constant weights when it loads it: conv2d(input, packed, ...) then does not pack the
    weight again on every call. The implicit-GEMM forward pass reads the packed form (it runs
    most layers with few pixels per call, e.g. batch 1); the other algorithms, and the other ops
    given a PackedWeight, read `weight`: a read-only copy taken when packing, so later changes
    to the caller's array do not reach it (pack again after changing the weights).

    >>> packed = pyconv.PackedWeight(weight)            # (C_out, C_in / groups, kh, kw)
    >>> y = pyconv.conv2d(x, packed, bias, padding=1)   # as pyconv.conv2d(x, weight, ...)
    """
    __slots__ = ("weight", "groups", "_packed")

    def __init__(self, weight, groups=1):
        w = np.array(as_float_array(weight, "weight", ndim=4), copy=True)
        w.flags.writeable = False
        self.groups = as_int(groups, "groups", minimum=1)
        c_out, c_in_g, kh, kw = w.shape
        # any geometry of this weight packs it the same: the smallest one it fits
        geo = _weight_geometry((1, c_in_g * self.groups, kh, kw), w.shape, 1, 0, 1, self.groups)
        self._packed = aligned_empty(_conv.packed_size(geo, w.itemsize), w.dtype)
        _conv.pack_weight(geo, w.reshape(-1), self._packed, effective_n_threads(None))
        self.weight = w

    shape = property(lambda self: self.weight.shape)
    dtype = property(lambda self: self.weight.dtype)
    ndim = property(lambda self: self.weight.ndim)

    def __array__(self, dtype=None, copy=None):
        return np.array(self.weight, dtype=dtype, copy=True) if copy else np.asarray(self.weight, dtype)

    def __reduce__(self):
        return PackedWeight, (self.weight, self.groups)

    def __repr__(self):
        return f"PackedWeight(shape={self.shape}, dtype={self.dtype}, groups={self.groups})"


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm="auto", out=None, n_threads=None, activation=None, residual=None):
    """2-D convolution (cross-correlation) of input (N, C_in, H, W) with weight
    (C_out, C_in / groups, kh, kw), plus bias (C_out,) when given -> (N, C_out, H_out, W_out).

    stride, dilation: int or pair. padding: int, pair, ((top, bottom), (left, right)),
    "valid", "same" (stride 1) or "full". out= receives the result.

    Fused output stage, for inference: y = activation(conv + bias + residual), applied where
    the kernel stores y (one pass over the output). activation: None, "relu", "relu6", "silu",
    "sigmoid" or "tanh"; residual: an array of the output's shape (a ResNet block's shortcut),
    which out= must not overlap. weight may be a PackedWeight (packed for the same groups)."""
    x = as_float_array(input, "input", ndim=4)
    packed = None
    if isinstance(weight, PackedWeight):
        if as_int(groups, "groups", minimum=1) != weight.groups:
            raise ValueError(f"groups: the weight was packed for groups={weight.groups}, got {groups!r}")
        # another dtype's packed form does not serve: the weight is cast, as any weight is
        packed = weight._packed if weight.dtype == x.dtype else None
        weight = weight.weight
    # a PackedWeight's own copy is already what as_float_array returns when the dtypes match
    w = weight if packed is not None else as_float_array(weight, "weight", x.dtype, ndim=4)
    p = _planned("conv2d", x.shape, w.shape, stride, padding, dilation, groups, algorithm, x.dtype,
                 effective_n_threads(n_threads))
    geo = p.geometry
    if bias is not None:
        bias = as_float_array(bias, "bias", x.dtype, ndim=1)
        check_shape(bias, (geo.c_out,), "bias")
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected None or one of {ACTIVATIONS}, got {activation!r}")
    if residual is not None:
        residual = as_float_array(residual, "residual", x.dtype, ndim=4)
        check_shape(residual, geo.output_shape, "residual")
    y = output_array(out, geo.output_shape, x.dtype)
    if out is not None:
        check_no_overlap(y, [(x, "input"), (w, "weight"), (bias, "bias"), (residual, "residual")])
    _conv.conv2d(p.algorithm, geo, x.reshape(-1), w.reshape(-1), packed, bias,
                 None if residual is None else residual.reshape(-1), activation, y.reshape(-1),
                 p.n_threads)
    return y


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 algorithm="auto", n_threads=None):
    """Gradient of conv2d w.r.t. its input: a new (N, C_in, H, W) = input_size array."""
    input_size = as_shape(input_size, "input_size", 4)
    w = as_float_array(weight, "weight", ndim=4)
    gy = as_float_array(grad_output, "grad_output", w.dtype, ndim=4)
    p = _planned("conv2d_input", input_size, w.shape, stride, padding, dilation, groups, algorithm,
                 w.dtype, effective_n_threads(n_threads), input_name="input_size")
    geo = p.geometry
    check_shape(gy, geo.output_shape, "grad_output")
    gx = np.empty(input_size, dtype=w.dtype)
    _conv.conv2d_input(p.algorithm, geo, w.reshape(-1), gy.reshape(-1), gx.reshape(-1), p.n_threads)
    return gx


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  algorithm="auto", n_threads=None):
    """Gradient of conv2d w.r.t. its weight: a new (C_out, C_in / groups, kh, kw) = weight_size
    array, summed over the batch in a fixed order (the same at any thread count)."""
    x = as_float_array(input, "input", ndim=4)
    weight_size = as_shape(weight_size, "weight_size", 4)
    gy = as_float_array(grad_output, "grad_output", x.dtype, ndim=4)
    p = _planned("conv2d_weight", x.shape, weight_size, stride, padding, dilation, groups, algorithm,
                 x.dtype, effective_n_threads(n_threads), weight_name="weight_size")
    geo = p.geometry
    check_shape(gy, geo.output_shape, "grad_output")
    gw = np.empty(weight_size, dtype=x.dtype)
    _conv.conv2d_weight(p.algorithm, geo, x.reshape(-1), gy.reshape(-1), gw.reshape(-1), p.n_threads)
    return gw


def conv2d_bias(grad_output, *, n_threads=None):
    """Gradient of conv2d w.r.t. its bias: grad_output (N, C_out, H, W) summed over N, H, W."""
    gy = as_float_array(grad_output, "grad_output", ndim=4)
    n, c, h, w = gy.shape
    n_threads = effective_n_threads(n_threads)
    gb = np.zeros(c, dtype=gy.dtype)
    if gy.size:
        # the bias gradient only needs grad_output's sizes: a 1x1 convolution stands for any
        _conv.conv2d_bias(ConvGeometry(n, c, h, w, c, 1, 1, h, w, 1, 1, 0, 0, 1, 1, 1),
                          gy.reshape(-1), gb, n_threads)
    return gb


def im2col(input, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    """Sliding patches of input (N, C, H, W) -> (N, C*kh*kw, L), L = H_out*W_out, rows ordered
    (channel, kernel row, kernel column), as torch.nn.functional.unfold."""
    x = as_float_array(input, "input", ndim=4)
    kernel_size = as_pair(kernel_size, "kernel_size", minimum=1)
    geo = _geometry(x.shape, x.shape[1], kernel_size, stride, padding, dilation, 1)
    shape = (geo.n, geo.c_in * geo.kh * geo.kw, geo.h_out * geo.w_out)
    check_size(shape, "output")
    col = np.empty(shape, dtype=x.dtype)
    _conv.im2col(geo, x.reshape(-1), col.reshape(-1), effective_n_threads(n_threads))
    return col


def col2im(input, output_size, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    """Sum sliding patches (N, C*kh*kw, L) back into an (N, C, *output_size) array (overlaps
    add up), as torch.nn.functional.fold: the adjoint of im2col."""
    col = as_float_array(input, "input", ndim=3)
    h, w = as_pair(output_size, "output_size", minimum=1)
    kh, kw = as_pair(kernel_size, "kernel_size", minimum=1)
    n, rows, length = col.shape
    if rows % (kh * kw):
        raise ValueError(f"input: expected dimension 1 to be a multiple of kh*kw = {kh * kw}, got {rows}")
    geo = _geometry((n, rows // (kh * kw), h, w), rows // (kh * kw), (kh, kw), stride, padding,
                    dilation, 1, input_name="output_size")
    if length != geo.h_out * geo.w_out:
        raise ValueError(
            f"input: expected {geo.h_out * geo.w_out} = {geo.h_out}*{geo.w_out} patches (dimension 2) "
            f"for output_size {(h, w)}, got {length}")
    x = np.zeros(geo.input_shape, dtype=col.dtype)
    if col.size:
        _conv.col2im(geo, col.reshape(-1), x.reshape(-1), effective_n_threads(n_threads))
    return x
