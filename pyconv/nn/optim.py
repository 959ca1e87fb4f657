"""Optimisers with PyTorch's update rules; they update each Parameter's .data in place."""
import math

import numpy as np

from pyconv.nn.module import Parameter


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}]: expected a Parameter, got {type(p).__name__}")
        if not self.params:
            raise ValueError("params: got an empty parameter list")
        self.lr = _non_negative(lr, "lr")

    def zero_grad(self):
        for p in self.params:
            p.grad.fill(0)

    def step(self):
        raise NotImplementedError


def _non_negative(value, name):
    value = float(value)
    if not value >= 0.0:
        raise ValueError(f"{name}: expected a number >= 0, got {value}")
    return value


class SGD(Optimizer):
    """g = grad + weight_decay * p; with momentum, buf = g on the first step and
    buf = momentum * buf + g afterwards, g = buf; then p -= lr * g (torch.optim.SGD)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = _non_negative(momentum, "momentum")
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        self._buffers = [None] * len(self.params)

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                if self._buffers[i] is None:
                    self._buffers[i] = np.array(g, copy=True)
                else:
                    self._buffers[i] *= self.momentum
                    self._buffers[i] += g
                g = self._buffers[i]
            p.data -= self.lr * g


class Adam(Optimizer):
    """torch.optim.Adam: m and v are running means of g and g^2, and
    p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        beta1, beta2 = (float(b) for b in betas)
        for k, b in enumerate((beta1, beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"betas[{k}]: expected a number in [0, 1), got {b}")
        self.betas = (beta1, beta2)
        self.eps = _non_negative(eps, "eps")
        self._m = [np.zeros_like(p.data) for p in self.params]
        self._v = [np.zeros_like(p.data) for p in self.params]
        self._t = 0

    def step(self):
        self._t += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1.0 - beta1 ** self._t)
        root_correction2 = math.sqrt(1.0 - beta2 ** self._t)
        for p, m, v in zip(self.params, self._m, self._v):
            m *= beta1
            m += (1.0 - beta1) * p.grad
            v *= beta2
            v += (1.0 - beta2) * p.grad * p.grad
            p.data -= step_size * m / (np.sqrt(v) / root_correction2 + self.eps)
