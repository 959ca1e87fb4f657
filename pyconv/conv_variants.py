"""torch.nn.functional's convolutions at the public boundary: conv1d / conv2d (unbatched inputs,
padding_mode), conv_transpose1d / conv_transpose2d, unfold / fold, and the gradient functions of
each, all built on the batched 2-D ops of pyconv.conv.

Unbatched inputs ((C, H, W) for 2-D, (C, L) for 1-D) run as a batch of one; 1-D ops run on a
unit-height view (N, C, 1, L), so they share every 2-D algorithm and the zero-copy path.
padding_mode other than "zeros" pads the input explicitly (np.pad) and convolves it unpadded, as
torch.nn.Conv2d does; the input gradient then folds the padded border back (the pad's adjoint).
A transposed convolution is conv2d's input gradient (PyTorch's semantics) plus a bias, so its own
input gradient is a conv2d and its weight gradient a conv2d_weight with the roles swapped."""
import numpy as np

from pyconv import conv as _conv
from pyconv._args import (as_float_array, as_int, as_pair, as_shape, check_no_overlap, check_shape,
                          check_size, conv_padding, output_array)
from pyconv._threads import effective_n_threads

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


# ----------------------------------------------------------------------------------------------
# The public boundary: argument forms, unbatched inputs, out= views

def as_single(value, name, *, minimum):
    """An int or a 1-tuple (PyTorch's 1-d ops accept both) -> int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name}: expected an int or a 1-tuple, got {len(value)} values {tuple(value)!r}")
        return as_int(value[0], f"{name}[0]", minimum=minimum)
    return as_int(value, name, minimum=minimum)


def batched_input(value, name, ndim, layout):
    """(array with a batch axis, whether one was added): value has ndim dims, or ndim - 1 when
    unbatched (a batch of one, as in PyTorch). layout names the batched axes, e.g. "N, C, H, W"."""
    arr = as_float_array(value, name)
    if arr.ndim not in (ndim - 1, ndim):
        unbatched = layout.split(", ", 1)[1]
        raise ValueError(f"{name}: expected a {ndim - 1}-d ({unbatched}) or {ndim}-d ({layout}) array, "
                         f"got {arr.ndim}-d with shape {arr.shape}")
    return (arr[np.newaxis], True) if arr.ndim == ndim - 1 else (arr, False)


def batched_size(value, name, ndim):
    """(size with a batch entry, whether one was added) for an input_size of ndim or ndim - 1 sizes."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name}: expected a tuple of {ndim - 1} or {ndim} ints, got {type(value).__name__} {value!r}")
    if len(value) == ndim - 1:
        return (1,) + as_shape(value, name, ndim - 1), True
    if len(value) != ndim:
        raise ValueError(f"{name}: expected {ndim - 1} (unbatched) or {ndim} sizes, got {len(value)}: {tuple(value)!r}")
    return as_shape(value, name, ndim), False


def out_view(out, ndim, index):
    """The caller's out= (ndim dims) seen through index (which adds the axes the batched 2-D op
    has), after the checks a view would hide; None stays None."""
    if out is None:
        return None
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy.ndarray, got {type(out).__name__}")
    if out.ndim != ndim:
        raise ValueError(f"out: expected a {ndim}-d array, got {out.ndim}-d with shape {out.shape}")
    return out[index]


def with_batch(arr, ndim, name, unbatched):
    """A float array of the op's batched ndim: unbatched callers pass one dim fewer."""
    arr = as_float_array(arr, name)
    want = ndim - 1 if unbatched else ndim
    if arr.ndim != want:
        kind = "unbatched" if unbatched else "batched"
        raise ValueError(f"{name}: expected a {want}-d array ({kind}, as the other arguments), "
                         f"got {arr.ndim}-d with shape {arr.shape}")
    return arr[np.newaxis] if unbatched else arr


def strip_batch(arr, unbatched):
    """arr without the batch axis batched_input / batched_size added."""
    return arr[0] if unbatched else arr


# ----------------------------------------------------------------------------------------------
# padding_mode: explicit padding and its adjoint

def _padding_mode(padding_mode):
    if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode: expected one of {PADDING_MODES}, got {padding_mode!r}")
    return padding_mode


def _explicit_pads(padding, kernel, stride, dilation, size, padding_mode):
    """(top, bottom, left, right) for a non-zeros padding_mode, checked as PyTorch does:
    reflect needs each pad smaller than the input, circular at most the input."""
    pads = conv_padding(padding, kernel, as_pair(dilation, "dilation", minimum=1),
                        as_pair(stride, "stride", minimum=1))
    for pad, extent in zip(pads, (size[0], size[0], size[1], size[1])):
        if (padding_mode == "reflect" and pad >= extent) or (padding_mode == "circular" and pad > extent) or (
                padding_mode == "replicate" and pad > 0 and extent == 0):
            rule = {"reflect": "smaller than", "circular": "at most", "replicate": "a non-empty"}[padding_mode]
            raise ValueError(f"padding: padding_mode={padding_mode!r} needs each padding {rule} the input "
                             f"size {tuple(size)}, got {pads}")
    return pads


def _pad(x, pads, padding_mode):
    top, bottom, left, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=_NUMPY_PAD_MODES[padding_mode])


def _unpad(grad_padded, size, pads, padding_mode):
    """The adjoint of _pad: each padded position's gradient added to the input pixel it copies."""
    n, c = grad_padded.shape[:2]
    h, w = size
    source = _pad(np.arange(h * w).reshape(1, 1, h, w), pads, padding_mode).reshape(-1)
    planes = grad_padded.reshape(n * c, -1)
    offsets = (np.arange(n * c) * (h * w))[:, np.newaxis]
    grad = np.bincount((offsets + source).reshape(-1), weights=planes.reshape(-1), minlength=n * c * h * w)
    return grad.reshape(n, c, h, w).astype(grad_padded.dtype)


# ----------------------------------------------------------------------------------------------
# conv2d

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros",
           algorithm="auto", out=None, n_threads=None, activation=None, residual=None):
    """2-D convolution (cross-correlation) of input (N, C_in, H, W) or unbatched (C_in, H, W) with
    weight (C_out, C_in / groups, kh, kw), plus bias (C_out,) -> (N, C_out, H_out, W_out).

    As torch.nn.functional.conv2d. stride, dilation: int or pair. padding: int, pair,
    ((top, bottom), (left, right)), "valid", "same" (stride 1) or "full". padding_mode: "zeros",
    "reflect", "replicate" or "circular" (torch.nn.Conv2d's). out= receives the result.
    activation / residual: the fused output stage of pyconv.conv.conv2d (inference),
    y = activation(conv + bias + residual); residual is batched or not as input is."""
    x, unbatched = batched_input(input, "input", 4, "N, C, H, W")
    out_4d = out_view(out, 3 if unbatched else 4, np.newaxis if unbatched else ...)
    if residual is not None:
        residual = with_batch(residual, 4, "residual", unbatched)
    if _padding_mode(padding_mode) != "zeros":
        w = as_float_array(weight, "weight", x.dtype, ndim=4)
        x = _pad(x, _explicit_pads(padding, w.shape[2:], stride, dilation, x.shape[2:], padding_mode), padding_mode)
        padding = 0
    y = _conv.conv2d(x, weight, bias, stride, padding, dilation, groups, algorithm=algorithm, out=out_4d,
                     n_threads=n_threads, activation=activation, residual=residual)
    return out if out is not None else strip_batch(y, unbatched)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 padding_mode="zeros", algorithm="auto", n_threads=None):
    """Gradient of conv2d w.r.t. its input: a new array of input_size, (N, C_in, H, W) or
    unbatched (C_in, H, W) (then grad_output is unbatched too)."""
    size, unbatched = batched_size(input_size, "input_size", 4)
    gy = with_batch(grad_output, 4, "grad_output", unbatched)
    if _padding_mode(padding_mode) == "zeros":
        gx = _conv.conv2d_input(size, weight, gy, stride, padding, dilation, groups, algorithm=algorithm,
                                n_threads=n_threads)
    else:
        w = as_float_array(weight, "weight", ndim=4)
        pads = _explicit_pads(padding, w.shape[2:], stride, dilation, size[2:], padding_mode)
        padded = size[:2] + (size[2] + pads[0] + pads[1], size[3] + pads[2] + pads[3])
        gx = _unpad(_conv.conv2d_input(padded, w, gy, stride, 0, dilation, groups, algorithm=algorithm,
                                       n_threads=n_threads), size[2:], pads, padding_mode)
    return strip_batch(gx, unbatched)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  padding_mode="zeros", algorithm="auto", n_threads=None):
    """Gradient of conv2d w.r.t. its weight: a new weight_size (C_out, C_in / groups, kh, kw)
    array; input and grad_output both batched or both unbatched."""
    x, unbatched = batched_input(input, "input", 4, "N, C, H, W")
    gy = with_batch(grad_output, 4, "grad_output", unbatched)
    if _padding_mode(padding_mode) != "zeros":
        kernel = as_shape(weight_size, "weight_size", 4)[2:]
        x = _pad(x, _explicit_pads(padding, kernel, stride, dilation, x.shape[2:], padding_mode), padding_mode)
        padding = 0
    return _conv.conv2d_weight(x, weight_size, gy, stride, padding, dilation, groups, algorithm=algorithm,
                               n_threads=n_threads)


def conv2d_bias(grad_output, *, n_threads=None):
    """Gradient of conv2d w.r.t. its bias: grad_output (N, C_out, H, W) or (C_out, H, W) summed
    over all but the channel axis."""
    gy, _ = batched_input(grad_output, "grad_output", 4, "N, C, H, W")
    return _conv.conv2d_bias(gy, n_threads=n_threads)


# ----------------------------------------------------------------------------------------------
# conv1d: the 2-D ops on a unit-height view

def _conv1d_geometry(stride, padding, dilation, kernel_length, causal):
    """(stride, padding, dilation) of the unit-height 2-D convolution computing a 1-D one."""
    stride = as_single(stride, "stride", minimum=1)
    dilation = as_single(dilation, "dilation", minimum=1)
    if causal:
        if isinstance(padding, str) or as_single(padding, "padding", minimum=0) != 0:
            raise ValueError(f"padding: causal=True pads (kernel_size - 1) * dilation on the left itself; "
                             f"expected padding 0, got {padding!r}")
        # max(): a zero-length kernel is reported by conv2d, not as a negative padding
        pad_2d = ((0, 0), (dilation * max(kernel_length - 1, 0), 0))
    elif isinstance(padding, str):
        pad_2d = padding
    else:
        pad_2d = (0, as_single(padding, "padding", minimum=0))
    return (1, stride), pad_2d, (1, dilation)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, causal=False,
           padding_mode="zeros", algorithm="auto", out=None, n_threads=None):
    """1-D convolution (cross-correlation) of input (N, C_in, L) or unbatched (C_in, L) with
    weight (C_out, C_in/groups, k) -> (N, C_out, L_out).

    As torch.nn.functional.conv1d; stride, padding, dilation are ints or 1-tuples; padding may
    also be "valid", "same" or "full"; padding_mode as in conv2d. causal=True pads (k-1)*dilation
    on the left only, so output[t] sees input[<= t*stride] and, for stride 1, the output is as
    long as the input; padding must then be 0. out= (N, C_out, L_out) receives the result."""
    x, unbatched = batched_input(input, "input", 3, "N, C, L")
    w = as_float_array(weight, "weight", x.dtype, ndim=3)
    geometry = _conv1d_geometry(stride, padding, dilation, w.shape[2], causal)
    out_4d = out_view(out, 2 if unbatched else 3, (np.newaxis, slice(None), np.newaxis) if unbatched
                      else (slice(None), slice(None), np.newaxis))
    y = conv2d(x[:, :, np.newaxis], w[:, :, np.newaxis], bias, *geometry, groups, padding_mode=padding_mode,
               algorithm=algorithm, out=out_4d, n_threads=n_threads)
    return out if out is not None else strip_batch(y[:, :, 0], unbatched)


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *, causal=False,
                 padding_mode="zeros", algorithm="auto", n_threads=None):
    """Gradient of conv1d w.r.t. its input (torch.nn.grad.conv1d_input): a new array of
    input_size, (N, C_in, L) or unbatched (C_in, L)."""
    size, unbatched = batched_size(input_size, "input_size", 3)
    w = as_float_array(weight, "weight", ndim=3)
    gy = with_batch(grad_output, 3, "grad_output", unbatched)
    geometry = _conv1d_geometry(stride, padding, dilation, w.shape[2], causal)
    gx = conv2d_input(size[:2] + (1, size[2]), w[:, :, np.newaxis], gy[:, :, np.newaxis], *geometry, groups,
                      padding_mode=padding_mode, algorithm=algorithm, n_threads=n_threads)
    return strip_batch(gx[:, :, 0], unbatched)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *, causal=False,
                  padding_mode="zeros", algorithm="auto", n_threads=None):
    """Gradient of conv1d w.r.t. its weight (torch.nn.grad.conv1d_weight): a new weight_size
    (C_out, C_in / groups, k) array."""
    x, unbatched = batched_input(input, "input", 3, "N, C, L")
    c_out, c_in_g, k = as_shape(weight_size, "weight_size", 3)
    gy = with_batch(grad_output, 3, "grad_output", unbatched)
    geometry = _conv1d_geometry(stride, padding, dilation, k, causal)
    gw = conv2d_weight(x[:, :, np.newaxis], (c_out, c_in_g, 1, k), gy[:, :, np.newaxis], *geometry, groups,
                       padding_mode=padding_mode, algorithm=algorithm, n_threads=n_threads)
    return gw[:, :, 0]


# ----------------------------------------------------------------------------------------------
# Transposed convolution

class _Transposed:
    """A validated transposed convolution of a batched input (N, C_in, H, W) with weight
    (C_in, C_out/groups, kh, kw). Per axis: `full`, the output size; `core`, the size the
    kernel computes; `conv_padding`, the (before, after) padding that makes the core's
    convolution output exactly the input size. output_padding beyond padding + stride - 1 only
    adds rows no input pixel reaches, which stay zero."""

    def __init__(self, input_shape, weight_shape, stride, padding, output_padding, groups, dilation,
                 algorithm, n_threads, *, weight_name="weight"):
        self.stride = as_pair(stride, "stride", minimum=1)
        padding = as_pair(padding, "padding", minimum=0)
        output_padding = as_pair(output_padding, "output_padding", minimum=0)
        self.dilation = as_pair(dilation, "dilation", minimum=1)
        self.groups = as_int(groups, "groups", minimum=1)
        # checked here too: an output no input pixel reaches needs no kernel call
        if not isinstance(algorithm, str) or algorithm not in _conv.ALGORITHMS:
            raise ValueError(f"algorithm: expected one of {_conv.ALGORITHMS}, got {algorithm!r}")
        self.options = {"algorithm": algorithm, "n_threads": effective_n_threads(n_threads)}
        n, c_in, h_in, w_in = input_shape
        if weight_shape[0] != c_in:
            raise ValueError(f"{weight_name}: expected {weight_name}.shape[0] == input channels {c_in} "
                             f"(weight is (C_in, C_out/groups, kh, kw)), got shape {tuple(weight_shape)}")
        if c_in % self.groups:
            raise ValueError(f"groups: expected a divisor of the input channels {c_in}, got {self.groups}")
        if weight_shape[2] < 1 or weight_shape[3] < 1:
            raise ValueError(f"{weight_name}: expected a kernel of at least 1x1, got shape {tuple(weight_shape)}")
        for op, s, d in zip(output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(f"output_padding: expected values smaller than stride {self.stride} or dilation "
                                 f"{self.dilation}, got {output_padding}")
        full, core, pads = [], [], []
        for size, k, s, p, op, d in zip((h_in, w_in), weight_shape[2:], self.stride, padding, output_padding,
                                        self.dilation):
            base = (size - 1) * s - 2 * p + d * (k - 1) + 1
            full.append(base + op)
            op_core = min(op, p + s - 1)
            core.append(max(base + op_core, 0))
            pads.append((p, max(p - op_core, 0)))
        if min(full) < 1 or min(h_in, w_in) < 1:
            raise ValueError(f"input: spatial size {(h_in, w_in)} gives an empty output {tuple(full)} for kernel "
                             f"{tuple(weight_shape[2:])}, stride {self.stride}, padding {padding}, "
                             f"dilation {self.dilation}")
        c_out = weight_shape[1] * self.groups
        self.output_shape = (n, c_out, full[0], full[1])
        self.core_shape = (n, c_out, core[0], core[1])
        self.conv_padding = tuple(pads)
        check_size(self.output_shape, "output")

    def conv_args(self):
        """The arguments of the 2-D convolution whose input gradient this transposed convolution is."""
        return self.stride, self.conv_padding, self.dilation, self.groups

    @property
    def computes(self):
        return min(self.core_shape[2:]) > 0


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     *, algorithm="auto", out=None, n_threads=None):
    """2-D transposed convolution of input (N, C_in, H, W) or unbatched (C_in, H, W) with weight
    (C_in, C_out/groups, kh, kw) -> (N, C_out, H_out, W_out).

    As torch.nn.functional.conv_transpose2d (note its argument order: groups before dilation).
    H_out = (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1; output_padding must
    be smaller than stride or dilation. It is conv2d's input gradient with input as the output
    gradient. out= receives the result."""
    x, unbatched = batched_input(input, "input", 4, "N, C, H, W")
    w = as_float_array(weight, "weight", x.dtype, ndim=4)
    geo = _Transposed(x.shape, w.shape, stride, padding, output_padding, groups, dilation, algorithm, n_threads)
    if bias is not None:
        bias = as_float_array(bias, "bias", x.dtype, ndim=1)
        check_shape(bias, (geo.output_shape[1],), "bias")
    out_4d = out_view(out, 3 if unbatched else 4, np.newaxis if unbatched else ...)
    if out_4d is not None:
        output_array(out_4d, geo.output_shape, x.dtype)
        check_no_overlap(out_4d, [(x, "input"), (w, "weight"), (bias, "bias")])
    core = _conv.conv2d_input(geo.core_shape, w, x, *geo.conv_args(), **geo.options) if geo.computes else None
    if out_4d is None and geo.core_shape == geo.output_shape:
        y = core
    else:
        y = output_array(out_4d, geo.output_shape, x.dtype)
        y.fill(0)
        if core is not None:
            y[:, :, :core.shape[2], :core.shape[3]] = core
    if bias is not None:
        y += bias[:, np.newaxis, np.newaxis]
    return out if out is not None else strip_batch(y, unbatched)


def conv_transpose2d_input(input_size, weight, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                           dilation=1, *, algorithm="auto", n_threads=None):
    """Gradient of conv_transpose2d w.r.t. its input: a new array of input_size, (N, C_in, H, W)
    or unbatched (C_in, H, W). It is conv2d of grad_output (the part the kernel computes)."""
    size, unbatched = batched_size(input_size, "input_size", 4)
    w = as_float_array(weight, "weight", ndim=4)
    gy = with_batch(grad_output, 4, "grad_output", unbatched)
    geo = _Transposed(size, w.shape, stride, padding, output_padding, groups, dilation, algorithm, n_threads)
    gy = as_float_array(gy, "grad_output", w.dtype)
    check_shape(gy, geo.output_shape, "grad_output")
    if geo.computes and min(size) > 0:
        core = np.ascontiguousarray(gy[:, :, :geo.core_shape[2], :geo.core_shape[3]])
        gx = _conv.conv2d(core, w, None, *geo.conv_args(), **geo.options)
    else:
        gx = np.zeros(size, dtype=w.dtype)
    return strip_batch(gx, unbatched)


def conv_transpose2d_weight(input, weight_size, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                            dilation=1, *, algorithm="auto", n_threads=None):
    """Gradient of conv_transpose2d w.r.t. its weight: a new weight_size (C_in, C_out/groups, kh,
    kw) array. It is conv2d_weight with grad_output as the input and input as the output gradient."""
    x, unbatched = batched_input(input, "input", 4, "N, C, H, W")
    weight_size = as_shape(weight_size, "weight_size", 4)
    gy = as_float_array(with_batch(grad_output, 4, "grad_output", unbatched), "grad_output", x.dtype)
    geo = _Transposed(x.shape, weight_size, stride, padding, output_padding, groups, dilation, algorithm,
                      n_threads, weight_name="weight_size")
    check_shape(gy, geo.output_shape, "grad_output")
    if not (geo.computes and x.shape[0] > 0):
        return np.zeros(weight_size, dtype=x.dtype)
    core = np.ascontiguousarray(gy[:, :, :geo.core_shape[2], :geo.core_shape[3]])
    return _conv.conv2d_weight(core, weight_size, x, *geo.conv_args(), **geo.options)


def _transpose1d_geometry(stride, padding, output_padding, dilation):
    return ((1, as_single(stride, "stride", minimum=1)), (0, as_single(padding, "padding", minimum=0)),
            (0, as_single(output_padding, "output_padding", minimum=0)), (1, as_single(dilation, "dilation",
                                                                                        minimum=1)))


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     *, algorithm="auto", out=None, n_threads=None):
    """1-D transposed convolution of input (N, C_in, L) or unbatched (C_in, L) with weight
    (C_in, C_out/groups, k), as torch.nn.functional.conv_transpose1d (ints or 1-tuples)."""
    x, unbatched = batched_input(input, "input", 3, "N, C, L")
    w = as_float_array(weight, "weight", x.dtype, ndim=3)
    stride, padding, output_padding, dilation = _transpose1d_geometry(stride, padding, output_padding, dilation)
    out_4d = out_view(out, 2 if unbatched else 3, (np.newaxis, slice(None), np.newaxis) if unbatched
                      else (slice(None), slice(None), np.newaxis))
    y = conv_transpose2d(x[:, :, np.newaxis], w[:, :, np.newaxis], bias, stride, padding, output_padding, groups,
                         dilation, algorithm=algorithm, out=out_4d, n_threads=n_threads)
    return out if out is not None else strip_batch(y[:, :, 0], unbatched)


def conv_transpose1d_input(input_size, weight, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                           dilation=1, *, algorithm="auto", n_threads=None):
    """Gradient of conv_transpose1d w.r.t. its input: a new array of input_size, (N, C_in, L) or (C_in, L)."""
    size, unbatched = batched_size(input_size, "input_size", 3)
    w = as_float_array(weight, "weight", ndim=3)
    gy = with_batch(grad_output, 3, "grad_output", unbatched)
    stride, padding, output_padding, dilation = _transpose1d_geometry(stride, padding, output_padding, dilation)
    gx = conv_transpose2d_input(size[:2] + (1, size[2]), w[:, :, np.newaxis], gy[:, :, np.newaxis], stride,
                                padding, output_padding, groups, dilation, algorithm=algorithm, n_threads=n_threads)
    return strip_batch(gx[:, :, 0], unbatched)


def conv_transpose1d_weight(input, weight_size, grad_output, stride=1, padding=0, output_padding=0, groups=1,
                            dilation=1, *, algorithm="auto", n_threads=None):
    """Gradient of conv_transpose1d w.r.t. its weight: a new weight_size (C_in, C_out/groups, k) array."""
    x, unbatched = batched_input(input, "input", 3, "N, C, L")
    c_in, c_out_g, k = as_shape(weight_size, "weight_size", 3)
    gy = with_batch(grad_output, 3, "grad_output", unbatched)
    stride, padding, output_padding, dilation = _transpose1d_geometry(stride, padding, output_padding, dilation)
    gw = conv_transpose2d_weight(x[:, :, np.newaxis], (c_in, c_out_g, 1, k), gy[:, :, np.newaxis], stride,
                                 padding, output_padding, groups, dilation, algorithm=algorithm,
                                 n_threads=n_threads)
    return gw[:, :, 0]


# ----------------------------------------------------------------------------------------------
# unfold / fold: im2col / col2im with torch's names and unbatched inputs

def unfold(input, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    """Sliding patches of input (N, C, H, W) or (C, H, W) -> (N, C*kh*kw, L) or (C*kh*kw, L), as
    torch.nn.functional.unfold. Its gradient is fold (unfold_backward)."""
    x, unbatched = batched_input(input, "input", 4, "N, C, H, W")
    return strip_batch(_conv.im2col(x, kernel_size, dilation, padding, stride, n_threads=n_threads), unbatched)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    """Sum sliding patches (N, C*kh*kw, L) or (C*kh*kw, L) back into (N, C, *output_size) or
    (C, *output_size), as torch.nn.functional.fold. Its gradient is unfold (fold_backward)."""
    cols, unbatched = batched_input(input, "input", 3, "N, C*kh*kw, L")
    return strip_batch(_conv.col2im(cols, output_size, kernel_size, dilation, padding, stride, n_threads=n_threads),
                  unbatched)


def unfold_backward(grad_output, input_size, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    """Gradient of unfold w.r.t. its input, (N, C, H, W) or (C, H, W) = input_size: fold of grad_output."""
    size, unbatched = batched_size(input_size, "input_size", 4)
    gy = with_batch(grad_output, 3, "grad_output", unbatched)
    gx = _conv.col2im(gy, size[2:], kernel_size, dilation, padding, stride, n_threads=n_threads)
    check_shape(gx, size, "input_size")
    return strip_batch(gx, unbatched)


def fold_backward(grad_output, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    """Gradient of fold w.r.t. its input: unfold of grad_output."""
    return unfold(grad_output, kernel_size, dilation, padding, stride, n_threads=n_threads)
