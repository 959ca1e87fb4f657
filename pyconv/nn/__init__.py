"""pyconv.nn: a thin layer API on top of pyconv's functional ops, with PyTorch's names.

Modules compute forward(x) on NumPy arrays and, given the gradient of a loss w.r.t. their
output, backward(grad) returns the gradient w.r.t. their input and accumulates parameter
gradients into Parameter.grad. See pyconv.examples.lenet5 for a training loop."""
from pyconv.nn.containers import Residual, Sequential
from pyconv.nn.init import manual_seed
from pyconv.nn.layers import (AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, Dropout, Flatten,
                              Identity, Linear, MaxPool2d, ReLU, ReLU6, Sigmoid, SiLU, Tanh, Window, same_padding)
from pyconv.nn.loss import MSELoss, SoftmaxCrossEntropy
from pyconv.nn.module import Module, Parameter
from pyconv.nn.normalization import BatchNorm2d
from pyconv.nn.optim import SGD, Adam, Optimizer
from pyconv.nn.utils import output_shape, receptive_field

__all__ = [
    "Adam", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose2d", "Dropout",
    "Flatten", "Identity", "Linear", "MSELoss", "MaxPool2d", "Module", "Optimizer", "Parameter", "ReLU", "ReLU6",
    "Residual", "SGD", "Sequential", "SiLU", "Sigmoid", "SoftmaxCrossEntropy", "Tanh", "Window", "manual_seed",
    "output_shape", "receptive_field", "same_padding",
]
