"""Random number generators and PyTorch's default initialisation.

Every layer that draws random numbers takes rng=: a numpy.random.Generator, an int seed, or
None for the package default generator, which manual_seed(seed) resets (like torch.manual_seed)."""
import math

import numpy as np

from pyconv._args import FLOAT_DTYPES

_default_rng = np.random.default_rng()


def manual_seed(seed):
    """Reset the generator layers use when given rng=None."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def as_generator(rng):
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng: expected a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def as_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def uniform(shape, bound, dtype, rng):
    """U(-bound, bound) drawn in float64 and rounded to dtype."""
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def default_weight_and_bias(weight_shape, fan_in, bias, dtype, rng, bias_size=None):
    """PyTorch's Conv/Linear reset_parameters: kaiming_uniform_(a=sqrt(5)) for the weight,
    whose bound gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a^2)) is 1 / sqrt(fan_in),
    and U(+-1 / sqrt(fan_in)) for the bias (of bias_size, by default weight_shape[0])."""
    rng = as_generator(rng)
    dtype = as_dtype(dtype)
    bound = 1.0 / math.sqrt(fan_in)
    weight = uniform(weight_shape, bound, dtype, rng)
    size = weight_shape[0] if bias_size is None else bias_size
    return weight, (uniform((size,), bound, dtype, rng) if bias else None)
