"""Pooling ops (placeholder: being written)."""


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False, *, n_threads=None):
    raise NotImplementedError


def max_pool2d_backward(grad_output, indices, input_size, *, n_threads=None):
    raise NotImplementedError


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None, *, n_threads=None):
    raise NotImplementedError


def avg_pool2d_backward(grad_output, input_size, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None, *, n_threads=None):
    raise NotImplementedError
