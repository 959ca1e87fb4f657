"""Shape arithmetic for networks: output shapes and receptive fields."""
from collections.abc import Mapping

from pyconv.nn.containers import Sequential
from pyconv.nn.layers import Window
from pyconv.nn.module import Module


def output_shape(layer_or_params, input_shape):
    """Shape of the output of a layer (any Module) for an input of input_shape (N, C, H, W).

    layer_or_params may instead be a mapping of window parameters, e.g.
    {"kernel_size": 5, "stride": 2, "padding": "same", "out_channels": 16}: keys as in
    pyconv.nn.Window (stride defaults to 1; stride=None means the pooling default, stride =
    kernel_size; without out_channels the channel count is kept)."""
    if isinstance(layer_or_params, Module):
        return layer_or_params.output_shape(input_shape)
    if isinstance(layer_or_params, Mapping):
        return Window(**layer_or_params).output_shape(input_shape)
    raise TypeError(f"layer_or_params: expected a Module or a mapping of window parameters, "
                    f"got {type(layer_or_params).__name__}")


def receptive_field(layers):
    """(height, width) of the input region one output position of a stack of conv/pool layers
    depends on: r = 1 + sum_l dilation_l * (k_l - 1) * prod_{i<l} stride_i per axis.

    layers: a Module (e.g. a Sequential) or an iterable of Modules. Activations and Dropout do
    not change it; a Residual counts its body; Flatten and Linear are rejected."""
    stack = layers if isinstance(layers, Module) else Sequential(*layers)
    field = stack._receptive_field(((1, 1), (1, 1)))
    return tuple(size for size, _ in field)
