"""Layers: convolution, pooling, fully connected, activations, reshaping, dropout.

Every layer calls pyconv's public functional API (conv2d and its gradients, the pooling ops
and their backwards, gemm) and NumPy; nothing here reaches into the kernels."""
import math

import numpy as np

import pyconv
from pyconv._args import as_float_array, as_int, as_pair, as_shape, conv_padding, output_size
from pyconv.nn.init import as_generator, default_weight_and_bias
from pyconv.nn.module import Module, Parameter, require_forward


def _input(x, module, dtype=None, ndim=None):
    """x as a float array, checked against what `module` accepts."""
    name = f"{type(module).__name__} input"
    x = as_float_array(x, name)
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (the layer's), got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {x.shape}")
    return x


def _grad(grad_output, shape, dtype, module):
    """grad_output as a float array of the module's last output shape and dtype."""
    name = f"{type(module).__name__}.backward grad_output"
    g = as_float_array(grad_output, name, dtype)
    if g.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} (the last output's), got {g.shape}")
    return g


def same_padding(size, kernel, stride, dilation):
    """(before, after) padding giving out = ceil(size / stride), as TensorFlow's 'same'.

    The odd pixel goes after (bottom/right), as in TensorFlow and in PyTorch's stride-1 'same'."""
    span = dilation * (kernel - 1) + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


class Window(Module):
    """The geometry of a layer sliding a window over H x W: kernel_size, stride, padding,
    dilation, ceil_mode, and optionally the channel counts of a convolution.

    padding is anything pyconv.conv2d accepts, or 'same' for any stride: TensorFlow-style, the
    input is padded so that out = ceil(in / stride) (PyTorch allows 'same' only at stride 1,
    where both agree). stride=None means stride = kernel_size (the pooling default).
    A bare Window computes shapes; Conv2d, MaxPool2d and AvgPool2d add the computation."""

    def __init__(self, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False,
                 in_channels=None, out_channels=None):
        super().__init__()
        self.in_channels = None if in_channels is None else as_int(in_channels, "in_channels", minimum=1)
        self.out_channels = None if out_channels is None else as_int(out_channels, "out_channels", minimum=1)
        self.kernel_size = as_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride", minimum=1)
        self.dilation = as_pair(dilation, "dilation", minimum=1)
        if isinstance(padding, str) and padding == "same":
            self.padding = "same"
        else:
            self.padding = conv_padding(padding, self.kernel_size, self.dilation, self.stride)
        self.ceil_mode = bool(ceil_mode)

    def pads(self, h, w):
        """Explicit (top, bottom, left, right) padding for an h x w input."""
        if self.padding != "same":
            return self.padding
        return (same_padding(h, self.kernel_size[0], self.stride[0], self.dilation[0])
                + same_padding(w, self.kernel_size[1], self.stride[1], self.dilation[1]))

    def output_shape(self, input_shape):
        n, c, h, w = as_shape(input_shape, f"{type(self).__name__} input shape", 4)
        if self.in_channels is not None and c != self.in_channels:
            raise ValueError(f"{type(self).__name__}: expected input with {self.in_channels} channels "
                             f"(shape (N, {self.in_channels}, H, W)), got shape {(n, c, h, w)}")
        top, bottom, left, right = self.pads(h, w)
        oh = output_size(h, self.kernel_size[0], self.stride[0], self.dilation[0], top, bottom, self.ceil_mode)
        ow = output_size(w, self.kernel_size[1], self.stride[1], self.dilation[1], left, right, self.ceil_mode)
        if oh < 1 or ow < 1:
            raise ValueError(f"{type(self).__name__}: input {h}x{w} padded by {(top, bottom, left, right)} is "
                             f"smaller than the {self.kernel_size} window (dilation {self.dilation}); "
                             f"the output would be {oh}x{ow}")
        return (n, c if self.out_channels is None else self.out_channels, oh, ow)

    def _receptive_field(self, field):
        return tuple((size + self.dilation[i] * (self.kernel_size[i] - 1) * jump, jump * self.stride[i])
                     for i, (size, jump) in enumerate(field))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Conv2d(Window):
    """2-D convolution (cross-correlation, as in PyTorch) with a (out, in/groups, kh, kw) weight.

    rng seeds the default initialisation (see pyconv.nn.init); dtype is float32 or float64."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, *, dtype=np.float32, rng=None):
        super().__init__(kernel_size, stride, padding, dilation,
                         in_channels=in_channels, out_channels=out_channels)
        self.groups = as_int(groups, "groups", minimum=1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"groups: in_channels ({self.in_channels}) and out_channels "
                             f"({self.out_channels}) must be divisible by groups ({self.groups})")
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        fan_in = shape[1] * shape[2] * shape[3]
        weight, bias_data = default_weight_and_bias(shape, fan_in, bias, dtype, rng)
        self.weight = Parameter(weight)
        self.bias = None if bias_data is None else Parameter(bias_data)
        self._cache = None

    def _args(self, pads):
        top, bottom, left, right = pads
        return self.stride, ((top, bottom), (left, right)), self.dilation, self.groups

    def forward(self, x):
        x = _input(x, self, self.weight.dtype, 4)
        out_shape = self.output_shape(x.shape)
        pads = self.pads(*x.shape[2:])
        bias = None if self.bias is None else self.bias.data
        y = pyconv.conv2d(x, self.weight.data, bias, *self._args(pads))
        self._cache = (x, pads, out_shape)
        return y

    def backward(self, grad_output):
        x, pads, out_shape = require_forward(self._cache, self)
        g = _grad(grad_output, out_shape, x.dtype, self)
        args = self._args(pads)
        self.weight.grad += pyconv.conv2d_weight(x, self.weight.shape, g, *args)
        if self.bias is not None:
            self.bias.grad += pyconv.conv2d_bias(g)
        return pyconv.conv2d_input(x.shape, self.weight.data, g, *args)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, {super().extra_repr()}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}, dtype={self.weight.dtype}")


class _Pool(Window):
    """A pooling layer: symmetric padding (pad_h, pad_w), stride defaulting to kernel_size."""

    def __init__(self, kernel_size, stride, padding, dilation, ceil_mode):
        super().__init__(kernel_size, stride, as_pair(padding, "padding", minimum=0), dilation, ceil_mode)
        self._cache = None

    def _padding_pair(self):
        return self.padding[0], self.padding[2]


class MaxPool2d(_Pool):
    """Max pooling; backward routes each gradient to its window's argmax (PyTorch's indices)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)

    def forward(self, x):
        x = _input(x, self, ndim=4)
        out_shape = self.output_shape(x.shape)
        y, indices = pyconv.max_pool2d(x, self.kernel_size, self.stride, self._padding_pair(),
                                       self.dilation, self.ceil_mode, return_indices=True)
        self._cache = (x.shape, indices, out_shape, x.dtype)
        return y

    def backward(self, grad_output):
        input_shape, indices, out_shape, dtype = require_forward(self._cache, self)
        g = _grad(grad_output, out_shape, dtype, self)
        return pyconv.max_pool2d_backward(g, indices, input_shape)


class AvgPool2d(_Pool):
    """Average pooling with PyTorch's count_include_pad / divisor_override semantics."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = (None if divisor_override is None
                                 else as_int(divisor_override, "divisor_override"))

    def _args(self):
        return (self.kernel_size, self.stride, self._padding_pair(), self.ceil_mode,
                self.count_include_pad, self.divisor_override)

    def forward(self, x):
        x = _input(x, self, ndim=4)
        out_shape = self.output_shape(x.shape)
        y = pyconv.avg_pool2d(x, *self._args())
        self._cache = (x.shape, out_shape, x.dtype)
        return y

    def backward(self, grad_output):
        input_shape, out_shape, dtype = require_forward(self._cache, self)
        g = _grad(grad_output, out_shape, dtype, self)
        return pyconv.avg_pool2d_backward(g, input_shape, *self._args())


class Linear(Module):
    """y = x @ weight.T + bias on the last axis, weight (out_features, in_features) as in PyTorch."""

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float32, rng=None):
        super().__init__()
        self.in_features = as_int(in_features, "in_features", minimum=1)
        self.out_features = as_int(out_features, "out_features", minimum=1)
        weight, bias_data = default_weight_and_bias((self.out_features, self.in_features),
                                                    self.in_features, bias, dtype, rng)
        self.weight = Parameter(weight)
        self.bias = None if bias_data is None else Parameter(bias_data)
        self._cache = None

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input of shape (..., {self.in_features}), got {shape}")
        return shape[:-1] + (self.out_features,)

    def forward(self, x):
        x = _input(x, self, self.weight.dtype)
        out_shape = self.output_shape(x.shape)
        x2 = x.reshape(-1, self.in_features)
        y = pyconv.gemm(x2, self.weight.data, trans_b=True)
        if self.bias is not None:
            y += self.bias.data
        self._cache = (x2, x.shape, out_shape)
        return y.reshape(out_shape)

    def backward(self, grad_output):
        x2, input_shape, out_shape = require_forward(self._cache, self)
        g = _grad(grad_output, out_shape, x2.dtype, self).reshape(-1, self.out_features)
        pyconv.gemm(g, x2, self.weight.grad, beta=1.0, trans_a=True, out=self.weight.grad)
        if self.bias is not None:
            self.bias.grad += g.sum(axis=0)
        return pyconv.gemm(g, self.weight.data).reshape(input_shape)

    def _receptive_field(self, field):
        raise ValueError("receptive_field: Linear mixes all positions; pass only the convolution/pooling "
                         "part of the network (e.g. model[:k])")

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, dtype={self.weight.dtype}")


class _Elementwise(Module):
    """An activation y = f(x) whose derivative is computed from what forward cached."""

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, x):
        x = _input(x, self)
        y, state = self._forward(x)
        self._cache = (state, x.shape, x.dtype)
        return y

    def backward(self, grad_output):
        state, shape, dtype = require_forward(self._cache, self)
        return self._backward(_grad(grad_output, shape, dtype, self), state)


class ReLU(_Elementwise):
    """max(x, 0); the gradient at 0 is 0, as in PyTorch."""

    def _forward(self, x):
        return np.maximum(x, 0), x > 0

    def _backward(self, g, positive):
        return g * positive


class Sigmoid(_Elementwise):
    """1 / (1 + exp(-x)), computed as exp(-log(1 + exp(-x))) so no exp overflows."""

    def _forward(self, x):
        y = np.exp(-np.logaddexp(0, -x))
        return y, y

    def _backward(self, g, y):
        return g * y * (1 - y)


class Tanh(_Elementwise):
    def _forward(self, x):
        y = np.tanh(x)
        return y, y

    def _backward(self, g, y):
        return g * (1 - y * y)


class Flatten(Module):
    """Merges dimensions start_dim..end_dim into one (by default all but the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = as_int(start_dim, "start_dim")
        self.end_dim = as_int(end_dim, "end_dim")
        self._cache = None

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        start = self.start_dim + len(shape) if self.start_dim < 0 else self.start_dim
        end = self.end_dim + len(shape) if self.end_dim < 0 else self.end_dim
        if not 0 <= start <= end < len(shape):
            raise ValueError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not fit "
                             f"an input of shape {shape}")
        return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]

    def forward(self, x):
        x = _input(x, self)
        self._cache = x.shape, x.dtype
        return x.reshape(self.output_shape(x.shape))

    def backward(self, grad_output):
        input_shape, dtype = require_forward(self._cache, self)
        return _grad(grad_output, self.output_shape(input_shape), dtype, self).reshape(input_shape)

    def _receptive_field(self, field):
        raise ValueError("receptive_field: Flatten ends the spatial part of the network; pass only the "
                         "layers before it (e.g. model[:k])")

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """In training mode zeroes each element with probability p and scales the rest by
    1 / (1 - p); in eval mode the identity. With rng=None each call draws from the package
    default generator as it is then (so manual_seed applies, as torch.manual_seed does)."""

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p: expected a probability in [0, 1], got {p}")
        self.p = p
        self.rng = None if rng is None else as_generator(rng)
        self._cache = None

    def forward(self, x):
        x = _input(x, self)
        if not self.training or self.p == 0.0:
            self._cache = (None, x.shape, x.dtype)
            return x
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        mask = (as_generator(self.rng).random(x.shape) >= self.p) * np.asarray(scale, dtype=x.dtype)
        self._cache = (mask, x.shape, x.dtype)
        return x * mask

    def backward(self, grad_output):
        mask, shape, dtype = require_forward(self._cache, self)
        g = _grad(grad_output, shape, dtype, self)
        return g if mask is None else g * mask

    def extra_repr(self):
        return f"p={self.p}"



class Identity(Module):
    """Returns its input (a placeholder, as torch.nn.Identity; e.g. a shortcut that changes nothing)."""

    def forward(self, x):
        return x

    def backward(self, grad_output):
        return grad_output


class ReLU6(_Elementwise):
    """min(max(x, 0), 6); the gradient is 1 strictly inside (0, 6), as in PyTorch."""

    def _forward(self, x):
        return np.clip(x, 0, 6), (x > 0) & (x < 6)

    def _backward(self, g, inside):
        return g * inside


class SiLU(_Elementwise):
    """x * sigmoid(x) (swish); sigmoid computed as in Sigmoid, without overflow."""

    def _forward(self, x):
        s = np.exp(-np.logaddexp(0, -x))
        return x * s, (x, s)

    def _backward(self, g, state):
        x, s = state
        return g * (s * (1 + x * (1 - s)))


class AdaptiveAvgPool2d(Module):
    """Adaptive average pooling to output_size (an int or a pair; None keeps that axis); with
    output_size=1, global average pooling (a ResNet's head)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size
        self._cache = None

    def output_shape(self, input_shape):
        n, c, h, w = as_shape(input_shape, "AdaptiveAvgPool2d input shape", 4)
        size = self.output_size if isinstance(self.output_size, (tuple, list)) else (self.output_size,) * 2
        return (n, c) + tuple(s if o is None else o for o, s in zip(size, (h, w)))

    def forward(self, x):
        x = _input(x, self, ndim=4)
        y = pyconv.adaptive_avg_pool2d(x, self.output_size)
        self._cache = (x.shape, y.shape, x.dtype)
        return y

    def backward(self, grad_output):
        input_shape, out_shape, dtype = require_forward(self._cache, self)
        return pyconv.adaptive_avg_pool2d_backward(_grad(grad_output, out_shape, dtype, self), input_shape)

    def _receptive_field(self, field):
        raise ValueError("receptive_field: AdaptiveAvgPool2d's window depends on the input size; pass only the "
                         "layers before it")

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _Convolution(Module):
    """A convolution layer: subclasses give _ops (the functional op, its input and its weight
    gradient, called with the geometry tuple _geometry) and _ndim. The weight is (out,
    in / groups, *kernel), or (in, out / groups, *kernel) when transposed, initialised as PyTorch
    does (fan_in = its second dimension times the kernel taps); the bias has out_channels entries."""

    def __init__(self, in_channels, out_channels, kernel, groups, transposed, bias, dtype, rng):
        super().__init__()
        self.in_channels = as_int(in_channels, "in_channels", minimum=1)
        self.out_channels = as_int(out_channels, "out_channels", minimum=1)
        self.groups = as_int(groups, "groups", minimum=1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"groups: in_channels ({self.in_channels}) and out_channels "
                             f"({self.out_channels}) must be divisible by groups ({self.groups})")
        first, second = (self.in_channels, self.out_channels) if transposed else (self.out_channels, self.in_channels)
        weight_shape = (first, second // self.groups) + tuple(kernel)
        fan_in = math.prod(weight_shape[1:])
        weight, bias_data = default_weight_and_bias(weight_shape, fan_in, bias, dtype, rng, self.out_channels)
        self.weight = Parameter(weight)
        self.bias = None if bias_data is None else Parameter(bias_data)
        self._cache = None

    def forward(self, x):
        x = _input(x, self, self.weight.dtype, self._ndim)
        bias = None if self.bias is None else self.bias.data
        y = self._ops[0](x, self.weight.data, bias, *self._geometry)
        self._cache = (x, y.shape)
        return y

    def backward(self, grad_output):
        x, out_shape = require_forward(self._cache, self)
        g = _grad(grad_output, out_shape, x.dtype, self)
        self.weight.grad += self._ops[2](x, self.weight.shape, g, *self._geometry)
        if self.bias is not None:
            self.bias.grad += pyconv.conv2d_bias(g if g.ndim == 4 else g[:, :, np.newaxis])
        return self._ops[1](x.shape, self.weight.data, g, *self._geometry)

    def output_shape(self, input_shape):
        shape = as_shape(input_shape, f"{type(self).__name__} input shape", self._ndim)
        probe = np.zeros((0,) + shape[1:], self.weight.dtype)  # an empty batch: the shape, no work
        return shape[:1] + self._ops[0](probe, self.weight.data, None, *self._geometry).shape[1:]


class Conv1d(_Convolution):
    """1-D convolution of (N, C_in, L) with a (out, in/groups, k) weight, as torch.nn.Conv1d
    (padding: an int, 'valid', 'same' or 'full')."""

    _ndim = 3
    _ops = (pyconv.conv1d, pyconv.conv1d_input, pyconv.conv1d_weight)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, *, dtype=np.float32, rng=None):
        k = as_int(kernel_size[0] if isinstance(kernel_size, (tuple, list)) else kernel_size, "kernel_size", minimum=1)
        super().__init__(in_channels, out_channels, (k,), groups, False, bias, dtype, rng)
        self._geometry = (stride, padding, dilation, self.groups)

    def extra_repr(self):
        stride, padding, dilation, groups = self._geometry
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.weight.shape[2]}, stride={stride}, "
                f"padding={padding}, dilation={dilation}, groups={groups}, bias={self.bias is not None}")


class ConvTranspose2d(_Convolution):
    """2-D transposed convolution with a (in, out/groups, kh, kw) weight, as
    torch.nn.ConvTranspose2d (its argument order: groups, bias, then dilation)."""

    _ndim = 4
    _ops = (pyconv.conv_transpose2d, pyconv.conv_transpose2d_input, pyconv.conv_transpose2d_weight)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, *, dtype=np.float32, rng=None):
        super().__init__(in_channels, out_channels, as_pair(kernel_size, "kernel_size", minimum=1), groups, True, bias,
                         dtype, rng)
        self._geometry = (stride, padding, output_padding, self.groups, dilation)

    def extra_repr(self):
        stride, padding, output_padding, groups, dilation = self._geometry
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.weight.shape[2:]}, stride={stride}, "
                f"padding={padding}, output_padding={output_padding}, groups={groups}, dilation={dilation}, "
                f"bias={self.bias is not None}")
