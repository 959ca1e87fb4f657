"""Run a PyTorch model's convolutions and pools on pyconv's kernels.

    import pyconv.torch as pt
    model.conv1 = pt.Conv2d(3, 8, 3)       # a torch.nn.Conv2d: same parameters and init
    model.conv1 = pt.Conv2d.from_torch(model.conv1)   # or share an existing layer's parameters
    pt.convert(model)                      # or swap every supported layer of a model
    fast = pt.convert(model.eval(), fuse=True)   # inference: BatchNorm folded, ReLU/add fused
    y = pt.conv2d(x, w, b, stride=2)       # differentiable, like torch.nn.functional.conv2d

Functions (differentiable, torch.nn.functional's signatures): conv1d, conv2d, conv_transpose1d,
conv_transpose2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d, adaptive_avg_pool1d,
adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d. Modules (subclasses of the torch
ones, same constructors plus keyword-only n_threads, and algorithm for convolutions): Conv1d,
Conv2d, ConvTranspose1d, ConvTranspose2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d,
AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d.

Tensors must live on the CPU and be float32 or float64. Contiguous tensors reach the kernels
without a copy (Tensor.numpy() shares memory) and results come back through torch.from_numpy,
also without one. Backward runs pyconv's gradient functions, only for the inputs that need a
gradient. Importing pyconv never imports torch; this module needs it."""
try:
    import torch
except ImportError as exc:
    raise ImportError("pyconv.torch needs PyTorch (pip install torch); the rest of pyconv works without it") from exc

import operator

import pyconv

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool2d",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "FusedConv2d", "MaxPool1d", "MaxPool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "conv1d",
    "conv2d", "conv_transpose1d", "conv_transpose2d", "convert", "max_pool1d", "max_pool2d",
]

_FLOAT_DTYPES = (torch.float32, torch.float64)


def _as_numpy(tensor, name):
    """The tensor's memory as a NumPy array: no copy when it is contiguous."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.device.type != "cpu":
        raise ValueError(f"{name}: pyconv runs on the CPU, got a tensor on {tensor.device}")
    if tensor.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name}: expected a float32 or float64 tensor, got {tensor.dtype}")
    return tensor.detach().contiguous().numpy()


def _check_same_dtype(input, tensor, name):
    """torch.nn.functional requires one dtype for input and parameters; so do the gradients."""
    if isinstance(input, torch.Tensor) and isinstance(tensor, torch.Tensor) and tensor.dtype != input.dtype:
        raise TypeError(f"{name}: expected dtype {input.dtype} (the input's), got {tensor.dtype}")


class _Op:
    """One differentiable pyconv call: forward(*arrays) -> array, or (array, int64 indices);
    backward(grad_output, arrays, needs_grad, indices) -> one gradient (or None) per array."""

    def __init__(self, names, forward, backward):
        self.names, self.forward, self.backward = names, forward, backward


class _Function(torch.autograd.Function):
    @staticmethod
    def forward(ctx, op, *tensors):
        arrays = [None if t is None else _as_numpy(t, name) for t, name in zip(tensors, op.names)]
        result = op.forward(*arrays)
        ctx.op = op
        ctx.save_for_backward(*tensors)
        if isinstance(result, tuple):
            values, indices = result
            ctx.indices = indices
            indices = torch.from_numpy(indices)
            ctx.mark_non_differentiable(indices)
            return torch.from_numpy(values), indices
        ctx.indices = None
        return torch.from_numpy(result)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output, *grad_indices):
        arrays = [None if t is None else _as_numpy(t, name) for t, name in zip(ctx.saved_tensors, ctx.op.names)]
        grads = ctx.op.backward(_as_numpy(grad_output, "grad_output"), arrays, ctx.needs_input_grad[1:], ctx.indices)
        return (None,) + tuple(None if g is None else torch.from_numpy(g) for g in grads)


def _bias_grad(grad_output, spatial_dims):
    """grad_output summed over all but the channel axis (1-D outputs as unit-height images)."""
    return pyconv.conv2d_bias(grad_output[..., None, :] if spatial_dims == 1 else grad_output)


def _convolution(ops, spatial_dims, input, weight, bias, args, options):
    """A convolution differentiable in input, weight and bias: ops = (forward, input gradient,
    weight gradient) pyconv functions, each called with the geometry args and the options."""
    forward, input_grad, weight_grad = ops
    _check_same_dtype(input, weight, "weight")
    _check_same_dtype(input, bias, "bias")

    def backward(gy, arrays, needs, indices):
        x, w, _ = arrays
        return (input_grad(x.shape, w, gy, *args, **options) if needs[0] else None,
                weight_grad(x, w.shape, gy, *args, **options) if needs[1] else None,
                _bias_grad(gy, spatial_dims) if needs[2] else None)

    return _Function.apply(_Op(("input", "weight", "bias"), lambda x, w, b: forward(x, w, b, *args, **options),
                               backward), input, weight, bias)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros",
           algorithm="auto", n_threads=None):
    """torch.nn.functional.conv2d on pyconv's kernels, differentiable in input, weight and bias.

    input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in/groups, kh, kw); padding as in
    pyconv.conv2d (ints, pairs, "valid", "same", ...); padding_mode as torch.nn.Conv2d's.
    algorithm and n_threads go to pyconv."""
    return _convolution((pyconv.conv2d, pyconv.conv2d_input, pyconv.conv2d_weight), 2, input, weight, bias,
                        (stride, padding, dilation, groups),
                        dict(padding_mode=padding_mode, algorithm=algorithm, n_threads=n_threads))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros",
           algorithm="auto", n_threads=None):
    """torch.nn.functional.conv1d on pyconv's kernels, differentiable in input, weight and bias."""
    return _convolution((pyconv.conv1d, pyconv.conv1d_input, pyconv.conv1d_weight), 1, input, weight, bias,
                        (stride, padding, dilation, groups),
                        dict(padding_mode=padding_mode, algorithm=algorithm, n_threads=n_threads))


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *,
                     algorithm="auto", n_threads=None):
    """torch.nn.functional.conv_transpose2d on pyconv's kernels, differentiable in input, weight and bias."""
    return _convolution((pyconv.conv_transpose2d, pyconv.conv_transpose2d_input, pyconv.conv_transpose2d_weight), 2,
                        input, weight, bias, (stride, padding, output_padding, groups, dilation),
                        dict(algorithm=algorithm, n_threads=n_threads))


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *,
                     algorithm="auto", n_threads=None):
    """torch.nn.functional.conv_transpose1d on pyconv's kernels, differentiable in input, weight and bias."""
    return _convolution((pyconv.conv_transpose1d, pyconv.conv_transpose1d_input, pyconv.conv_transpose1d_weight), 1,
                        input, weight, bias, (stride, padding, output_padding, groups, dilation),
                        dict(algorithm=algorithm, n_threads=n_threads))


def _pool(input, forward, input_grad):
    """A pooling differentiable in its input: forward(x), input_grad(gy, x_shape, indices)."""
    return _Function.apply(_Op(("input",), forward,
                               lambda gy, arrays, needs, indices: (input_grad(gy, arrays[0].shape, indices),)),
                           input)


def _max_pool(input, forward, backward, return_indices, n_threads):
    """forward(x) -> (values, indices); the gradient scatters through the indices."""
    y, indices = _pool(input, forward, lambda gy, size, idx: backward(gy, idx, size, n_threads=n_threads))
    return (y, indices) if return_indices else y


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               *, n_threads=None):
    """torch.nn.functional.max_pool2d on pyconv's kernels, differentiable in input.

    The indices (returned with return_indices=True) are PyTorch's: int64, flat h*W+w within
    each (n, c) plane, so torch.nn.functional.max_unpool2d accepts them."""
    return _max_pool(input, lambda x: pyconv.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True,
                                                        n_threads=n_threads),
                     pyconv.max_pool2d_backward, return_indices, n_threads)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               *, n_threads=None):
    """torch.nn.functional.max_pool1d on pyconv's kernels, differentiable in input."""
    return _max_pool(input, lambda x: pyconv.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode, True,
                                                        n_threads=n_threads),
                     pyconv.max_pool1d_backward, return_indices, n_threads)


def adaptive_max_pool2d(input, output_size, return_indices=False, *, n_threads=None):
    """torch.nn.functional.adaptive_max_pool2d on pyconv, differentiable in input."""
    return _max_pool(input, lambda x: pyconv.adaptive_max_pool2d(x, output_size, True, n_threads=n_threads),
                     pyconv.adaptive_max_pool2d_backward, return_indices, n_threads)


def adaptive_max_pool1d(input, output_size, return_indices=False, *, n_threads=None):
    """torch.nn.functional.adaptive_max_pool1d on pyconv, differentiable in input."""
    return _max_pool(input, lambda x: pyconv.adaptive_max_pool1d(x, output_size, True, n_threads=n_threads),
                     pyconv.adaptive_max_pool1d_backward, return_indices, n_threads)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, n_threads=None):
    """torch.nn.functional.avg_pool2d on pyconv's kernels, differentiable in input."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _pool(input, lambda x: pyconv.avg_pool2d(x, *args, n_threads=n_threads),
                 lambda gy, size, _: pyconv.avg_pool2d_backward(gy, size, *args, n_threads=n_threads))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, *,
               n_threads=None):
    """torch.nn.functional.avg_pool1d on pyconv's kernels, differentiable in input."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad)
    return _pool(input, lambda x: pyconv.avg_pool1d(x, *args, n_threads=n_threads),
                 lambda gy, size, _: pyconv.avg_pool1d_backward(gy, size, *args, n_threads=n_threads))


def adaptive_avg_pool2d(input, output_size, *, n_threads=None):
    """torch.nn.functional.adaptive_avg_pool2d on pyconv, differentiable in input."""
    return _pool(input, lambda x: pyconv.adaptive_avg_pool2d(x, output_size, n_threads=n_threads),
                 lambda gy, size, _: pyconv.adaptive_avg_pool2d_backward(gy, size, n_threads=n_threads))


def adaptive_avg_pool1d(input, output_size, *, n_threads=None):
    """torch.nn.functional.adaptive_avg_pool1d on pyconv, differentiable in input."""
    return _pool(input, lambda x: pyconv.adaptive_avg_pool1d(x, output_size, n_threads=n_threads),
                 lambda gy, size, _: pyconv.adaptive_avg_pool1d_backward(gy, size, n_threads=n_threads))


# ----------------------------------------------------------------------------------------------
# Modules

class _PyconvModule:
    """A torch.nn module whose forward runs on pyconv: the torch class's constructor, attributes,
    parameters and state_dict, plus keyword-only options for pyconv (n_threads; algorithm for
    convolutions)."""

    _OPTIONS = ("n_threads",)

    def __init__(self, *args, **kwargs):
        options = {name: kwargs.pop(name, None) for name in self._OPTIONS}
        super().__init__(*args, **kwargs)
        self._set_options(**options)

    def _set_options(self, n_threads=None, algorithm=None):
        self.n_threads = n_threads
        if "algorithm" in self._OPTIONS:
            self.algorithm = "auto" if algorithm is None else algorithm

    def _options(self):
        return {name: getattr(self, name) for name in self._OPTIONS}

    @classmethod
    def from_torch(cls, module, **options):
        """A pyconv twin of an existing torch module: the same settings, sharing its parameters
        (the same tensors); options as for the constructor."""
        layer = cls.__new__(cls)
        # own copies of the module's registries (parameters, buffers, hooks), the same tensors in them
        layer.__dict__.update({key: value.copy() if isinstance(value, dict) else value
                               for key, value in vars(module).items()})
        layer._set_options(**options)
        return layer


class _PyconvConvolution(_PyconvModule):
    _OPTIONS = ("algorithm", "n_threads")

    def extra_repr(self):
        return super().extra_repr() + f", algorithm={self.algorithm!r}"


class Conv2d(_PyconvConvolution, torch.nn.Conv2d):
    """torch.nn.Conv2d whose forward runs on pyconv (every padding_mode)."""

    def _conv_forward(self, input, weight, bias):
        return conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups,
                      padding_mode=self.padding_mode, **self._options())


class Conv1d(_PyconvConvolution, torch.nn.Conv1d):
    """torch.nn.Conv1d whose forward runs on pyconv (every padding_mode)."""

    def _conv_forward(self, input, weight, bias):
        return conv1d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups,
                      padding_mode=self.padding_mode, **self._options())


class _PyconvTransposed(_PyconvConvolution):
    """A transposed convolution module: forward(input, output_size=None) as torch's, on _function."""

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size, self.stride, self.padding, self.kernel_size,
                                              len(self.kernel_size), self.dilation)
        return self._function(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                              self.groups, self.dilation, **self._options())


class ConvTranspose2d(_PyconvTransposed, torch.nn.ConvTranspose2d):
    """torch.nn.ConvTranspose2d whose forward runs on pyconv (output_size= as in torch)."""
    _function = staticmethod(conv_transpose2d)


class ConvTranspose1d(_PyconvTransposed, torch.nn.ConvTranspose1d):
    """torch.nn.ConvTranspose1d whose forward runs on pyconv (output_size= as in torch)."""
    _function = staticmethod(conv_transpose1d)


class _PyconvPool(_PyconvModule):
    """A pooling module: forward calls _function with the module's attributes named in _ARGS."""

    def forward(self, input):
        return self._function(input, *(getattr(self, name) for name in self._ARGS), **self._options())


_MAX_POOL_ARGS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVG_POOL_ARGS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")


class MaxPool2d(_PyconvPool, torch.nn.MaxPool2d):
    """torch.nn.MaxPool2d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(max_pool2d), _MAX_POOL_ARGS


class MaxPool1d(_PyconvPool, torch.nn.MaxPool1d):
    """torch.nn.MaxPool1d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(max_pool1d), _MAX_POOL_ARGS


class AvgPool2d(_PyconvPool, torch.nn.AvgPool2d):
    """torch.nn.AvgPool2d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(avg_pool2d), _AVG_POOL_ARGS + ("divisor_override",)


class AvgPool1d(_PyconvPool, torch.nn.AvgPool1d):
    """torch.nn.AvgPool1d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(avg_pool1d), _AVG_POOL_ARGS


class AdaptiveAvgPool2d(_PyconvPool, torch.nn.AdaptiveAvgPool2d):
    """torch.nn.AdaptiveAvgPool2d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(adaptive_avg_pool2d), ("output_size",)


class AdaptiveAvgPool1d(_PyconvPool, torch.nn.AdaptiveAvgPool1d):
    """torch.nn.AdaptiveAvgPool1d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(adaptive_avg_pool1d), ("output_size",)


class AdaptiveMaxPool2d(_PyconvPool, torch.nn.AdaptiveMaxPool2d):
    """torch.nn.AdaptiveMaxPool2d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(adaptive_max_pool2d), ("output_size", "return_indices")


class AdaptiveMaxPool1d(_PyconvPool, torch.nn.AdaptiveMaxPool1d):
    """torch.nn.AdaptiveMaxPool1d whose forward runs on pyconv."""
    _function, _ARGS = staticmethod(adaptive_max_pool1d), ("output_size", "return_indices")


class FusedConv2d(torch.nn.Module):
    """An inference-only convolution with its output stage fused (pyconv.conv2d's activation=
    and residual=): y = activation(conv(x) + bias + residual), BatchNorm already folded into
    weight and bias. Made by convert(model, fuse=True); its tensors are buffers, not
    parameters, and it refuses inputs that need a gradient. The weight is packed once for the
    kernels (pyconv.PackedWeight), and again only after the weight buffer changes (a new
    tensor, or an in-place change: its version counter)."""

    def __init__(self, weight, bias, stride, padding, dilation, groups, activation=None, *,
                 algorithm="auto", n_threads=None):
        super().__init__()
        self.register_buffer("weight", weight.detach().contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().contiguous())
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.activation = activation
        self.algorithm, self.n_threads = algorithm, n_threads
        # (the weight tensor when packed -- held, so that no new tensor can take its address --,
        # its version counter then, the groups, the PackedWeight)
        self._packed = (None, None, None, None)

    def _packed_weight(self):
        """The weight as a PackedWeight, packed when the buffer is new or changed since."""
        tensor, version, groups, packed = self._packed
        if tensor is not self.weight or version != self.weight._version or groups != self.groups:
            packed = pyconv.PackedWeight(_as_numpy(self.weight, "weight"), self.groups)
            self._packed = (self.weight, self.weight._version, self.groups, packed)
        return packed

    def forward(self, input, residual=None):
        if torch.is_grad_enabled() and (input.requires_grad or (residual is not None and residual.requires_grad)):
            raise RuntimeError("FusedConv2d is inference-only: its input needs a gradient; run under "
                               "torch.no_grad(), or convert without fuse=True to train")
        _check_same_dtype(input, self.weight, "weight")

        def run(x, r):
            return torch.from_numpy(pyconv.conv2d(
                _as_numpy(x, "input"), self._packed_weight(),
                None if self.bias is None else _as_numpy(self.bias, "bias"), self.stride, self.padding,
                self.dilation, self.groups, algorithm=self.algorithm, n_threads=self.n_threads,
                activation=self.activation, residual=None if r is None else _as_numpy(r, "residual")))
        if input.dim() == 3:
            return run(input.unsqueeze(0), None if residual is None else residual.unsqueeze(0)).squeeze(0)
        return run(input, residual)

    def extra_repr(self):
        return (f"{self.weight.shape[1] * self.groups}, {self.weight.shape[0]}, kernel_size="
                f"{tuple(self.weight.shape[2:])}, stride={self.stride}, padding={self.padding}, "
                f"activation={self.activation!r}")


# The activations FusedConv2d applies, as modules and as functions in a traced graph.
_ACTIVATION_MODULES = {torch.nn.ReLU: "relu", torch.nn.ReLU6: "relu6", torch.nn.SiLU: "silu",
                       torch.nn.Sigmoid: "sigmoid", torch.nn.Tanh: "tanh"}
_ACTIVATION_FUNCTIONS = {torch.relu: "relu", torch.nn.functional.relu: "relu",
                         torch.nn.functional.relu6: "relu6", torch.nn.functional.silu: "silu",
                         torch.sigmoid: "sigmoid", torch.tanh: "tanh"}


def _fold_batch_norm(conv, bn):
    """(weight, bias) of conv followed by an eval-mode bn, as one convolution."""
    scale = bn.weight.detach() if bn.affine else torch.ones_like(bn.running_var)
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(bn.running_mean)
    scale = scale / torch.sqrt(bn.running_var + bn.eps)
    weight = conv.weight.detach() * scale.reshape(-1, 1, 1, 1).to(conv.weight.dtype)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return weight, ((bias - bn.running_mean) * scale + shift).to(conv.weight.dtype)


def _activation_of(node, modules):
    """The name of the activation node applies to its one argument, or None."""
    if node.op == "call_module" and type(modules[node.target]) in _ACTIVATION_MODULES:
        return _ACTIVATION_MODULES[type(modules[node.target])]
    if node.op == "call_function" and node.target in _ACTIVATION_FUNCTIONS and len(node.args) == 1:
        return _ACTIVATION_FUNCTIONS[node.target]
    return None


def _only_user(node):
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _fuse(module, n_threads):
    """The traced module with each Conv2d [-> BatchNorm2d] [-> + residual] [-> activation]
    chain replaced by one FusedConv2d."""
    import torch.fx

    graph_module = torch.fx.symbolic_trace(module)
    modules = dict(graph_module.named_modules())
    graph = graph_module.graph
    for node in list(graph.nodes):
        if node.op != "call_module" or type(modules.get(node.target)) is not torch.nn.Conv2d:
            continue
        conv = modules[node.target]
        if conv.padding_mode != "zeros":
            continue
        last, weight, bias = node, conv.weight, conv.bias
        nxt = _only_user(last)
        if nxt is not None and nxt.op == "call_module" and isinstance(modules[nxt.target], torch.nn.BatchNorm2d):
            bn = modules[nxt.target]
            if bn.training or not bn.track_running_stats:
                raise ValueError(f"fuse: {nxt.target} is a BatchNorm2d in training mode (or without "
                                 f"running statistics); folding it would change what the model "
                                 f"computes: call model.eval() first")
            weight, bias = _fold_batch_norm(conv, bn)
            last, nxt = nxt, _only_user(nxt)
        residual = None
        if nxt is not None and nxt.op == "call_function" and nxt.target in (operator.add, torch.add) \
                and len(nxt.args) == 2 and not nxt.kwargs:
            other = nxt.args[1] if nxt.args[0] is last else nxt.args[0]
            if isinstance(other, torch.fx.Node) and other is not last:
                residual, last, nxt = other, nxt, _only_user(nxt)
        activation = None if nxt is None else _activation_of(nxt, modules)
        if activation is not None:
            last = nxt
        if last is node:
            continue  # nothing to fuse: convert() swaps it for a pyconv Conv2d
        name = node.target.replace(".", "_") + "_fused"
        modules[name] = FusedConv2d(weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups,
                                    activation, n_threads=n_threads)
        graph_module.add_submodule(name, modules[name])
        with graph.inserting_after(last):
            fused = graph.call_module(name, (node.args[0],) if residual is None else (node.args[0], residual))
        last.replace_all_uses_with(fused)
        graph.eliminate_dead_code()
    graph.lint()
    graph_module.recompile()
    graph_module.delete_all_unused_submodules()
    return graph_module


_TWINS = {torch.nn.Conv1d: Conv1d, torch.nn.Conv2d: Conv2d, torch.nn.ConvTranspose1d: ConvTranspose1d,
          torch.nn.ConvTranspose2d: ConvTranspose2d, torch.nn.MaxPool1d: MaxPool1d, torch.nn.MaxPool2d: MaxPool2d,
          torch.nn.AvgPool1d: AvgPool1d, torch.nn.AvgPool2d: AvgPool2d, torch.nn.AdaptiveAvgPool1d: AdaptiveAvgPool1d,
          torch.nn.AdaptiveAvgPool2d: AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool1d: AdaptiveMaxPool1d,
          torch.nn.AdaptiveMaxPool2d: AdaptiveMaxPool2d}


def convert(module, *, n_threads=None, fuse=False):
    """Swap, in place, every torch.nn module of a kind above (Conv1d/2d, ConvTranspose1d/2d,
    MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvg/MaxPool1d/2d) inside module, at any depth, for its
    pyconv twin sharing the parameters; returns module (replaced if it is one).

    fuse=True (inference): first traces module with torch.fx and replaces each Conv2d, with
    the eval-mode BatchNorm2d, residual add and activation (ReLU, ReLU6, SiLU, Sigmoid, Tanh)
    that directly follow it, by one FusedConv2d; returns the new torch.fx.GraphModule (module
    is left as it is). A BatchNorm2d in training mode raises ValueError: folding it would
    change what the model computes."""
    if fuse:
        return convert(_fuse(module, n_threads), n_threads=n_threads)
    if not isinstance(module, _PyconvModule):
        for torch_class, twin in _TWINS.items():
            if isinstance(module, torch_class):
                return twin.from_torch(module, n_threads=n_threads)
    for name, child in module.named_children():
        setattr(module, name, convert(child, n_threads=n_threads))
    return module
