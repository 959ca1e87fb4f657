"""Convolution ops (placeholder: being written)."""


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto", out=None, n_threads=None):
    raise NotImplementedError


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto", n_threads=None):
    raise NotImplementedError


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto", n_threads=None):
    raise NotImplementedError


def im2col(input, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    raise NotImplementedError


def col2im(input, output_size, kernel_size, dilation=1, padding=0, stride=1, *, n_threads=None):
    raise NotImplementedError
