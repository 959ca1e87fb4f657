"""1-D and transposed convolution, built on the 2-D kernels.

conv1d runs conv2d on a unit-height view (N, C, 1, L) of its input, so it shares every
algorithm and the zero-copy path. conv_transpose2d is the gradient of conv2d with respect to
its input (the same kernel, PyTorch's semantics), plus a bias."""
import numpy as np

from pyconv._args import as_float_array, as_int, as_pair, check_shape, check_size
from pyconv._threads import effective_n_threads
from pyconv.conv import ALGORITHMS, conv2d, conv2d_input


def _as_single(value, name, *, minimum):
    """An int or a 1-tuple (PyTorch's conv1d accepts both) -> int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name}: expected an int or a 1-tuple, got {len(value)} values {tuple(value)!r}")
        return as_int(value[0], f"{name}[0]", minimum=minimum)
    return as_int(value, name, minimum=minimum)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, causal=False,
           algorithm="auto", out=None, n_threads=None):
    """1-D convolution (cross-correlation) of input (N, C_in, L) with weight (C_out, C_in/groups, k).

    As torch.nn.functional.conv1d; padding is an int, a 1-tuple, "valid", "same" or "full".
    causal=True pads (k-1)*dilation on the left only, so output[t] sees input[<= t*stride] and,
    for stride 1, the output is as long as the input; padding must then be 0. out= (N, C_out,
    L_out), C-contiguous, receives the result in place. Runs on the conv2d kernels."""
    x = as_float_array(input, "input", ndim=3)
    w = as_float_array(weight, "weight", ndim=3)
    stride = _as_single(stride, "stride", minimum=1)
    dilation = _as_single(dilation, "dilation", minimum=1)
    if causal:
        if isinstance(padding, str) or _as_single(padding, "padding", minimum=0) != 0:
            raise ValueError(f"padding: causal=True pads (kernel_size - 1) * dilation on the left itself; "
                             f"expected padding 0, got {padding!r}")
        # max(): a zero-length kernel is reported by conv2d, not as a negative padding
        pad_2d = ((0, 0), (dilation * max(w.shape[2] - 1, 0), 0))
    elif isinstance(padding, str):
        pad_2d = padding
    else:
        pad_2d = (0, _as_single(padding, "padding", minimum=0))
    out_2d = None
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out: expected a numpy.ndarray, got {type(out).__name__}")
        if out.ndim != 3:
            raise ValueError(f"out: expected a 3-d array, got {out.ndim}-d with shape {out.shape}")
        out_2d = out[:, :, np.newaxis, :]
    y = conv2d(x[:, :, np.newaxis, :], w[:, :, np.newaxis, :], bias, (1, stride), pad_2d, (1, dilation),
               groups, algorithm=algorithm, out=out_2d, n_threads=n_threads)
    return out if out is not None else y[:, :, 0, :]


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     *, algorithm="auto", n_threads=None):
    """2-D transposed convolution of input (N, C_in, H, W) with weight (C_in, C_out/groups, kh, kw).

    As torch.nn.functional.conv_transpose2d (note its argument order: groups before dilation).
    The output is (N, C_out, H_out, W_out) with H_out = (H-1)*stride - 2*padding
    + dilation*(kh-1) + output_padding + 1; output_padding must be smaller than stride or
    dilation. It is conv2d's input gradient with input as the output gradient."""
    x = as_float_array(input, "input", ndim=4)
    w = as_float_array(weight, "weight", x.dtype, ndim=4)
    stride = as_pair(stride, "stride", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    output_padding = as_pair(output_padding, "output_padding", minimum=0)
    dilation = as_pair(dilation, "dilation", minimum=1)
    groups = as_int(groups, "groups", minimum=1)
    # checked here too: an output no input pixel reaches needs no kernel call
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm: expected one of {ALGORITHMS}, got {algorithm!r}")
    n_threads = effective_n_threads(n_threads)
    n, c_in, h_in, w_in = x.shape
    if w.shape[0] != c_in:
        raise ValueError(f"weight: expected weight.shape[0] == input channels {c_in} "
                         f"(weight is (C_in, C_out/groups, kh, kw)), got shape {w.shape}")
    if c_in % groups:
        raise ValueError(f"groups: expected a divisor of the input channels {c_in}, got {groups}")
    if w.shape[2] < 1 or w.shape[3] < 1:
        raise ValueError(f"weight: expected a kernel of at least 1x1, got shape {w.shape}")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"output_padding: expected values smaller than stride {stride} or dilation "
                             f"{dilation}, got {output_padding}")
    c_out = w.shape[1] * groups
    kernel = w.shape[2:]
    # Per axis: the full output size, the size the kernel computes and the bottom padding that
    # makes that size's convolution output exactly the input size. output_padding beyond
    # padding + stride - 1 only adds rows no input pixel reaches, which stay zero.
    full, core, pad_after = [], [], []
    for size, k, s, p, op, d in zip((h_in, w_in), kernel, stride, padding, output_padding, dilation):
        base = (size - 1) * s - 2 * p + d * (k - 1) + 1
        full.append(base + op)
        op_core = min(op, p + s - 1)
        core.append(max(base + op_core, 0))
        pad_after.append(max(p - op_core, 0))
    if min(full) < 1 or min(h_in, w_in) < 1:
        raise ValueError(f"input: spatial size {(h_in, w_in)} gives an empty output {tuple(full)} for kernel "
                         f"{tuple(kernel)}, stride {stride}, padding {padding}, dilation {dilation}")
    check_size((n, c_out, full[0], full[1]), "output")
    if bias is not None:
        bias = as_float_array(bias, "bias", x.dtype, ndim=1)
        check_shape(bias, (c_out,), "bias")
    core_shape = (n, c_out, core[0], core[1])
    if min(core) > 0:
        y = conv2d_input(core_shape, w, x, stride,
                         ((padding[0], pad_after[0]), (padding[1], pad_after[1])), dilation, groups,
                         algorithm=algorithm, n_threads=n_threads)
    else:
        y = np.zeros(core_shape, dtype=x.dtype)
    if core != full:
        y_full = np.zeros((n, c_out, full[0], full[1]), dtype=x.dtype)
        y_full[:, :, :core[0], :core[1]] = y
        y = y_full
    if bias is not None:
        y += bias[:, np.newaxis, np.newaxis]
    return y
