"""Containers: Sequential (a chain of modules) and Residual (body(x) + shortcut(x))."""
import sys

from pyconv.nn.layers import Conv2d, Window
from pyconv.nn.module import Module


class Sequential(Module):
    """Applies its modules in order; backward runs them in reverse.

    Iterable, indexable and sliceable like torch.nn.Sequential (a slice is a new Sequential
    sharing the same module objects)."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def named_children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def output_shape(self, input_shape):
        for layer in self.layers:
            input_shape = layer.output_shape(input_shape)
        return tuple(input_shape)

    def _receptive_field(self, field):
        for layer in self.layers:
            field = layer._receptive_field(field)
        return field

    def summary(self, input_shape, file=None):
        """Print each layer's output shape and parameter count for one sample of input_shape
        (without the batch dimension, e.g. (3, 32, 32)); returns the total parameter count."""
        file = sys.stdout if file is None else file
        shape = (1,) + tuple(input_shape)
        rows = [("Layer", "Output shape", "Parameters")]
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape(shape)
            rows.append((f"{i}: {type(layer).__name__}", str(shape[1:]), f"{layer.num_parameters():,}"))
        total = self.num_parameters()
        widths = [max(len(row[k]) for row in rows) for k in range(3)]
        rule = "-" * (sum(widths) + 4)
        print(f"Input shape: {tuple(input_shape)}", file=file)
        print(rule, file=file)
        for k, row in enumerate(rows):
            print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}", file=file)
            if k == 0:
                print(rule, file=file)
        print(rule, file=file)
        print(f"Total parameters: {total:,}", file=file)
        return total


def _channels_and_stride(module):
    """(in_channels, out_channels, (stride_h, stride_w)) of a stack as seen from outside;
    channels are None when no convolution fixes them."""
    if isinstance(module, Sequential):
        c_in = c_out = None
        stride = (1, 1)
        for layer in module:
            li, lo, ls = _channels_and_stride(layer)
            c_in = li if c_in is None else c_in
            c_out = lo if lo is not None else c_out
            stride = (stride[0] * ls[0], stride[1] * ls[1])
        return c_in, c_out, stride
    if isinstance(module, Residual):
        return _channels_and_stride(module.body)
    if isinstance(module, Conv2d):
        return module.in_channels, module.out_channels, module.stride
    if isinstance(module, Window):
        return None, None, module.stride
    return None, None, (1, 1)


class Residual(Module):
    """body(x) + shortcut(x).

    With shortcut=None the shortcut is decided here, at construction, from the body's layers:
    the identity when the body keeps the channel count and its strides multiply to 1, else a
    1x1 Conv2d(in_channels, out_channels, stride=product of the body's strides, bias=False)
    (ResNet's projection), in the dtype of the body's parameters, initialised from rng.
    Channels are read from the body's first and last Conv2d; a body that changes the shape
    without a Conv2d needs an explicit shortcut. forward checks that both branches agree."""

    def __init__(self, body, shortcut=None, *, rng=None):
        super().__init__()
        if not isinstance(body, Module):
            raise TypeError(f"body: expected a Module, got {type(body).__name__}")
        if shortcut is None:
            c_in, c_out, stride = _channels_and_stride(body)
            if c_in != c_out or stride != (1, 1):
                if c_in is None:
                    raise ValueError(f"Residual: the body changes the stride by {stride} without a "
                                     f"Conv2d; pass shortcut= explicitly")
                dtype = body.parameters()[0].dtype
                shortcut = Conv2d(c_in, c_out, 1, stride=stride, bias=False, dtype=dtype, rng=rng)
        elif not isinstance(shortcut, Module):
            raise TypeError(f"shortcut: expected a Module or None, got {type(shortcut).__name__}")
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        y = self.body(x)
        s = x if self.shortcut is None else self.shortcut(x)
        if y.shape != s.shape:
            raise ValueError(f"Residual: body output shape {y.shape} differs from shortcut output "
                             f"shape {s.shape}")
        return y + s

    def backward(self, grad_output):
        grad_input = self.body.backward(grad_output)
        return grad_input + (grad_output if self.shortcut is None else self.shortcut.backward(grad_output))

    def output_shape(self, input_shape):
        return self.body.output_shape(input_shape)

    def _receptive_field(self, field):
        return self.body._receptive_field(field)
