"""2-D convolution: forward, gradients w.r.t. input / weight / bias, im2col and col2im.

Names and argument order follow torch.nn.functional.conv2d, torch.nn.grad.conv2d_input /
conv2d_weight, and torch.nn.functional.unfold / fold. Arrays are NCHW; weights are
(C_out, C_in / groups, kh, kw). The result has the float dtype of the op's first array argument
(input; weight for conv2d_input), as in pyconv.reference; the other arrays are cast to it.

algorithm="auto" picks "direct" for grouped convolutions with tiny groups
(groups > 1 and (C_in / groups) * (C_out / groups) <= AUTO_DIRECT_MAX_GROUP_SIZE = 16, e.g.
depthwise), where each group's GEMM would be a sliver, and for the forward pass of stride-1,
non-1x1 convolutions with very few filters per group (C_out / groups <= AUTO_DIRECT_MAX_FILTERS
= 2), which would fill few columns of the GEMM's micro-tiles (16 filters wide in float32);
otherwise "im2col" (the implicit GEMM).

algorithm="winograd" (conv2d and conv2d_input) runs Winograd F(4x4, 3x3) (docs/winograd.md):
3x3 kernels, stride 1, dilation 1, at least WINOGRAD_MIN_CHANNELS input and output channels per
group, any padding; a ValueError names the condition a shape misses. "auto" picks it for eligible
shapes with at least AUTO_WINOGRAD_MIN_CHANNELS channels per group and enough output tiles
(_winograd_pays). The weight gradient has no Winograd form
here: conv2d_weight runs "winograd" as "im2col", so that one algorithm can serve a layer's three
ops."""
import numpy as np

from pyconv import _conv
from pyconv._args import (
    MAX_ELEMENTS, as_float_array, as_int, as_pair, as_shape, check_shape, check_size,
    conv_padding, output_array, output_size)
from pyconv._threads import effective_n_threads

ALGORITHMS = ("auto", "direct", "im2col", "winograd")
AUTO_DIRECT_MAX_GROUP_SIZE = 16
# `python -m bench.auto_rule` (1 thread, float32, stride-1 3x3 / 5x5 layers with 1-64 input
# channels): time im2col / direct is 1.4-3.8 at 1 filter, 0.7-2.2 at 2, 0.5-1.5 at 3, 0.4-1.2
# at 4, 0.1-0.6 from 16 on; at stride 2, im2col wins from 2 filters on
AUTO_DIRECT_MAX_FILTERS = 2


# ---- Winograd F(4x4, 3x3): eligibility and auto's rule --------------------------------------
WINOGRAD_MIN_CHANNELS = 8
# `python -m bench.winograd_rule` (docs/winograd.md; forward, float32, 1 thread, C_in = C_out =
# 8-512, sides 7-56, batches 1-16): time winograd / im2col is 0.2-0.9 wherever tiles x channels
# >= 512 (tiles = N * ceil(H_out / 4) * ceil(W_out / 4)), 0.91-1.00 below it (4 tiles with 8-64
# channels): transforming the filters once per call is paid for by enough tiles, or channels
AUTO_WINOGRAD_MIN_TILE_CHANNELS = 512
# auto keeps a margin on the other algorithms' elementwise accuracy, |error| <= 4 eps sqrt(K)
# conv(|x|, |w|): Winograd's falls as channels grow (`python -m bench.winograd_error`, column
# "suite": up to 2.0 at 8 channels, 1.0 at 32, 0.5 at 64, on unit-normal data; docs/winograd.md)
AUTO_WINOGRAD_MIN_CHANNELS = 32


def _winograd_ineligible(geo):
    """Why Winograd cannot run geo (the condition it misses), or None when it can."""
    (_, c_in, _, _, c_out, kh, kw, _, _, stride_h, stride_w, _, _, dil_h, dil_w,
     groups) = geo.fields
    if (kh, kw) != (3, 3):
        return f"the kernel must be 3x3, got {kh}x{kw}"
    if (stride_h, stride_w) != (1, 1):
        return f"stride must be 1, got {(stride_h, stride_w)}"
    if (dil_h, dil_w) != (1, 1):
        return f"dilation must be 1, got {(dil_h, dil_w)}"
    if min(c_in, c_out) // groups < WINOGRAD_MIN_CHANNELS:
        return (f"needs at least {WINOGRAD_MIN_CHANNELS} input and output channels per group, "
                f"got {c_in // groups} and {c_out // groups}")
    return None


def _winograd_pays(geo):
    """auto's rule: enough channels, and enough 4x4 output tiles times channels to pay for
    transforming the filters once per call."""
    tiles = geo.n * -(-geo.h_out // 4) * -(-geo.w_out // 4)
    channels = min(geo.c_in, geo.c_out) // geo.groups
    return (channels >= AUTO_WINOGRAD_MIN_CHANNELS
            and tiles * channels >= AUTO_WINOGRAD_MIN_TILE_CHANNELS)


def _use_winograd(geo, algorithm):
    """True to run geo by Winograd: asked for (ValueError when geo is not eligible), or picked by
    auto."""
    if isinstance(algorithm, str) and algorithm == "winograd":
        reason = _winograd_ineligible(geo)
        if reason is not None:
            raise ValueError(f"algorithm='winograd': {reason}")
        check_size((geo.c_in, geo.c_out // geo.groups + 32, 36), "winograd workspace")
        return True
    return (isinstance(algorithm, str) and algorithm == "auto"
            and _winograd_ineligible(geo) is None and _winograd_pays(geo))


def _algorithm_name(winograd, direct):
    """The kernel the glue runs."""
    return "winograd" if winograd else "direct" if direct else "im2col"


class _Geometry:
    """A validated convolution geometry: the fields of the C struct pyconv_conv_shape, the
    output shape, and the thread count."""

    def __init__(self, fields, n_threads):
        (self.n, self.c_in, self.h_in, self.w_in, self.c_out, self.kh, self.kw, self.h_out,
         self.w_out, _, self.stride_w, *_, self.groups) = fields
        self.fields = fields
        self.n_threads = n_threads

    @property
    def input_shape(self):
        return (self.n, self.c_in, self.h_in, self.w_in)

    @property
    def output_shape(self):
        return (self.n, self.c_out, self.h_out, self.w_out)

    @property
    def weight_shape(self):
        return (self.c_out, self.c_in // self.groups, self.kh, self.kw)

    @property
    def k(self):
        """Products per output value: the GEMM's reduction length."""
        return self.c_in // self.groups * self.kh * self.kw

    def use_direct(self, algorithm, forward=False):
        """True for the direct algorithm, False for im2col; validates `algorithm`. The forward
        pass has its own rule for few filters (its direct kernel blocks outputs in registers)."""
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm: expected one of {ALGORITHMS}, got {algorithm!r}")
        if algorithm == "auto":
            cout_g = self.c_out // self.groups
            direct = (self.groups > 1 and (self.c_in // self.groups) * cout_g
                      <= AUTO_DIRECT_MAX_GROUP_SIZE) or (
                forward and cout_g <= AUTO_DIRECT_MAX_FILTERS and self.stride_w == 1
                and self.kh * self.kw > 1)
        else:
            direct = algorithm == "direct"
        if not direct:
            # the patch buffers, in bytes: per thread, patches of one image, or of a few small
            # images batched to at least 512 pixels (PYCONV_MIN_GEMM_PIXELS in conv_gemm_t.h)
            check_size((self.n_threads, max(self.c_in, self.c_out) * self.kh * self.kw,
                        self.h_out * self.w_out + 512, 8), "im2col workspace")
        # without input channels the output is the bias: nothing to multiply
        return direct or self.k == 0


def _geometry(input_shape, c_out, kernel_size, stride, padding, dilation, groups, n_threads,
              *, input_name="input"):
    """Validate the geometry shared by every op; input_shape is (N, C_in, H, W).

    Checks the parameters, the groups against the channels and that the kernel fits the
    padded input, and bounds every size so that the kernels' int64 index arithmetic cannot
    overflow."""
    n, c_in, h_in, w_in = input_shape
    kh, kw = kernel_size
    stride = as_pair(stride, "stride", minimum=1)
    dilation = as_pair(dilation, "dilation", minimum=1)
    groups = as_int(groups, "groups", minimum=1)
    n_threads = effective_n_threads(n_threads)
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel_size: expected positive sizes, got {(kh, kw)}")
    if c_in % groups:
        raise ValueError(f"groups: must divide the {c_in} input channels of {input_name}, got {groups}")
    if c_out % groups:
        raise ValueError(f"groups: must divide the {c_out} output channels, got {groups}")
    top, bottom, left, right = conv_padding(padding, (kh, kw), dilation, stride)
    spans = [("padding", p) for p in (top, bottom, left, right)] + [
        ("stride", stride[0]), ("stride", stride[1]),
        ("dilation", dilation[0] * (kh - 1)), ("dilation", dilation[1] * (kw - 1)),
        ("padding", h_in + top + bottom), ("padding", w_in + left + right)]
    for name, value in spans:
        if value > MAX_ELEMENTS:
            raise ValueError(f"{name}: sizes up to {MAX_ELEMENTS} supported, got {value}")
    h_out = output_size(h_in, kh, stride[0], dilation[0], top, bottom)
    w_out = output_size(w_in, kw, stride[1], dilation[1], left, right)
    if h_out <= 0 or w_out <= 0:
        raise ValueError(
            f"kernel_size: the dilated kernel ({dilation[0] * (kh - 1) + 1}, {dilation[1] * (kw - 1) + 1}) "
            f"is larger than the padded input ({h_in + top + bottom}, {w_in + left + right}); "
            f"expected an output size >= 1, got ({h_out}, {w_out})")
    for shape, name in [((n, c_in, h_in, w_in), input_name), ((n, c_out, h_out, w_out), "output")]:
        check_size(shape, name)
    fields = (n, c_in, h_in, w_in, c_out, kh, kw, h_out, w_out, stride[0], stride[1], top, left,
              dilation[0], dilation[1], groups)
    return _Geometry(fields, n_threads)


def _weight_geometry(input_shape, weight_shape, stride, padding, dilation, groups, n_threads,
                     *, input_name="input", weight_name="weight"):
    """_geometry for a convolution with a (C_out, C_in / groups, kh, kw) weight."""
    c_out, c_in_g, kh, kw = weight_shape
    geo = _geometry(input_shape, c_out, (kh, kw), stride, padding, dilation, groups, n_threads,
                    input_name=input_name)
    if c_in_g * geo.groups != geo.c_in:
        raise ValueError(
            f"{weight_name}: expected {geo.c_in // geo.groups} input channels per group "
            f"({input_name} has {geo.c_in} channels, groups={geo.groups}), got {c_in_g} "
            f"(shape {tuple(weight_shape)})")
    return geo


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm="auto", out=None, n_threads=None):
    """2-D convolution (cross-correlation) of input (N, C_in, H, W) with weight
    (C_out, C_in / groups, kh, kw), plus bias (C_out,) when given -> (N, C_out, H_out, W_out).

    stride, dilation: int or pair. padding: int, pair, ((top, bottom), (left, right)),
    "valid", "same" (stride 1) or "full". out= receives the result."""
    x = as_float_array(input, "input", ndim=4)
    w = as_float_array(weight, "weight", x.dtype, ndim=4)
    geo = _weight_geometry(x.shape, w.shape, stride, padding, dilation, groups, n_threads)
    if bias is not None:
        bias = as_float_array(bias, "bias", x.dtype, ndim=1)
        check_shape(bias, (geo.c_out,), "bias")
    winograd = _use_winograd(geo, algorithm)
    direct = not winograd and geo.use_direct(algorithm, forward=True)
    y = output_array(out, geo.output_shape, x.dtype)
    for arr, name in [(x, "input"), (w, "weight"), (bias, "bias")]:
        if arr is not None and np.may_share_memory(y, arr):
            raise ValueError(f"out: must not overlap {name}")
    if y.size:
        _conv.conv2d(_algorithm_name(winograd, direct), geo.fields, x.reshape(-1), w.reshape(-1),
                     bias, y.reshape(-1), geo.n_threads)
    return y


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 algorithm="auto", n_threads=None):
    """Gradient of conv2d w.r.t. its input: a new (N, C_in, H, W) = input_size array."""
    input_size = as_shape(input_size, "input_size", 4)
    w = as_float_array(weight, "weight", ndim=4)
    gy = as_float_array(grad_output, "grad_output", w.dtype, ndim=4)
    geo = _weight_geometry(input_size, w.shape, stride, padding, dilation, groups, n_threads,
                           input_name="input_size")
    check_shape(gy, geo.output_shape, "grad_output")
    winograd = _use_winograd(geo, algorithm)
    direct = not winograd and geo.use_direct(algorithm)
    gx = np.zeros(input_size, dtype=w.dtype)
    if gx.size and geo.c_out:
        _conv.conv2d_input(_algorithm_name(winograd, direct), geo.fields, w.reshape(-1),
                           gy.reshape(-1), gx.reshape(-1), geo.n_threads)
    return gx


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  algorithm="auto", n_threads=None):
    """Gradient of conv2d w.r.t. its weight: a new (C_out, C_in / groups, kh, kw) = weight_size
    array, summed over the batch in a fixed order (the same at any thread count)."""
    x = as_float_array(input, "input", ndim=4)
    weight_size = as_shape(weight_size, "weight_size", 4)
    gy = as_float_array(grad_output, "grad_output", x.dtype, ndim=4)
    geo = _weight_geometry(x.shape, weight_size, stride, padding, dilation, groups, n_threads,
                           weight_name="weight_size")
    check_shape(gy, geo.output_shape, "grad_output")
    direct = geo.use_direct(algorithm)
    gw = np.zeros(weight_size, dtype=x.dtype)
    if gw.size and geo.n:
        _conv.conv2d_weight(direct, geo.fields, x.reshape(-1), gy.reshape(-1), gw.reshape(-1),
                            geo.n_threads)
    return gw


def conv2d_bias(grad_output, *, n_threads=None):
    """Gradient of conv2d w.r.t. its bias: grad_output (N, C_out, H, W) summed over N, H, W."""
    gy = as_float_array(grad_output, "grad_output", ndim=4)
    n, c, h, w = gy.shape
    n_threads = effective_n_threads(n_threads)
    gb = np.zeros(c, dtype=gy.dtype)
    if gy.size:
        _conv.conv2d_bias((n, c, h, w, c, 1, 1, h, w, 1, 1, 0, 0, 1, 1, 1), gy.reshape(-1),
                          gb, n_threads)
    return gb


def im2col(input, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    """Sliding patches of input (N, C, H, W) -> (N, C*kh*kw, L), L = H_out*W_out, rows ordered
    (channel, kernel row, kernel column), as torch.nn.functional.unfold."""
    x = as_float_array(input, "input", ndim=4)
    kernel_size = as_pair(kernel_size, "kernel_size", minimum=1)
    geo = _geometry(x.shape, x.shape[1], kernel_size, stride, padding, dilation, 1, n_threads)
    shape = (geo.n, geo.c_in * geo.kh * geo.kw, geo.h_out * geo.w_out)
    check_size(shape, "output")
    col = np.empty(shape, dtype=x.dtype)
    if col.size:
        _conv.im2col(geo.fields, x.reshape(-1), col.reshape(-1), geo.n_threads)
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
                    dilation, 1, n_threads, input_name="output_size")
    if length != geo.h_out * geo.w_out:
        raise ValueError(
            f"input: expected {geo.h_out * geo.w_out} = {geo.h_out}*{geo.w_out} patches (dimension 2) "
            f"for output_size {(h, w)}, got {length}")
    x = np.zeros(geo.input_shape, dtype=col.dtype)
    if col.size:
        _conv.col2im(geo.fields, col.reshape(-1), x.reshape(-1), geo.n_threads)
    return x
