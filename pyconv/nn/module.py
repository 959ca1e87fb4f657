"""Parameter and Module: the base of every layer.

A Module computes forward(x) and, from the gradient of the loss w.r.t. its output, backward(g)
returns the gradient w.r.t. its input and adds the gradients of its parameters into their
.grad. Each layer keeps what its backward needs from its last forward call, so one forward is
followed by at most one backward (as in a training step); a Module is not safe to share
between threads."""
import os

import numpy as np

from pyconv._args import as_float_array
from pyconv.nn.init import as_dtype


class Parameter:
    """A trainable float32/float64 array (.data) and the gradient accumulated into it (.grad,
    same shape and dtype; zeros until a backward pass adds to it). Assigning .data an array of
    another shape or float dtype keeps .grad in step: the gradient is cast to the new dtype (or
    zeroed for a new shape), so backward passes accumulate in the parameter's dtype."""

    def __init__(self, data):
        self._data = as_float_array(data, "data")
        self.grad = np.zeros_like(self._data)

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        self._data = as_float_array(value, "data")
        if self.grad.shape != self._data.shape:
            self.grad = np.zeros_like(self._data)
        elif self.grad.dtype != self._data.dtype:
            self.grad = self.grad.astype(self._data.dtype)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of layers and containers.

    Parameters and sub-modules are found among the instance attributes, in assignment order
    (so a layer's state_dict keys are 'weight', 'bias'; a Sequential's '0.weight', ...).
    Buffers are the arrays a layer keeps besides its parameters (BatchNorm2d's running
    statistics): the attributes named in its class's `buffer_names`; they are saved and loaded
    with the parameters, as in PyTorch's state_dict."""

    buffer_names = ()

    def __init__(self):
        self.training = True

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, x):
        return self.forward(x)

    def output_shape(self, input_shape):
        """Shape of forward(x) for an x of input_shape (batch dimension included)."""
        return tuple(input_shape)

    def _receptive_field(self, field):
        """field: per spatial axis (size, jump) of one output position, seen from the input.
        Layers that act position by position leave it unchanged."""
        return field

    # --- the tree of modules and parameters -------------------------------------------------
    def named_children(self):
        return [(name, value) for name, value in vars(self).items() if isinstance(value, Module)]

    def named_parameters(self, prefix=""):
        result = []
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                result.append((prefix + name, value))
        for name, child in self.named_children():
            result.extend(child.named_parameters(f"{prefix}{name}."))
        return result

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        result = [(prefix + name, getattr(self, name)) for name in self.buffer_names
                  if getattr(self, name) is not None]
        for name, child in self.named_children():
            result.extend(child.named_buffers(f"{prefix}{name}."))
        return result

    def astype(self, dtype):
        """Convert every parameter (and its gradient) and every float buffer to dtype (float32 or
        float64), in place; returns self. Optimisers keep per-parameter state in the old dtype:
        create them after converting."""
        dtype = as_dtype(dtype)
        for p in self.parameters():
            p.data = p.data.astype(dtype, copy=False)
        self._astype_buffers(dtype)
        return self

    def _astype_buffers(self, dtype):
        for name in self.buffer_names:
            value = getattr(self, name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                setattr(self, name, value.astype(dtype, copy=False))
        for _, child in self.named_children():
            child._astype_buffers(dtype)

    def float(self):
        """astype(float32), as torch.nn.Module.float()."""
        return self.astype(np.float32)

    def double(self):
        """astype(float64), as torch.nn.Module.double()."""
        return self.astype(np.float64)

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    def zero_grad(self):
        for p in self.parameters():
            p.grad.fill(0)

    def train(self, mode=True):
        """Training mode (Dropout active) or, with mode=False, evaluation mode. Returns self."""
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    # --- persistence ------------------------------------------------------------------------
    def state_dict(self):
        """{name: copy of the parameter's data}, in parameter order, then the buffers."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(value, copy=True)) for name, value in self.named_buffers())
        return state

    def load_state_dict(self, state_dict):
        """Copy arrays into the parameters and buffers (in place, keeping their dtype). Keys and
        shapes must match exactly; nothing is written when they do not."""
        params = {name: p.data for name, p in self.named_parameters()}
        params.update(self.named_buffers())
        missing = [k for k in params if k not in state_dict]
        unexpected = [k for k in state_dict if k not in params]
        if missing or unexpected:
            raise KeyError(f"state_dict: missing keys {missing}, unexpected keys {unexpected}")
        arrays = {}
        for name, p in params.items():
            value = np.asarray(state_dict[name])
            if value.shape != p.shape:
                raise ValueError(f"state_dict[{name!r}]: expected shape {p.shape}, got {value.shape}")
            arrays[name] = value
        for name, target in params.items():
            np.copyto(target, arrays[name], casting="same_kind")

    def save(self, path):
        """Write state_dict() to an .npz file; a path without the .npz suffix gets it (as
        numpy.savez does), and load(path) finds it again."""
        np.savez(_npz_path(path), **self.state_dict())

    def load(self, path):
        """Load parameters written by save(path)."""
        with np.load(_npz_path(path), allow_pickle=False) as archive:
            self.load_state_dict({name: archive[name] for name in archive.files})
        return self

    def extra_repr(self):
        return ""

    def __repr__(self):
        children = self.named_children()
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines + [")"])


def _npz_path(path):
    """path with the .npz suffix numpy.savez adds (file objects unchanged)."""
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        return path if path.endswith(".npz") else path + ".npz"
    return path


def require_forward(cache, module):
    """The values a module stored in forward; a clear error when backward comes first."""
    if cache is None:
        raise RuntimeError(f"{type(module).__name__}.backward called before forward")
    return cache
