"""Pooling kernels (max and average, forward and backward, float32 and float64) against
pyconv.reference on generated shapes and parameters, plus hand cases, bad input, memory
layouts, thread counts and concurrent callers.

Max pooling picks input elements, so its values and indices must match exactly. Sums (average
pooling, and the gradients where windows overlap) are checked against a per-element bound:
(terms + 2) * eps(dtype) times the same sum taken over absolute values, which the reference
computes in float64."""
import concurrent.futures
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyconv
from pyconv import reference as R

DTYPES = [np.float32, np.float64]


# ----------------------------------------------------------------------------------------------
# Generated geometry

@st.composite
def pool_cases(draw, dilation=True):
    """(input shape, kwargs) of a pooling; some geometries are invalid on purpose (pyconv must
    then raise as the reference does)."""
    n, c = draw(st.integers(0, 2)), draw(st.integers(0, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kwargs = dict(
        kernel_size=(kh, kw),
        stride=draw(st.none() | st.tuples(st.integers(1, 5), st.integers(1, 5))),
        padding=(draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))),
        ceil_mode=draw(st.booleans()),
    )
    if dilation:
        kwargs["dilation"] = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (n, c, h, w), kwargs


def max_input(rng, shape, dtype):
    """Small integers (so windows hold ties) with some NaN, -inf and +inf."""
    x = rng.integers(-3, 4, size=shape).astype(dtype)
    special = rng.random(shape)
    x[special < 0.05] = np.nan
    x[(special >= 0.05) & (special < 0.12)] = -np.inf
    x[(special >= 0.12) & (special < 0.14)] = np.inf
    return x


def reference_or_none(fn, *args, **kwargs):
    """The reference's result, or None when it rejects the geometry with ValueError."""
    try:
        return fn(*args, **kwargs)
    except ValueError:
        return None


def assert_sum_close(actual, expected, abs_sum, terms, dtype):
    """|actual - expected| <= (terms + 2) * eps * abs_sum elementwise, abs_sum being the sum of
    the absolute values of the terms (from the float64 reference)."""
    tol = (terms + 2) * np.finfo(dtype).eps * np.abs(abs_sum)
    assert actual.dtype == dtype
    np.testing.assert_array_less(np.abs(actual.astype(np.float64) - expected), tol + np.finfo(dtype).tiny)


# ----------------------------------------------------------------------------------------------
# Against the reference

@pytest.mark.parametrize("dtype", DTYPES)
@given(case=pool_cases(), seed=st.integers(0, 2**32 - 1))
def test_max_pool2d_matches_reference(dtype, case, seed):
    shape, kwargs = case
    rng = np.random.default_rng(seed)
    x = max_input(rng, shape, dtype)
    expected = reference_or_none(R.max_pool2d, x, return_indices=True, **kwargs)
    if expected is None:
        with pytest.raises(ValueError):
            pyconv.max_pool2d(x, return_indices=True, **kwargs)
        return
    values, indices = pyconv.max_pool2d(x, return_indices=True, **kwargs)
    assert values.dtype == dtype and indices.dtype == np.int64
    np.testing.assert_array_equal(values, expected[0])
    np.testing.assert_array_equal(indices, expected[1])
    np.testing.assert_array_equal(pyconv.max_pool2d(x, **kwargs), expected[0])

    g = rng.standard_normal(values.shape).astype(dtype)
    grad = pyconv.max_pool2d_backward(g, indices, shape)
    taps = kwargs["kernel_size"][0] * kwargs["kernel_size"][1]
    assert_sum_close(grad, R.max_pool2d_backward(g.astype(np.float64), indices, shape),
                     R.max_pool2d_backward(np.abs(g).astype(np.float64), indices, shape), taps, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@given(case=pool_cases(dilation=False), count_include_pad=st.booleans(),
       divisor_override=st.none() | st.sampled_from([-3, 1, 2, 7]), seed=st.integers(0, 2**32 - 1))
def test_avg_pool2d_matches_reference(dtype, case, count_include_pad, divisor_override, seed):
    shape, kwargs = case
    kwargs.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    expected = reference_or_none(R.avg_pool2d, x.astype(np.float64), **kwargs)
    if expected is None:
        with pytest.raises(ValueError):
            pyconv.avg_pool2d(x, **kwargs)
        return
    taps = kwargs["kernel_size"][0] * kwargs["kernel_size"][1]
    assert_sum_close(pyconv.avg_pool2d(x, **kwargs), expected,
                     R.avg_pool2d(np.abs(x).astype(np.float64), **kwargs), taps, dtype)

    g = rng.standard_normal(expected.shape).astype(dtype)
    assert_sum_close(pyconv.avg_pool2d_backward(g, shape, **kwargs),
                     R.avg_pool2d_backward(g.astype(np.float64), shape, **kwargs),
                     R.avg_pool2d_backward(np.abs(g).astype(np.float64), shape, **kwargs), taps, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kernel, divisor_override", [
    ((2, 3, 7, 7), 7, None),          # a global average pool: one window per plane
    ((1, 4, 9, 10), 3, None),         # side by side, a column past the last window
    ((2, 2, 11, 8), (2, 3), 5),       # rows and columns past the last windows, an override
    ((1, 1, 1, 1), 1, None)])
def test_avg_pool2d_backward_side_by_side_windows(dtype, shape, kernel, divisor_override):
    """Windows that tile the input (stride = kernel, no padding) take the backward's direct
    path: each input value gets its window's share, values past the last window zero."""
    rng = np.random.default_rng(11)
    kwargs = dict(kernel_size=kernel, divisor_override=divisor_override)
    out_shape = pyconv.avg_pool2d(np.zeros(shape, dtype), **kwargs).shape
    g = rng.standard_normal(out_shape).astype(dtype)
    taps = np.prod(np.broadcast_to(kernel, 2))
    for n_threads in (1, 2):
        assert_sum_close(pyconv.avg_pool2d_backward(g, shape, **kwargs, n_threads=n_threads),
                         R.avg_pool2d_backward(g.astype(np.float64), shape, **kwargs),
                         R.avg_pool2d_backward(np.abs(g).astype(np.float64), shape, **kwargs),
                         taps, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(0, 3), c=st.integers(1, 40), h=st.integers(1, 19), w=st.integers(1, 19),
       count_include_pad=st.booleans(), divisor_override=st.none() | st.sampled_from([-3, 1, 7]),
       seed=st.integers(0, 2**32 - 1))
def test_global_avg_pool2d_matches_reference(dtype, n, c, h, w, count_include_pad, divisor_override,
                                             seed):
    """A window covering the whole unpadded plane (a network's global pool) takes its own
    path: each plane summed in vector lanes, any plane size (vector remainders included), at any
    thread count."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    kwargs = dict(kernel_size=(h, w), count_include_pad=count_include_pad,
                  divisor_override=divisor_override)
    expected = R.avg_pool2d(x.astype(np.float64), **kwargs)
    abs_sum = R.avg_pool2d(np.abs(x).astype(np.float64), **kwargs)
    for n_threads in (1, 2):
        actual = pyconv.avg_pool2d(x, **kwargs, n_threads=n_threads)
        assert actual.shape == (n, c, 1, 1)
        assert_sum_close(actual, expected, abs_sum, h * w, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_avg_pool2d_propagates_nan_and_inf(dtype):
    """A NaN anywhere in a plane, or infinities of both signs, make its mean NaN; one
    infinity makes it that infinity."""
    x = np.ones((1, 4, 7, 7), dtype)
    x[0, 0, 6, 6] = np.nan
    x[0, 1, 0, 3] = np.inf
    x[0, 2, 2, 2], x[0, 2, 5, 0] = np.inf, -np.inf
    x[0, 3, 4, 4] = -np.inf
    y = pyconv.avg_pool2d(x, 7)[0, :, 0, 0]
    assert np.isnan(y[0]) and y[1] == np.inf and np.isnan(y[2]) and y[3] == -np.inf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("divisor_override", [None, 5])
def test_global_avg_pool2d_backward_is_each_planes_share(dtype, divisor_override):
    """A global pool's backward gives every value of a plane the plane's g / divisor, rounded
    once, also where a thread's rows end inside a plane (34965 rows in parts of 4370, enough
    work for two threads)."""
    rng = np.random.default_rng(12)
    shape = (5, 999, 7, 7)
    g = rng.standard_normal((5, 999, 1, 1)).astype(dtype)
    expected = np.broadcast_to(g / dtype(49 if divisor_override is None else divisor_override), shape)
    for n_threads in (1, 2):
        np.testing.assert_array_equal(
            pyconv.avg_pool2d_backward(g, shape, 7, divisor_override=divisor_override,
                                       n_threads=n_threads), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n_planes=st.integers(0, 3), h=st.integers(1, 6), w=st.integers(1, 6), oh=st.integers(0, 5),
       ow=st.integers(0, 5), seed=st.integers(0, 2**32 - 1))
def test_max_pool2d_backward_any_indices(dtype, n_planes, h, w, oh, ow, seed):
    """Indices need not come from a pooling: many outputs may hit one element."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, h * w, size=(1, n_planes, oh, ow))
    g = rng.standard_normal(indices.shape).astype(dtype)
    size = (1, n_planes, h, w)
    assert_sum_close(pyconv.max_pool2d_backward(g, indices, size),
                     R.max_pool2d_backward(g.astype(np.float64), indices, size),
                     R.max_pool2d_backward(np.abs(g).astype(np.float64), indices, size), oh * ow, dtype)


# ----------------------------------------------------------------------------------------------
# Hand cases and PyTorch's conventions

POOL_INPUT = np.array([[1, 1, 2, 5], [5, 7, 7, 8], [3, 1, 1, 0], [1, 2, 3, 4]], dtype=np.float64)[None, None]


@pytest.mark.parametrize("dtype", DTYPES)
def test_hand_cases(dtype):
    x = POOL_INPUT.astype(dtype)
    values, indices = pyconv.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(values[0, 0], [[7, 8], [3, 4]])
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [8, 15]])
    np.testing.assert_array_equal(pyconv.avg_pool2d(x, 2)[0, 0], [[3.5, 5.5], [1.75, 2]])
    # 3x3 stride 1: both windows' maxima are the 8 or the first 7 -> overlapping gradient
    values, indices = pyconv.max_pool2d(x, 3, 1, return_indices=True)
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [5, 7]])
    grad = pyconv.max_pool2d_backward(np.ones((1, 1, 2, 2), dtype), indices, x.shape)
    assert grad[0, 0, 1, 1] == 2 and grad[0, 0, 1, 3] == 2 and grad.sum() == 4


def test_ties_nan_and_infinity():
    nan, inf = np.nan, np.inf
    x = np.array([[[[1, nan, 3, nan, 3]]]])
    values, indices = pyconv.max_pool2d(x, (1, 5), return_indices=True)
    assert np.isnan(values[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 1  # the first NaN wins
    values, indices = pyconv.max_pool2d(np.array([[[[2.0, 3, 3, 1]]]]), (1, 4), return_indices=True)
    assert indices[0, 0, 0, 0] == 1  # ties: the first
    # all -inf with padding: the first in-bounds element, never the padding
    values, indices = pyconv.max_pool2d(np.full((1, 1, 2, 3), -inf), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(indices[0, 0], [[0, 0, 1], [0, 0, 1]])
    assert np.all(values == -inf)


def test_three_d_input_is_one_batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 6))
    values, indices = pyconv.max_pool2d(x, 3, 2, 1, return_indices=True)
    expected = pyconv.max_pool2d(x[None], 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(values, expected[0][0])
    np.testing.assert_array_equal(indices, expected[1][0])
    np.testing.assert_array_equal(pyconv.max_pool2d_backward(values, indices, x.shape),
                                  pyconv.max_pool2d_backward(values[None], indices[None], (1,) + x.shape)[0])
    avg = pyconv.avg_pool2d(x, 3, 2, 1)
    np.testing.assert_array_equal(avg, pyconv.avg_pool2d(x[None], 3, 2, 1)[0])
    np.testing.assert_array_equal(pyconv.avg_pool2d_backward(avg, x.shape, 3, 2, 1),
                                  pyconv.avg_pool2d_backward(avg[None], (1,) + x.shape, 3, 2, 1)[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))])
def test_rows_wider_than_one_chunk(dtype, kernel, stride, padding):
    """Output rows longer than the kernels' column chunk (256), on each vectorised path."""
    x = max_input(np.random.default_rng(6), (1, 2, 5, 1100), dtype)
    values, indices = pyconv.max_pool2d(x, kernel, stride, padding, return_indices=True)
    expected = R.max_pool2d(x, kernel, stride, padding, return_indices=True)
    np.testing.assert_array_equal(values, expected[0])
    np.testing.assert_array_equal(indices, expected[1])
    np.testing.assert_array_equal(pyconv.max_pool2d(x, kernel, stride, padding), expected[0])
    finite = np.nan_to_num(x, nan=0.5, posinf=2.0, neginf=-2.0)
    taps = np.prod(np.broadcast_to(kernel, 2))
    assert_sum_close(pyconv.avg_pool2d(finite, kernel, stride, padding),
                     R.avg_pool2d(finite.astype(np.float64), kernel, stride, padding),
                     R.avg_pool2d(np.abs(finite).astype(np.float64), kernel, stride, padding), taps, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", range(15, 36))
def test_2x2_rows_of_8_to_17_outputs(dtype, width):
    """The 2x2 stride-2 path's constant-width blocks, the last overlapping its predecessor."""
    x = max_input(np.random.default_rng(width), (2, 3, 6, width), dtype)
    values, indices = pyconv.max_pool2d(x, 2, return_indices=True)
    expected = R.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(values, expected[0])
    np.testing.assert_array_equal(indices, expected[1])
    np.testing.assert_array_equal(pyconv.max_pool2d(x, 2), expected[0])


def test_int32_relative_index_overflow_takes_the_scalar_path():
    """A stride so large that a chunk's relative indices would overflow int32."""
    w = 2 ** 23 + 1
    x = np.zeros((1, 1, 1, w), np.float32)
    x[0, 0, 0, -1] = 1
    values, indices = pyconv.max_pool2d(x, 1, (1, 2 ** 23), return_indices=True)
    np.testing.assert_array_equal(values[0, 0, 0], [0, 1])
    np.testing.assert_array_equal(indices[0, 0, 0], [0, w - 1])


def test_agrees_with_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 11, 10)).astype(np.float32)
    xt = torch.from_numpy(x)
    for k, s, p, d, ceil in [(2, 2, 0, 1, False), (3, 2, 1, 1, True), ((3, 2), (1, 3), (1, 1), (2, 1), True)]:
        values, indices = pyconv.max_pool2d(x, k, s, p, d, ceil, True)
        tv, ti = F.max_pool2d(xt, k, s, p, d, ceil, True)
        np.testing.assert_array_equal(values, tv.numpy())
        np.testing.assert_array_equal(indices, ti.numpy())
        for include, override in [(True, None), (False, None), (False, -2)]:
            if d != 1:
                continue
            np.testing.assert_allclose(pyconv.avg_pool2d(x, k, s, p, ceil, include, override),
                                       F.avg_pool2d(xt, k, s, p, ceil, include, override).numpy(), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Bad input

X = np.zeros((1, 2, 5, 5), np.float32)
G = np.zeros((1, 2, 2, 2), np.float32)
IND = np.zeros((1, 2, 2, 2), np.int64)


@pytest.mark.parametrize("call, error, name", [
    (lambda: pyconv.max_pool2d(X.astype(np.int32), 2), TypeError, "input"),
    (lambda: pyconv.max_pool2d("abc", 2), TypeError, "input"),
    (lambda: pyconv.max_pool2d(X[0, 0], 2), ValueError, "input"),
    (lambda: pyconv.max_pool2d(np.zeros((1, 1, 0, 4)), 1), ValueError, "input"),
    (lambda: pyconv.max_pool2d(X, 0), ValueError, "kernel_size"),
    (lambda: pyconv.max_pool2d(X, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: pyconv.max_pool2d(X, True), TypeError, "kernel_size"),
    (lambda: pyconv.max_pool2d(X, 2.0), TypeError, "kernel_size"),
    (lambda: pyconv.max_pool2d(X, 6), ValueError, "kernel_size"),
    (lambda: pyconv.max_pool2d(X, 2, 0), ValueError, "stride"),
    (lambda: pyconv.max_pool2d(X, 2, 1, -1), ValueError, "padding"),
    (lambda: pyconv.max_pool2d(X, 3, 1, 2), ValueError, "padding"),
    (lambda: pyconv.max_pool2d(X, 2, dilation=0), ValueError, "dilation"),
    (lambda: pyconv.max_pool2d(np.ones((1, 1, 1, 1)), 2, 1, 1, dilation=2), ValueError, "dilation"),
    (lambda: pyconv.max_pool2d(X, 2, ceil_mode=1), TypeError, "ceil_mode"),
    (lambda: pyconv.max_pool2d(X, 2, return_indices="yes"), TypeError, "return_indices"),
    (lambda: pyconv.max_pool2d(X, 2, n_threads=0), ValueError, "n_threads"),
    (lambda: pyconv.max_pool2d_backward(G, IND.astype(np.float64), X.shape), TypeError, "indices"),
    (lambda: pyconv.max_pool2d_backward(G, IND[..., :1], X.shape), ValueError, "indices"),
    (lambda: pyconv.max_pool2d_backward(G, IND - 1, X.shape), ValueError, "indices"),
    (lambda: pyconv.max_pool2d_backward(G, IND + 25, X.shape), ValueError, "indices"),
    (lambda: pyconv.max_pool2d_backward(G, np.full(G.shape, 2 ** 64 - 1, np.uint64), X.shape), ValueError, "indices"),
    (lambda: pyconv.max_pool2d_backward(G, IND, (1, 3, 5, 5)), ValueError, "grad_output"),
    (lambda: pyconv.max_pool2d_backward(G, IND, (1, 2, 5)), ValueError, "input_size"),
    (lambda: pyconv.max_pool2d_backward(G, IND, (1, 2, -5, 5)), ValueError, "input_size"),
    (lambda: pyconv.max_pool2d_backward(G.astype(np.int64), IND, X.shape), TypeError, "grad_output"),
    (lambda: pyconv.avg_pool2d(X, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: pyconv.avg_pool2d(X, 2, divisor_override=1.5), TypeError, "divisor_override"),
    (lambda: pyconv.avg_pool2d(X, 2, count_include_pad=None), TypeError, "count_include_pad"),
    (lambda: pyconv.avg_pool2d(X, 2, 1, 2), ValueError, "padding"),
    (lambda: pyconv.avg_pool2d_backward(G, X.shape, 3), ValueError, "grad_output"),
    (lambda: pyconv.avg_pool2d_backward(G, (1, 2, 1, 1), 2), ValueError, "kernel_size"),
    (lambda: pyconv.avg_pool2d_backward(G, "shape", 2), TypeError, "input_size"),
])
def test_bad_input_names_the_argument(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_huge_input_size_is_a_memory_error():
    g, size = np.ones((1, 1, 1, 1)), (1, 1, 2 ** 40, 2 ** 40)
    with pytest.raises(MemoryError, match="input_size"):
        pyconv.max_pool2d_backward(g, np.zeros(g.shape, np.int64), size)
    with pytest.raises(MemoryError, match="input_size"):
        pyconv.avg_pool2d_backward(g, size, 2 ** 40)


# ----------------------------------------------------------------------------------------------
# Layouts, threads, concurrency, inputs untouched

def all_ops(x, n_threads=None):
    """Every pooling op on x (N, C, H, W) with overlapping windows, padding and ceil_mode."""
    values, indices = pyconv.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True, n_threads=n_threads)
    shape = np.shape(x)
    avg = pyconv.avg_pool2d(x, 3, 2, 1, ceil_mode=True, n_threads=n_threads)
    return [values, indices, pyconv.max_pool2d(x, (2, 3), 1, dilation=(2, 1), n_threads=n_threads),
            pyconv.max_pool2d_backward(values, indices, shape, n_threads=n_threads), avg,
            pyconv.avg_pool2d_backward(avg, shape, 3, 2, 1, ceil_mode=True, n_threads=n_threads)]


def assert_all_equal(results, expected):
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_memory_layouts_give_the_same_result(dtype):
    rng = np.random.default_rng(2)
    base = rng.standard_normal((2, 3, 18, 21)).astype(dtype)
    x = np.ascontiguousarray(base[:, :, ::2, ::3])
    expected = all_ops(x)
    read_only = x.copy()
    read_only.flags.writeable = False
    swapped = x.astype(x.dtype.newbyteorder(">" if sys.byteorder == "little" else "<"))
    for layout in [read_only, swapped, np.asfortranarray(x), base[:, :, ::2, ::3]]:
        results = all_ops(layout)
        assert results[0].dtype == dtype
        assert_all_equal(results, expected)
    assert_all_equal(all_ops(x.tolist()), all_ops(x.astype(np.float64)))  # lists are float64


def test_one_and_two_threads_agree():
    """One plane, so only the row-level parallelism splits the work."""
    x = np.random.default_rng(3).standard_normal((1, 1, 67, 45)).astype(np.float32)
    assert_all_equal(all_ops(x, n_threads=2), all_ops(x, n_threads=1))
    x = np.random.default_rng(4).standard_normal((3, 5, 20, 17))
    assert_all_equal(all_ops(x, n_threads=2), all_ops(x, n_threads=1))


def test_concurrent_python_threads_agree():
    inputs = [np.random.default_rng(s).standard_normal((2, 4, 30, 31)).astype(np.float32) for s in range(6)]
    expected = [all_ops(x) for x in inputs]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(all_ops, inputs * 2))
    for i, result in enumerate(results):
        assert_all_equal(result, expected[i % len(inputs)])


def test_inputs_are_not_modified():
    x = np.random.default_rng(5).standard_normal((2, 3, 9, 8))
    x_copy = x.copy()
    values, indices = pyconv.max_pool2d(x, 2, return_indices=True)
    values_copy, indices_copy = values.copy(), indices.copy()
    pyconv.max_pool2d_backward(values, indices, x.shape)
    pyconv.avg_pool2d_backward(values, x.shape, 2)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(values, values_copy)
    np.testing.assert_array_equal(indices, indices_copy)


def test_remembered_geometries_keep_every_check():
    """The pooling ops remember a validated geometry per argument set (pyconv.pool._geometry);
    an argument that differs only in type, or a bad grad_output, still gets its own error."""
    x = np.random.default_rng(4).standard_normal((1, 2, 8, 8))
    expected = pyconv.max_pool2d(x, 2, ceil_mode=False)
    for _ in range(2):
        with pytest.raises(TypeError, match="kernel_size"):
            pyconv.max_pool2d(x, True)
        with pytest.raises(TypeError, match="ceil_mode"):
            pyconv.max_pool2d(x, 2, ceil_mode=0)
        with pytest.raises(ValueError, match="grad_output"):
            pyconv.avg_pool2d_backward(np.zeros((1, 2, 3, 3)), x.shape, 2)
        np.testing.assert_array_equal(pyconv.max_pool2d(x, [2, 2], ceil_mode=np.bool_(False)), expected)
        np.testing.assert_array_equal(pyconv.max_pool2d(x, 2, ceil_mode=False), expected)
