"""Run a PyTorch model's convolutions and max-pools on pyconv's kernels.

    import pyconv.torch as pt
    model.conv1 = pt.Conv2d(3, 8, 3)       # a torch.nn.Conv2d: same parameters and init
    model.conv1 = pt.Conv2d.from_torch(model.conv1)   # or share an existing layer's parameters
    pt.convert(model)                      # or swap every Conv2d / MaxPool2d of a model
    fast = pt.convert(model.eval(), fuse=True)   # inference: BatchNorm folded, ReLU/add fused
    y = pt.conv2d(x, w, b, stride=2)       # differentiable, like torch.nn.functional.conv2d

Tensors must live on the CPU and be float32 or float64. Contiguous tensors reach the kernels
without a copy (Tensor.numpy() shares memory) and results come back through torch.from_numpy,
also without one. Backward runs pyconv's gradient kernels, only for the inputs that need a
gradient. Importing pyconv never imports torch; this module needs it."""
try:
    import torch
except ImportError as exc:
    raise ImportError("pyconv.torch needs PyTorch (pip install torch); the rest of pyconv works without it") from exc

import pyconv

import operator

__all__ = ["Conv2d", "FusedConv2d", "MaxPool2d", "conv2d", "convert", "max_pool2d"]

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


def _batched(op, input, *args):
    """Run op on a 4-d input; a 3-d (C, H, W) input runs as a batch of one, as in PyTorch."""
    if isinstance(input, torch.Tensor) and input.dim() == 3:
        result = op(input.unsqueeze(0), *args)
        if isinstance(result, tuple):
            return tuple(r.squeeze(0) for r in result)
        return result.squeeze(0)
    return op(input, *args)


class _Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, dilation, groups, algorithm, n_threads):
        y = pyconv.conv2d(_as_numpy(input, "input"), _as_numpy(weight, "weight"),
                          None if bias is None else _as_numpy(bias, "bias"), stride, padding, dilation,
                          groups, algorithm=algorithm, n_threads=n_threads)
        ctx.save_for_backward(input, weight)
        ctx.geometry = (stride, padding, dilation, groups)
        ctx.options = {"algorithm": algorithm, "n_threads": n_threads}
        return torch.from_numpy(y)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        gy = _as_numpy(grad_output, "grad_output")
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = torch.from_numpy(pyconv.conv2d_input(
                tuple(input.shape), _as_numpy(weight, "weight"), gy, *ctx.geometry, **ctx.options))
        if ctx.needs_input_grad[1]:
            grad_weight = torch.from_numpy(pyconv.conv2d_weight(
                _as_numpy(input, "input"), tuple(weight.shape), gy, *ctx.geometry, **ctx.options))
        if ctx.needs_input_grad[2]:
            grad_bias = torch.from_numpy(pyconv.conv2d_bias(gy, n_threads=ctx.options["n_threads"]))
        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto",
           n_threads=None):
    """torch.nn.functional.conv2d on pyconv's kernels, differentiable in input, weight and bias.

    input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in/groups, kh, kw); padding as in
    pyconv.conv2d (ints, pairs, "valid", "same", ...). algorithm and n_threads go to pyconv."""
    _check_same_dtype(input, weight, "weight")
    _check_same_dtype(input, bias, "bias")
    return _batched(lambda x: _Conv2dFunction.apply(x, weight, bias, stride, padding, dilation, groups,
                                                    algorithm, n_threads), input)


class _MaxPool2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, kernel_size, stride, padding, dilation, ceil_mode, n_threads):
        y, indices = pyconv.max_pool2d(_as_numpy(input, "input"), kernel_size, stride, padding, dilation,
                                       ceil_mode, return_indices=True, n_threads=n_threads)
        indices = torch.from_numpy(indices)
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.input_shape = tuple(input.shape)
        ctx.n_threads = n_threads
        return torch.from_numpy(y), indices

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output, grad_indices):
        (indices,) = ctx.saved_tensors
        grad_input = pyconv.max_pool2d_backward(_as_numpy(grad_output, "grad_output"), indices.numpy(),
                                                ctx.input_shape, n_threads=ctx.n_threads)
        return torch.from_numpy(grad_input), None, None, None, None, None, None


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               *, n_threads=None):
    """torch.nn.functional.max_pool2d on pyconv's kernels, differentiable in input.

    The indices (returned with return_indices=True) are PyTorch's: int64, flat h*W+w within
    each (n, c) plane, so torch.nn.functional.max_unpool2d accepts them."""
    y, indices = _batched(lambda x: _MaxPool2dFunction.apply(x, kernel_size, stride, padding, dilation,
                                                             ceil_mode, n_threads), input)
    return (y, indices) if return_indices else y


class Conv2d(torch.nn.Conv2d):
    """torch.nn.Conv2d whose forward runs on pyconv: same constructor, parameters, init and
    state_dict, so it replaces a torch layer in a model. Extra keyword-only options: algorithm,
    n_threads (passed to pyconv.conv2d)."""

    def __init__(self, *args, algorithm="auto", n_threads=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.algorithm = algorithm
        self.n_threads = n_threads

    @classmethod
    def from_torch(cls, conv, *, algorithm="auto", n_threads=None):
        """A pyconv Conv2d sharing the parameters (same tensors) of an existing torch.nn.Conv2d."""
        # built on the meta device: no memory and no draw from torch's random generator
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode,
                    device="meta", dtype=conv.weight.dtype, algorithm=algorithm, n_threads=n_threads)
        layer.weight = conv.weight
        layer.bias = conv.bias
        return layer.train(conv.training)

    def _conv_forward(self, input, weight, bias):
        padding = self.padding
        if self.padding_mode != "zeros":
            # as torch.nn.Conv2d does: pad explicitly in the requested mode, then convolve unpadded
            input = torch.nn.functional.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = 0
        return conv2d(input, weight, bias, self.stride, padding, self.dilation, self.groups,
                      algorithm=self.algorithm, n_threads=self.n_threads)

    def extra_repr(self):
        return super().extra_repr() + f", algorithm={self.algorithm!r}"


class MaxPool2d(torch.nn.MaxPool2d):
    """torch.nn.MaxPool2d whose forward runs on pyconv (same constructor and attributes)."""

    def __init__(self, *args, n_threads=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.n_threads = n_threads

    @classmethod
    def from_torch(cls, pool, *, n_threads=None):
        """A pyconv MaxPool2d with the settings of an existing torch.nn.MaxPool2d."""
        return cls(pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.return_indices,
                   pool.ceil_mode, n_threads=n_threads)

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices, n_threads=self.n_threads)


class FusedConv2d(torch.nn.Module):
    """An inference-only convolution with its output stage fused (pyconv.conv2d's activation=
    and residual=): y = activation(conv(x) + bias + residual), BatchNorm already folded into
    weight and bias. Made by convert(model, fuse=True); its tensors are buffers, not
    parameters, and it refuses inputs that need a gradient."""

    def __init__(self, weight, bias, stride, padding, dilation, groups, activation=None, *,
                 algorithm="auto", n_threads=None):
        super().__init__()
        self.register_buffer("weight", weight.detach().contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().contiguous())
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.activation = activation
        self.algorithm, self.n_threads = algorithm, n_threads

    def forward(self, input, residual=None):
        if torch.is_grad_enabled() and (input.requires_grad or (residual is not None and residual.requires_grad)):
            raise RuntimeError("FusedConv2d is inference-only: its input needs a gradient; run under "
                               "torch.no_grad(), or convert without fuse=True to train")
        _check_same_dtype(input, self.weight, "weight")

        def run(x, r):
            return torch.from_numpy(pyconv.conv2d(
                _as_numpy(x, "input"), _as_numpy(self.weight, "weight"),
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


def convert(module, *, n_threads=None, fuse=False):
    """Swap, in place, every torch.nn.Conv2d and torch.nn.MaxPool2d inside module (at any
    depth) for its pyconv twin, sharing the parameters; returns module (replaced if it is one).

    fuse=True (inference): first traces module with torch.fx and replaces each Conv2d, with
    the eval-mode BatchNorm2d, residual add and activation (ReLU, ReLU6, SiLU, Sigmoid, Tanh)
    that directly follow it, by one FusedConv2d; returns the new torch.fx.GraphModule (module
    is left as it is). A BatchNorm2d in training mode raises ValueError: folding it would
    change what the model computes."""
    if fuse:
        return convert(_fuse(module, n_threads), n_threads=n_threads)
    if isinstance(module, torch.nn.Conv2d) and not isinstance(module, Conv2d):
        return Conv2d.from_torch(module, n_threads=n_threads)
    if isinstance(module, torch.nn.MaxPool2d) and not isinstance(module, MaxPool2d):
        return MaxPool2d.from_torch(module, n_threads=n_threads)
    for name, child in module.named_children():
        setattr(module, name, convert(child, n_threads=n_threads))
    return module
