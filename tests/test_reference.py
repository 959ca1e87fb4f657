"""Tests of pyconv.reference itself: hand-computed cases, central finite differences for every
gradient, and (when torch is importable) agreement with PyTorch on generated shapes/parameters.
All float64 except the dtype checks; tolerances are a few ulps scaled by the reduction length."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pyconv import reference as R
from pyconv._args import conv_padding, output_size

EPS64 = np.finfo(np.float64).eps


def arr(*rows):
    return np.array(rows, dtype=np.float64)


def rand(rng, *shape):
    return rng.standard_normal(shape)


def assert_close(actual, expected, reduction=1, scale=1.0):
    """|actual - expected| <= 16 eps sqrt(reduction) * scale, elementwise (float64 sums)."""
    tol = 16 * EPS64 * math.sqrt(max(reduction, 1)) * scale
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------------------------
# Hand-computed cases

# The lecture's 1-D example: u = [a..f], w = [z, y, x], s = u * w (a true convolution with "same"
# zero padding), so s_i = x u_{i-1} + y u_i + z u_{i+1}. In cross-correlation form (what conv2d
# computes) that is the flipped kernel [x, y, z] with padding 1, as a 1x6 image and a 1x3 kernel.
A, B, C, D, E, F = 2.0, 3.0, 5.0, 7.0, 11.0, 13.0
Z, Y, X = 0.5, -1.5, 4.0
U_VEC = arr(A, B, C, D, E, F)
W_BANDED = arr(                       # ds/du
    [Y, Z, 0, 0, 0, 0],
    [X, Y, Z, 0, 0, 0],
    [0, X, Y, Z, 0, 0],
    [0, 0, X, Y, Z, 0],
    [0, 0, 0, X, Y, Z],
    [0, 0, 0, 0, X, Y],
)
U_MATRIX = arr(                       # ds/dw, columns in the lecture's order (z, y, x)
    [B, A, 0],
    [C, B, A],
    [D, C, B],
    [E, D, C],
    [F, E, D],
    [0, F, E],
)
LECTURE_CONV = dict(stride=1, padding=(0, 1))


def lecture_input():
    return U_VEC.reshape(1, 1, 1, 6)


def lecture_weight():
    return arr(X, Y, Z).reshape(1, 1, 1, 3)


def test_lecture_1d_forward_is_banded_matrix_times_u():
    s = R.conv2d(lecture_input(), lecture_weight(), **LECTURE_CONV).ravel()
    np.testing.assert_array_equal(s, W_BANDED @ U_VEC)
    np.testing.assert_array_equal(s, U_MATRIX @ arr(Z, Y, X))
    np.testing.assert_array_equal(s, arr(Y * A + Z * B, X * A + Y * B + Z * C, X * B + Y * C + Z * D,
                                         X * C + Y * D + Z * E, X * D + Y * E + Z * F, X * E + Y * F))


def unit_grads(fn, n):
    """Row k = fn(e_k): the Jacobian of s, one output unit vector at a time."""
    return np.stack([fn(np.eye(n)[k].reshape(1, 1, 1, n)).ravel() for k in range(n)])


def test_lecture_1d_input_gradient_is_banded_matrix():
    jac = unit_grads(lambda g: R.conv2d_input((1, 1, 1, 6), lecture_weight(), g, **LECTURE_CONV), 6)
    np.testing.assert_array_equal(jac, W_BANDED)


def test_lecture_1d_weight_gradient_is_u_matrix():
    jac = unit_grads(lambda g: R.conv2d_weight(lecture_input(), (1, 1, 1, 3), g, **LECTURE_CONV), 6)
    np.testing.assert_array_equal(jac[:, ::-1], U_MATRIX)   # conv2d's weight is the flipped [x, y, z]


POOL_INPUT = arr([1, 1, 2, 5], [5, 7, 7, 8], [3, 1, 1, 0], [1, 2, 3, 4]).reshape(1, 1, 4, 4)


def test_max_pool_hand():
    values, indices = R.max_pool2d(POOL_INPUT, 2, 2, return_indices=True)
    np.testing.assert_array_equal(values[0, 0], arr([7, 8], [3, 4]))
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [8, 15]])   # ties (7, 7) -> first
    assert indices.dtype == np.int64
    grad = R.max_pool2d_backward(arr([1, 2], [3, 4]).reshape(1, 1, 2, 2), indices, (1, 1, 4, 4))
    expected = np.zeros(16)
    expected[[5, 7, 8, 15]] = [1, 2, 3, 4]
    np.testing.assert_array_equal(grad.ravel(), expected)


def test_avg_pool_hand():
    np.testing.assert_array_equal(R.avg_pool2d(POOL_INPUT, 2)[0, 0], arr([3.5, 5.5], [1.75, 2]))
    grad = R.avg_pool2d_backward(arr([4, 8], [12, 16]).reshape(1, 1, 2, 2), (1, 1, 4, 4), 2)
    np.testing.assert_array_equal(grad[0, 0], np.kron(arr([1, 2], [3, 4]), np.ones((2, 2))))


def test_max_pool_overlapping_windows_accumulate_gradient():
    values, indices = R.max_pool2d(POOL_INPUT, 3, 1, return_indices=True)
    np.testing.assert_array_equal(values[0, 0], arr([7, 8], [7, 8]))
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [5, 7]])
    grad = R.max_pool2d_backward(np.ones((1, 1, 2, 2)), indices, (1, 1, 4, 4))
    assert grad[0, 0, 1, 1] == 2 and grad[0, 0, 1, 3] == 2 and grad.sum() == 4


def test_max_pool_padding_is_never_chosen():
    x = np.full((1, 1, 1, 3), -np.inf)
    values, indices = R.max_pool2d(x, (1, 3), 1, (0, 1), return_indices=True)
    np.testing.assert_array_equal(values.ravel(), [-np.inf] * 3)
    np.testing.assert_array_equal(indices.ravel(), [0, 0, 1])   # first in-bounds element
    values, indices = R.max_pool2d(-np.ones((1, 1, 2, 2)), 2, 1, 1, return_indices=True)
    np.testing.assert_array_equal(values, -np.ones((1, 1, 3, 3)))   # not the padding's -inf/0
    np.testing.assert_array_equal(indices[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])


def test_max_pool_nan_wins_first_nan():
    x = arr(1, np.nan, 5, np.nan, 9).reshape(1, 1, 1, 5)
    values, indices = R.max_pool2d(x, (1, 5), return_indices=True)
    assert np.isnan(values).all() and indices.ravel().tolist() == [1]
    values, indices = R.max_pool2d(x, (1, 2), 1, return_indices=True)
    assert np.isnan(values).all() and indices.ravel().tolist() == [1, 1, 3, 3]


def test_max_pool_dilation_and_ceil_mode():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    values, indices = R.max_pool2d(x, 2, 1, dilation=3, return_indices=True)
    np.testing.assert_array_equal(values[0, 0], arr([18, 19], [23, 24]))
    values = R.max_pool2d(x, 2, 2, ceil_mode=True)
    np.testing.assert_array_equal(values[0, 0], arr([6, 8, 9], [16, 18, 19], [21, 23, 24]))


def test_max_pool_window_without_input_element_is_rejected():
    with pytest.raises(ValueError, match="dilation"):
        R.max_pool2d(np.ones((1, 1, 1, 1)), 2, 1, 1, dilation=2)


def test_avg_pool_divisors():
    ones = np.ones((1, 1, 5, 5))
    np.testing.assert_array_equal(
        R.avg_pool2d(ones, 2, 2, 1, ceil_mode=True)[0, 0],
        arr([.25, .5, .5], [.5, 1, 1], [.5, 1, 1]))   # last window clipped to input + padding
    np.testing.assert_array_equal(R.avg_pool2d(ones, 2, 2, 1, ceil_mode=True, count_include_pad=False),
                                  np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(R.avg_pool2d(ones, 3, 2, 1)[0, 0, 0], [4 / 9, 6 / 9, 4 / 9])
    np.testing.assert_array_equal(R.avg_pool2d(ones, 3, 2, 1, divisor_override=2)[0, 0, 0], [2, 3, 2])
    with pytest.raises(ValueError, match="divisor_override"):
        R.avg_pool2d(ones, 3, divisor_override=0)


def test_conv_padding_stride_dilation_groups_hand():
    ones = np.ones((1, 1, 3, 3))
    np.testing.assert_array_equal(R.conv2d(ones, ones, padding=1)[0, 0], arr([4, 6, 4], [6, 9, 6], [4, 6, 4]))
    np.testing.assert_array_equal(R.conv2d(ones, ones, padding=1, stride=2)[0, 0], arr([4, 4], [4, 4]))
    np.testing.assert_array_equal(R.conv2d(ones, ones, padding="full")[0, 0],
                                  np.outer([1, 2, 3, 2, 1], [1, 2, 3, 2, 1]))
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    dilated = R.conv2d(x, np.ones((1, 1, 2, 2)), dilation=2)[0, 0]
    np.testing.assert_array_equal(dilated, x[0, 0, :3, :3] + x[0, 0, 2:, :3] + x[0, 0, :3, 2:] + x[0, 0, 2:, 2:])
    # "same" with an even kernel: the odd total padding goes bottom/right, as in PyTorch.
    row = arr(1, 2, 3).reshape(1, 1, 1, 3)
    np.testing.assert_array_equal(R.conv2d(row, arr(1, 10).reshape(1, 1, 1, 2), padding="same").ravel(),
                                  [21, 32, 3])
    # Depthwise (groups = channels) with a bias: per-channel scale and shift.
    x = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))])[None]
    y = R.conv2d(x, arr(3, 5).reshape(2, 1, 1, 1), arr(1, -1), groups=2)
    np.testing.assert_array_equal(y[0, :, 0, 0], [4, 9])


def test_conv_empty_channels_and_batch():
    y = R.conv2d(np.ones((2, 0, 3, 3)), np.ones((4, 0, 2, 2)), arr(1, 2, 3, 4))
    np.testing.assert_array_equal(y, np.broadcast_to(arr(1, 2, 3, 4)[:, None, None], (2, 4, 2, 2)))
    assert R.conv2d(np.ones((0, 2, 3, 3)), np.ones((4, 2, 2, 2))).shape == (0, 4, 2, 2)
    assert R.conv2d_input((0, 2, 3, 3), np.ones((4, 2, 2, 2)), np.ones((0, 4, 2, 2))).shape == (0, 2, 3, 3)
    np.testing.assert_array_equal(R.conv2d_weight(np.ones((0, 2, 3, 3)), (4, 2, 2, 2), np.ones((0, 4, 2, 2))),
                                  np.zeros((4, 2, 2, 2)))
    np.testing.assert_array_equal(R.conv2d_bias(np.ones((0, 3, 2, 2))), np.zeros(3))


def test_conv_bias_gradient_hand():
    g = np.arange(24.0).reshape(2, 3, 2, 2)
    np.testing.assert_array_equal(R.conv2d_bias(g), [0 + 1 + 2 + 3 + 12 + 13 + 14 + 15,
                                                     4 + 5 + 6 + 7 + 16 + 17 + 18 + 19,
                                                     8 + 9 + 10 + 11 + 20 + 21 + 22 + 23])


def test_im2col_col2im_hand():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    cols = R.im2col(x, 2)
    np.testing.assert_array_equal(cols[0], arr([0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]))
    np.testing.assert_array_equal(R.col2im(np.ones((1, 4, 4)), (3, 3), 2)[0, 0],
                                  arr([1, 2, 1], [2, 4, 2], [1, 2, 1]))   # overlaps sum
    # Stride larger than the kernel: pixels between windows get nothing back.
    np.testing.assert_array_equal(R.col2im(np.ones((1, 1, 4)), (3, 3), 1, stride=2)[0, 0],
                                  arr([1, 0, 1], [0, 0, 0], [1, 0, 1]))


def test_gemm_hand():
    a, b = arr([1, 2], [3, 4]), arr([5, 6, 7], [8, 9, 10])
    np.testing.assert_array_equal(R.gemm(a, b), arr([21, 24, 27], [47, 54, 61]))
    np.testing.assert_array_equal(R.gemm(a.T, b.T, trans_a=True, trans_b=True, alpha=2),
                                  arr([42, 48, 54], [94, 108, 122]))
    c = np.full((2, 3), np.nan)
    np.testing.assert_array_equal(R.gemm(a, b, c), R.gemm(a, b))   # beta = 0: c is not read
    np.testing.assert_array_equal(R.gemm(a, b, np.ones((2, 3)), beta=-1), arr([20, 23, 26], [46, 53, 60]))
    np.testing.assert_array_equal(R.gemm(np.ones((2, 0)), np.ones((0, 3))), np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_dtype_follows_first_array_argument(dtype):
    rng = np.random.default_rng(1)
    x, w = rand(rng, 1, 2, 5, 5).astype(dtype), rand(rng, 3, 2, 2, 2).astype(dtype)
    g = rand(rng, 1, 3, 4, 4).astype(dtype)
    results = [R.conv2d(x, w), R.conv2d_input(x.shape, w, g), R.conv2d_weight(x, w.shape, g),
               R.conv2d_bias(g), R.im2col(x, 2), R.col2im(R.im2col(x, 2), (5, 5), 2),
               R.max_pool2d(x, 2), R.avg_pool2d(x, 2),
               R.max_pool2d_backward(g, np.zeros(g.shape, np.int64), (1, 3, 5, 5)),
               R.avg_pool2d_backward(g, (1, 3, 8, 8), 2), R.gemm(x[0, 0], x[0, 0])]
    assert all(r.dtype == dtype for r in results)
    # float32 results are the float64 computation rounded once.
    np.testing.assert_array_equal(R.conv2d(x, w), R.conv2d(x.astype(np.float64), w).astype(dtype))


def test_inputs_are_not_modified_and_array_likes_accepted():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x.flags.writeable = False
    big_endian = x.astype(">f8")
    np.testing.assert_array_equal(R.conv2d(big_endian, np.ones((1, 1, 2, 2)).tolist()),
                                  R.conv2d(x, np.ones((1, 1, 2, 2))))
    np.testing.assert_array_equal(R.max_pool2d(np.asfortranarray(x[..., ::-1]), 2),
                                  R.max_pool2d(x[..., ::-1].copy(), 2))
    np.testing.assert_array_equal(x, np.arange(16.0).reshape(1, 1, 4, 4))


G22 = np.ones((1, 1, 2, 2))


@pytest.mark.parametrize("call, error, match", [
    (lambda: R.conv2d(np.ones((1, 2, 4, 4), np.int64), np.ones((1, 2, 2, 2))), TypeError, "input"),
    (lambda: R.conv2d(np.ones((2, 4, 4)), np.ones((1, 2, 2, 2))), ValueError, "input"),
    (lambda: R.conv2d(np.ones((1, 3, 4, 4)), np.ones((1, 2, 2, 2))), ValueError, "weight"),
    (lambda: R.conv2d(np.ones((1, 4, 4, 4)), np.ones((3, 2, 2, 2)), groups=2), ValueError, "groups"),
    (lambda: R.conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 2, 5, 2))), ValueError, "kernel"),
    (lambda: R.conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 2, 2, 2)), np.ones(2)), ValueError, "bias"),
    (lambda: R.conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 2, 2, 2)), stride=0), ValueError, "stride"),
    (lambda: R.conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 2, 2, 2)), padding=-1), ValueError, "padding"),
    (lambda: R.conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 2, 2, 2)), padding="same", stride=2), ValueError, "same"),
    (lambda: R.conv2d_input((1, 2, 4, 4, 1), np.ones((1, 2, 2, 2)), np.ones((1, 1, 3, 3))), ValueError, "input_size"),
    (lambda: R.conv2d_input((1, 2, 4, 4), np.ones((1, 2, 2, 2)), np.ones((1, 1, 2, 3))), ValueError, "grad_output"),
    (lambda: R.conv2d_weight(np.ones((1, 2, 4, 4)), (1, 2, 2, 2), np.ones((1, 2, 3, 3))), ValueError, "grad_output"),
    (lambda: R.col2im(np.ones((1, 4, 5)), (3, 3), 2), ValueError, "input"),
    (lambda: R.col2im(np.ones((1, 5, 4)), (3, 3), 2), ValueError, "input"),
    (lambda: R.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), ValueError, "padding"),
    (lambda: R.max_pool2d(np.ones((1, 1, 2, 2)), 3), ValueError, "kernel_size"),
    (lambda: R.max_pool2d_backward(G22, np.full(G22.shape, 16), (1, 1, 4, 4)), ValueError, "indices"),
    (lambda: R.max_pool2d_backward(G22, np.full(G22.shape, -1), (1, 1, 4, 4)), ValueError, "indices"),
    (lambda: R.max_pool2d_backward(G22, np.zeros(G22.shape), (1, 1, 4, 4)), TypeError, "indices"),
    (lambda: R.max_pool2d_backward(G22, np.zeros((1, 1, 1, 2), int), (1, 1, 4, 4)), ValueError, "indices"),
    (lambda: R.max_pool2d_backward(G22, np.zeros(G22.shape, int), (1, 2, 4, 4)), ValueError, "grad_output"),
    (lambda: R.avg_pool2d_backward(np.ones((1, 1, 3, 2)), (1, 1, 4, 4), 2), ValueError, "grad_output"),
    (lambda: R.gemm(np.ones((2, 3)), np.ones((2, 3))), ValueError, "inner"),
    (lambda: R.gemm(np.ones((2, 3)), np.ones((3, 2)), beta=1.0), ValueError, "c: beta"),
    (lambda: R.gemm(np.ones((2, 3)), np.ones((3, 2)), np.ones((3, 2)), beta=1.0), ValueError, "c: expected shape"),
])
def test_bad_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----------------------------------------------------------------------------------------------
# Central finite differences: every gradient against the forward it differentiates

def numerical_gradient(fn, x, grad_output, step=1e-6):
    """d <fn(x), grad_output> / dx by central differences, one entry at a time (x is small)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += step
        minus[i] -= step
        grad[i] = np.vdot(fn(plus) - fn(minus), grad_output) / (2 * step)
    return grad


CONV_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(1, 3), padding=((0, 2), (1, 0)), dilation=(2, 1)),
    dict(padding="same", dilation=(2, 1)),   # odd total padding in w
    dict(padding="full", groups=2),
    dict(stride=(4, 3), dilation=2, padding=(2, 1), groups=4),   # depthwise, stride > kernel
]


@pytest.mark.parametrize("kwargs", CONV_CASES)
def test_conv_gradients_finite_differences(kwargs):
    rng = np.random.default_rng(2)
    groups = kwargs.get("groups", 1)
    x, w, b = rand(rng, 2, 4, 6, 5), rand(rng, 2 * groups, 4 // groups, 3, 2), rand(rng, 2 * groups)
    y = R.conv2d(x, w, b, **kwargs)
    g = rand(rng, *y.shape)
    # The ops are linear in each argument, so the differences are exact up to rounding.
    tol = dict(rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(R.conv2d_input(x.shape, w, g, **kwargs),
                               numerical_gradient(lambda v: R.conv2d(v, w, b, **kwargs), x, g), **tol)
    np.testing.assert_allclose(R.conv2d_weight(x, w.shape, g, **kwargs),
                               numerical_gradient(lambda v: R.conv2d(x, v, b, **kwargs), w, g), **tol)
    np.testing.assert_allclose(R.conv2d_bias(g),
                               numerical_gradient(lambda v: R.conv2d(x, w, v, **kwargs), b, g), **tol)


POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),                           # overlapping windows
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, divisor_override=5),
]


@pytest.mark.parametrize("kwargs", POOL_CASES)
def test_avg_pool_gradient_finite_differences(kwargs):
    rng = np.random.default_rng(3)
    x = rand(rng, 2, 2, 5, 6)
    y = R.avg_pool2d(x, **kwargs)
    g = rand(rng, *y.shape)
    np.testing.assert_allclose(R.avg_pool2d_backward(g, x.shape, **kwargs),
                               numerical_gradient(lambda v: R.avg_pool2d(v, **kwargs), x, g),
                               rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("kwargs", [dict(p, dilation=d) for p in POOL_CASES if "count_include_pad" not in p
                                    and "divisor_override" not in p for d in (1, 2)])
def test_max_pool_gradient_finite_differences(kwargs):
    rng = np.random.default_rng(4)
    # Distinct values 0.1 apart: a 1e-6 step never changes an argmax, so the pool is locally linear.
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) * 0.1
    y, indices = R.max_pool2d(x, **kwargs, return_indices=True)
    g = rand(rng, *y.shape)
    np.testing.assert_allclose(R.max_pool2d_backward(g, indices, x.shape),
                               numerical_gradient(lambda v: R.max_pool2d(v, **kwargs), x, g),
                               rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=(2, 3)),
    dict(kernel_size=3, stride=2, padding=((1, 2), (0, 1)), dilation=(1, 2)),
    dict(kernel_size=(1, 2), padding="same"),
    dict(kernel_size=2, stride=(1, 4), padding="full"),
])
def test_col2im_is_adjoint_of_im2col(kwargs):
    rng = np.random.default_rng(5)
    x = rand(rng, 2, 3, 7, 8)
    cols = R.im2col(x, **kwargs)
    y = rand(rng, *cols.shape)
    # Both sides sum the same products in different orders: a few eps of the sum of |products|.
    terms = np.vdot(np.abs(cols), np.abs(y))
    np.testing.assert_allclose(np.vdot(cols, y), np.vdot(x, R.col2im(y, x.shape[2:], **kwargs)),
                               rtol=0, atol=16 * EPS64 * terms)


# ----------------------------------------------------------------------------------------------
# Against PyTorch on generated shapes and parameters

@st.composite
def conv_cases(draw):
    """A valid conv2d case: arrays plus kwargs, every padding form included."""
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    form = draw(st.sampled_from(["int", "pair", "asymmetric", "valid", "same", "full"]))
    stride = (1, 1) if form == "same" else (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = {
        "int": draw(st.integers(0, 3)),
        "pair": (draw(st.integers(0, 3)), draw(st.integers(0, 3))),
        "asymmetric": tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2)),
    }.get(form, form)
    top, bottom, left, right = conv_padding(padding, kernel, dilation, stride)
    # Smallest input the dilated kernel fits in once padded, then a few sizes above it.
    h = max(1, dilation[0] * (kernel[0] - 1) + 1 - top - bottom) + draw(st.integers(0, 5))
    w = max(1, dilation[1] * (kernel[1] - 1) + 1 - left - right) + draw(st.integers(0, 5))
    n = draw(st.integers(0, 2))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    x, weight = rand(rng, n, cin, h, w), rand(rng, cout, cin // groups, *kernel)
    bias = rand(rng, cout) if draw(st.booleans()) else None
    return x, weight, bias, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def torch_conv(torch, x, weight, bias, kwargs):
    """torch's conv2d on tensors; padding forms torch lacks (asymmetric, "full") go through F.pad."""
    padding = kwargs["padding"]
    if padding == "full" or (isinstance(padding, tuple) and isinstance(padding[0], tuple)):
        top, bottom, left, right = conv_padding(padding, weight.shape[2:], kwargs["dilation"], kwargs["stride"])
        x = torch.nn.functional.pad(x, (left, right, top, bottom))
        kwargs = dict(kwargs, padding=0)
    return torch.nn.functional.conv2d(x, weight, bias, **kwargs)


@pytest.mark.filterwarnings("ignore:Using padding='same'")   # torch's note that it pads a copy
@given(conv_cases())
def test_conv_against_torch(case):
    torch = pytest.importorskip("torch")
    x, weight, bias, kwargs = case
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    tb = None if bias is None else torch.tensor(bias, requires_grad=True)
    ty = torch_conv(torch, tx, tw, tb, kwargs)
    y = R.conv2d(x, weight, bias, **kwargs)
    reduction = weight[0].size
    scale = np.abs(x).max(initial=1) * np.abs(weight).max(initial=1) + (0 if bias is None else np.abs(bias).max())
    assert y.shape == tuple(ty.shape)
    assert_close(y, ty.detach().numpy(), reduction, scale)
    g = np.random.default_rng(0).standard_normal(y.shape)
    leaves = [t for t in (tx, tw, tb) if t is not None]
    grads = torch.autograd.grad(ty, leaves, torch.tensor(g), allow_unused=True)
    g_scale = np.abs(g).max(initial=1)
    assert_close(R.conv2d_input(x.shape, weight, g, **kwargs), grads[0].numpy(),
                 weight.shape[0] * weight[0, 0].size, g_scale * np.abs(weight).max(initial=1))
    assert_close(R.conv2d_weight(x, weight.shape, g, **kwargs), grads[1].numpy(),
                 g[:, 0].size, g_scale * np.abs(x).max(initial=1))
    if bias is not None:
        assert_close(R.conv2d_bias(g), grads[2].numpy(), g[:, 0].size, g_scale)


@given(conv_cases())
def test_im2col_col2im_against_torch(case):
    torch = pytest.importorskip("torch")
    x, weight, _, kwargs = case
    padding = kwargs["padding"]
    assume(isinstance(padding, int) or (isinstance(padding, tuple) and isinstance(padding[0], int)))
    kwargs = dict(kernel_size=weight.shape[2:], dilation=kwargs["dilation"], padding=padding, stride=kwargs["stride"])
    cols = R.im2col(x, **kwargs)
    np.testing.assert_array_equal(cols, torch.nn.functional.unfold(torch.tensor(x), **kwargs).numpy())
    y = np.random.default_rng(0).standard_normal(cols.shape)
    assert_close(R.col2im(y, x.shape[2:], **kwargs),
                 torch.nn.functional.fold(torch.tensor(y), x.shape[2:], **kwargs).numpy(),
                 weight[0, 0].size, np.abs(y).max(initial=1))


@st.composite
def pool_cases(draw):
    """A pooling case torch may reject (then the reference must reject it too)."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    padding = (draw(st.integers(0, kernel[0] // 2 + 1)), draw(st.integers(0, kernel[1] // 2 + 1)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    shape = (draw(st.integers(0, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    # Few distinct values (ties), sometimes -inf and NaN.
    x = rng.integers(-3, 3, size=shape).astype(np.float64)
    special = draw(st.sampled_from([None, -np.inf, np.nan]))
    if special is not None:
        x[rng.random(shape) < 0.2] = special
    return x, dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=draw(st.booleans())), dilation


def torch_or_error(fn):
    try:
        return fn()
    except RuntimeError:
        return None


def test_output_size_matches_torch_pooling_shapes():
    """pyconv._args.output_size (floor and ceil_mode) against torch's pooled shapes on a grid."""
    torch = pytest.importorskip("torch")
    for size, kernel, stride, dilation, ceil_mode in itertools.product(
            range(1, 9), range(1, 5), range(1, 4), range(1, 3), (False, True)):
        for pad in range(kernel // 2 + 1):
            ours = output_size(size, kernel, stride, dilation, pad, pad, ceil_mode)
            x = torch.zeros(1, 1, size, 1)
            try:
                theirs = torch.nn.functional.max_pool2d(x, (kernel, 1), (stride, 1), (pad, 0), (dilation, 1),
                                                        ceil_mode).shape[2]
            except RuntimeError:
                theirs = None
            assert theirs == (ours if ours >= 1 else None), (size, kernel, stride, dilation, pad, ceil_mode)


@given(pool_cases())
def test_max_pool_against_torch(case):
    torch = pytest.importorskip("torch")
    x, kwargs, dilation = case
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_or_error(
        lambda: torch.nn.functional.max_pool2d(tx, dilation=dilation, return_indices=True, **kwargs))
    if expected is None:
        with pytest.raises(ValueError):
            R.max_pool2d(x, dilation=dilation, **kwargs)
        return
    t_values, t_indices = expected[0].detach().numpy(), expected[1].numpy()
    try:
        values, indices = R.max_pool2d(x, dilation=dilation, return_indices=True, **kwargs)
    except ValueError as exc:
        # The reference rejects windows that miss the input; torch gives -inf and a made-up index.
        assert "no element" in str(exc) and (x.size == 0 or (t_values == -np.inf).any())
        return
    np.testing.assert_array_equal(values, t_values)   # equal_nan by default
    # torch's CPU loop keeps the last NaN; the reference specifies the first. Elsewhere: identical.
    nan = np.isnan(values)
    np.testing.assert_array_equal(indices[~nan], t_indices[~nan])
    n, c, h, w = x.shape
    chosen = np.take_along_axis(x.reshape(n, c, h * w), indices.reshape(n, c, indices.shape[2] * indices.shape[3]), -1)
    assert np.isnan(chosen.reshape(indices.shape)[nan]).all()
    # Backward through torch's own indices, so the NaN choice does not matter.
    g = np.random.default_rng(0).standard_normal(values.shape)
    (t_grad,) = torch.autograd.grad(expected[0], tx, torch.tensor(g))
    np.testing.assert_allclose(R.max_pool2d_backward(g, t_indices, x.shape), t_grad.numpy(), rtol=1e-15, atol=1e-15)


@given(pool_cases(), st.booleans(), st.one_of(st.none(), st.integers(-3, 5).filter(bool)))
def test_avg_pool_against_torch(case, count_include_pad, divisor_override):
    torch = pytest.importorskip("torch")
    x, kwargs, _ = case
    x = np.nan_to_num(x, nan=1.5, neginf=-2.5)
    kwargs = dict(kwargs, count_include_pad=count_include_pad, divisor_override=divisor_override)
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_or_error(lambda: torch.nn.functional.avg_pool2d(tx, **kwargs))
    if expected is None:
        with pytest.raises(ValueError):
            R.avg_pool2d(x, **kwargs)
        return
    values = R.avg_pool2d(x, **kwargs)
    taps = kwargs["kernel_size"][0] * kwargs["kernel_size"][1]
    assert_close(values, expected.detach().numpy(), taps, 3 * taps)
    g = np.random.default_rng(0).standard_normal(values.shape)
    (t_grad,) = torch.autograd.grad(expected, tx, torch.tensor(g))
    assert_close(R.avg_pool2d_backward(g, x.shape, **kwargs), t_grad.numpy(), taps, np.abs(g).max(initial=1))


@given(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.booleans(), st.booleans(),
       st.sampled_from([0.0, 1.0, -0.5]), st.sampled_from([1.0, 2.5]), st.integers(0, 2 ** 32 - 1))
def test_gemm_against_torch(m, n, k, trans_a, trans_b, beta, alpha, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    a = rand(rng, *((k, m) if trans_a else (m, k)))
    b = rand(rng, *((n, k) if trans_b else (k, n)))
    c = rand(rng, m, n)
    expected = torch.addmm(torch.tensor(c), torch.tensor(a.T if trans_a else a), torch.tensor(b.T if trans_b else b),
                           beta=beta, alpha=alpha).numpy()
    scale = alpha * np.abs(a).max(initial=0) * np.abs(b).max(initial=0) + abs(beta) * np.abs(c).max(initial=0)
    assert_close(R.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b), expected, k, scale)
