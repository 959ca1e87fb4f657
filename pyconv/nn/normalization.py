"""BatchNorm2d: batch normalisation over (N, H, W) per channel, as torch.nn.BatchNorm2d."""
import numpy as np

from pyconv._args import as_bool, as_float_array, as_int, as_real
from pyconv.nn.init import as_dtype
from pyconv.nn.module import Module, Parameter, require_forward


class BatchNorm2d(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel of (N, C, H, W) input.

    In training mode (or without running statistics) mean and var are the batch's, over N, H
    and W (var biased); running_mean / running_var are then updated as
    running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance
    (times M / (M - 1), M = N * H * W), as PyTorch does; momentum=None averages all batches seen
    (num_batches_tracked). In eval mode the running estimates normalise. affine=False leaves out
    weight (ones) and bias (zeros). Statistics are computed in float64."""

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 dtype=np.float32):
        super().__init__()
        self.num_features = as_int(num_features, "num_features", minimum=1)
        self.eps = as_real(eps, "eps")
        if not self.eps > 0:
            raise ValueError(f"eps: expected a positive number, got {self.eps}")
        self.momentum = None if momentum is None else as_real(momentum, "momentum")
        dtype = as_dtype(dtype)
        affine = as_bool(affine, "affine")
        self.weight = Parameter(np.ones(self.num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_features, dtype)) if affine else None
        if as_bool(track_running_stats, "track_running_stats"):
            self.running_mean = np.zeros(self.num_features, dtype)
            self.running_var = np.ones(self.num_features, dtype)
            self.num_batches_tracked = np.array(0, np.int64)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self._cache = None

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4 or shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: expected input of shape (N, {self.num_features}, H, W), got {shape}")
        return shape

    def _dtype(self):
        return self.weight.dtype if self.weight is not None else (
            self.running_mean.dtype if self.running_mean is not None else None)

    def forward(self, x):
        name = "BatchNorm2d input"
        x = as_float_array(x, name)
        dtype = self._dtype()
        if dtype is not None and x.dtype != dtype:
            raise TypeError(f"{name}: expected dtype {dtype} (the layer's), got {x.dtype}")
        self.output_shape(x.shape)
        batch_stats = self.training or self.running_mean is None
        x64 = x.astype(np.float64)
        if batch_stats:
            count = x.shape[0] * x.shape[2] * x.shape[3]
            if count <= 1 and self.training:
                raise ValueError(f"{name}: expected more than 1 value per channel in training, got shape {x.shape}")
            mean = x64.mean(axis=(0, 2, 3))
            var = x64.var(axis=(0, 2, 3))
            if self.training and self.running_mean is not None:
                self._update_running(mean, var * count / (count - 1))
        else:
            mean, var = self.running_mean.astype(np.float64), self.running_var.astype(np.float64)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x64 - mean[:, None, None]) * inv_std[:, None, None]
        scale = 1.0 if self.weight is None else self.weight.data.astype(np.float64)[:, None, None]
        shift = 0.0 if self.bias is None else self.bias.data.astype(np.float64)[:, None, None]
        self._cache = (x_hat, inv_std, batch_stats, x.dtype)
        return (x_hat * scale + shift).astype(x.dtype)

    def _update_running(self, mean, unbiased_var):
        self.num_batches_tracked += 1
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        for running, batch in ((self.running_mean, mean), (self.running_var, unbiased_var)):
            running *= 1.0 - factor
            running += (factor * batch).astype(running.dtype)

    def backward(self, grad_output):
        x_hat, inv_std, batch_stats, dtype = require_forward(self._cache, self)
        g = as_float_array(grad_output, "BatchNorm2d.backward grad_output")
        if g.shape != x_hat.shape:
            raise ValueError(f"BatchNorm2d.backward grad_output: expected shape {x_hat.shape} (the last output's), "
                             f"got {g.shape}")
        g = g.astype(np.float64)
        sum_g = g.sum(axis=(0, 2, 3))
        sum_g_x_hat = (g * x_hat).sum(axis=(0, 2, 3))
        if self.weight is not None:
            self.weight.grad += sum_g_x_hat.astype(dtype)
            self.bias.grad += sum_g.astype(dtype)
        scale = inv_std if self.weight is None else inv_std * self.weight.data.astype(np.float64)
        if not batch_stats:  # the statistics are constants
            return (g * scale[:, None, None]).astype(dtype)
        count = x_hat.shape[0] * x_hat.shape[2] * x_hat.shape[3]
        centred = g - (sum_g[:, None, None] + x_hat * sum_g_x_hat[:, None, None]) / count
        return (centred * scale[:, None, None]).astype(dtype)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.weight is not None}, "
                f"track_running_stats={self.running_mean is not None}")
