"""conv1d (incl. causal) and conv_transpose2d against pyconv.reference and torch."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import pyconv
from pyconv import reference

DTYPES = [np.float32, np.float64]
ALGORITHMS = ["auto", "direct", "im2col"]


def tolerance(dtype, k, *arrays):
    """Absolute error bound for sums of k products of the arrays' magnitudes (plus a bias)."""
    scale = np.prod([float(np.max(np.abs(a), initial=1.0)) for a in arrays])
    return 8 * np.finfo(dtype).eps * k * scale


def assert_close(actual, expected, atol):
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)


@st.composite
def conv1d_cases(draw):
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(0, 2)), groups * draw(st.integers(1, 3))
    k, dilation, stride = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    causal = draw(st.booleans())
    padding = 0 if causal else draw(st.one_of(st.integers(0, 4), st.sampled_from(["valid", "same", "full"])))
    if padding == "same":
        stride = 1
    length = draw(st.integers(1, 12))
    pads = (k - 1) * dilation if causal else {"valid": 0, "same": (k - 1) * dilation, "full": 2 * (k - 1) * dilation}.get(
        padding, 2 * padding if isinstance(padding, int) else 0)
    assume(length + pads >= (k - 1) * dilation + 1)
    return dict(n=draw(st.integers(0, 3)), c_in=c_in, c_out=c_out, k=k, length=length, groups=groups,
                stride=stride, dilation=dilation, padding=padding, causal=causal,
                bias=draw(st.booleans()), dtype=draw(st.sampled_from(DTYPES)),
                algorithm=draw(st.sampled_from(ALGORITHMS)), seed=draw(st.integers(0, 2 ** 16)))


def conv1d_arrays(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.uniform(-1, 1, (case["n"], case["c_in"], case["length"])).astype(case["dtype"])
    w = rng.uniform(-1, 1, (case["c_out"], case["c_in"] // case["groups"], case["k"])).astype(case["dtype"])
    b = rng.uniform(-1, 1, case["c_out"]).astype(case["dtype"]) if case["bias"] else None
    return x, w, b


@given(conv1d_cases())
def test_conv1d_matches_reference(case):
    x, w, b = conv1d_arrays(case)
    x_before, w_before = x.copy(), w.copy()
    geometry = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
                    groups=case["groups"])
    y = pyconv.conv1d(x, w, b, **geometry, causal=case["causal"], algorithm=case["algorithm"])
    expected = reference.conv1d(x, w, b, **geometry, causal=case["causal"])
    assert_close(y, expected, tolerance(case["dtype"], w[0].size + 1, x, w))
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(w, w_before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_causal_sees_only_the_past(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 16)).astype(dtype)
    w = rng.standard_normal((4, 3, 3)).astype(dtype)
    y = pyconv.conv1d(x, w, causal=True, dilation=2)
    assert y.shape == (2, 4, 16)
    future = x.copy()
    future[:, :, 9:] = rng.standard_normal((2, 3, 7))
    np.testing.assert_array_equal(pyconv.conv1d(future, w, causal=True, dilation=2)[:, :, :9], y[:, :, :9])


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_out_is_written_in_place(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 10)).astype(dtype)
    w = rng.standard_normal((6, 2, 3)).astype(dtype)
    out = np.full((2, 6, 8), np.nan, dtype=dtype)
    result = pyconv.conv1d(x, w, groups=2, out=out)
    assert result is out
    assert_close(out, reference.conv1d(x, w, groups=2), tolerance(dtype, 6, x, w))


@st.composite
def transpose_cases(draw):
    groups = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = (draw(st.integers(0, 4)), draw(st.integers(0, 4)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    out = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1
           for i, s, p, d, k, op in zip(size, stride, padding, dilation, kernel, output_padding)]
    assume(min(out) >= 1)
    return dict(n=draw(st.integers(0, 2)), c_in=groups * draw(st.integers(0, 2)),
                c_out=groups * draw(st.integers(1, 2)), groups=groups, kernel=kernel, stride=stride,
                dilation=dilation, padding=padding, output_padding=output_padding, size=size,
                bias=draw(st.booleans()), dtype=draw(st.sampled_from(DTYPES)),
                algorithm=draw(st.sampled_from(ALGORITHMS)), seed=draw(st.integers(0, 2 ** 16)))


def transpose_arrays(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.uniform(-1, 1, (case["n"], case["c_in"], *case["size"])).astype(case["dtype"])
    w = rng.uniform(-1, 1, (case["c_in"], case["c_out"] // case["groups"], *case["kernel"])).astype(case["dtype"])
    b = rng.uniform(-1, 1, case["c_out"]).astype(case["dtype"]) if case["bias"] else None
    return x, w, b


def transpose_geometry(case):
    return dict(stride=case["stride"], padding=case["padding"], output_padding=case["output_padding"],
                groups=case["groups"], dilation=case["dilation"])


@given(transpose_cases())
def test_conv_transpose2d_matches_reference(case):
    x, w, b = transpose_arrays(case)
    x_before, w_before = x.copy(), w.copy()
    y = pyconv.conv_transpose2d(x, w, b, **transpose_geometry(case), algorithm=case["algorithm"])
    expected = reference.conv_transpose2d(x, w, b, **transpose_geometry(case))
    k = case["c_in"] // case["groups"] * case["kernel"][0] * case["kernel"][1] + 1
    assert_close(y, expected, tolerance(case["dtype"], k, x, w))
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(w, w_before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose2d_no_input_channels(dtype):
    bias = np.arange(6, dtype=dtype)
    y = pyconv.conv_transpose2d(np.zeros((2, 0, 3, 4), dtype), np.zeros((0, 3, 2, 2), dtype), bias, groups=2)
    np.testing.assert_array_equal(y, np.broadcast_to(bias[:, None, None], (2, 6, 4, 5)))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>: the defining property."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 2))
    geometry = dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2)
    y = rng.standard_normal(pyconv.conv2d(x, w, **geometry).shape)
    back = pyconv.conv_transpose2d(y, w, **geometry, output_padding=(0, 1))
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(pyconv.conv2d(x, w, **geometry), y), np.vdot(x, back), rtol=1e-12)


@pytest.fixture(scope="module")
def F():
    return pytest.importorskip("torch").nn.functional


@given(conv1d_cases())
def test_conv1d_matches_torch(F, case):
    import torch
    assume(case["n"] > 0 and case["c_in"] > 0)  # torch's own empty-shape rules differ there
    x, w, b = conv1d_arrays(case)
    geometry = dict(stride=case["stride"], dilation=case["dilation"], groups=case["groups"])
    tx = torch.from_numpy(x)
    if case["causal"]:
        tx = F.pad(tx, ((case["k"] - 1) * case["dilation"], 0))
        padding = 0
    else:
        padding = case["padding"]
    assume(padding != "full")
    expected = F.conv1d(tx, torch.from_numpy(w), None if b is None else torch.from_numpy(b),
                        padding=padding, **geometry).numpy()
    y = pyconv.conv1d(x, w, b, padding=case["padding"], causal=case["causal"], **geometry)
    assert_close(y, expected, 2 * tolerance(case["dtype"], w[0].size + 1, x, w))


@given(transpose_cases())
def test_conv_transpose2d_matches_torch(F, case):
    import torch
    assume(case["n"] > 0 and case["c_in"] > 0)  # torch rejects or reshapes these differently
    x, w, b = transpose_arrays(case)
    expected = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w),
                                  None if b is None else torch.from_numpy(b), **transpose_geometry(case)).numpy()
    y = pyconv.conv_transpose2d(x, w, b, **transpose_geometry(case))
    k = case["c_in"] // case["groups"] * case["kernel"][0] * case["kernel"][1] + 1
    assert_close(y, expected, 2 * tolerance(case["dtype"], k, x, w))


X1, W1 = np.zeros((2, 4, 10)), np.zeros((6, 4, 3))
X2, W2 = np.zeros((2, 4, 5, 5)), np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize("call, error, words", [
    (lambda: pyconv.conv1d(X2, W1), ValueError, ["input", "3-d"]),
    (lambda: pyconv.conv1d(X1, W2), ValueError, ["weight", "3-d"]),
    (lambda: pyconv.conv1d(X1.astype(np.int64), W1), TypeError, ["input", "int64"]),
    (lambda: pyconv.conv1d(X1, W1, padding=1, causal=True), ValueError, ["padding", "causal"]),
    (lambda: pyconv.conv1d(X1, W1, padding="same", causal=True), ValueError, ["padding", "causal"]),
    (lambda: pyconv.conv1d(X1, W1, stride=(1, 2)), ValueError, ["stride", "1-tuple"]),
    (lambda: pyconv.conv1d(X1, W1, dilation=0), ValueError, ["dilation", "positive"]),
    (lambda: pyconv.conv1d(X1, W1, padding=-1), ValueError, ["padding", ">= 0"]),
    (lambda: pyconv.conv1d(X1, np.zeros((6, 2, 3))), ValueError, ["weight", "input channels"]),
    (lambda: pyconv.conv1d(X1, np.zeros((6, 4, 11))), ValueError, ["kernel", "padded input"]),
    (lambda: pyconv.conv1d(X1, W1, out=np.zeros((2, 6, 7))), ValueError, ["out", "shape"]),
    (lambda: pyconv.conv1d(X1, W1, out=np.zeros((2, 6, 1, 8))), ValueError, ["out", "3-d"]),
    (lambda: pyconv.conv1d(X1, W1, out=[0.0]), TypeError, ["out", "ndarray"]),
    (lambda: pyconv.conv_transpose2d(X1[0], W2), ValueError, ["input", "4-d", "got 2-d"]),
    (lambda: pyconv.conv_transpose2d(X2, np.zeros((3, 3, 3, 3))), ValueError, ["weight", "shape[0]"]),
    (lambda: pyconv.conv_transpose2d(X2, W2, groups=3), ValueError, ["groups", "divisor"]),
    (lambda: pyconv.conv_transpose2d(X2, W2, stride=2, output_padding=2), ValueError, ["output_padding", "smaller"]),
    (lambda: pyconv.conv_transpose2d(X2, W2, padding=5), ValueError, ["input", "empty output"]),
    (lambda: pyconv.conv_transpose2d(X2, W2, np.zeros(4)), ValueError, ["bias", "shape"]),
    (lambda: pyconv.conv_transpose2d(X2, W2, stride=0), ValueError, ["stride", "positive"]),
    (lambda: pyconv.conv_transpose2d(X2, np.zeros((4, 3, 0, 3))), ValueError, ["weight", "1x1"]),
    (lambda: pyconv.conv_transpose2d(X2, W2, algorithm="fft"), ValueError, ["algorithm", "fft"]),
    (lambda: pyconv.conv_transpose2d(X2, W2, stride=2 ** 40), MemoryError, ["output", "elements"]),
    # an output no input pixel reaches (no kernel call) still validates every argument
    (lambda: pyconv.conv_transpose2d(X2[:, :, :1, :1], W2[:, :, :1, :1], stride=3, padding=1, output_padding=2,
                                     algorithm="fft"), ValueError, ["algorithm", "fft"]),
    (lambda: pyconv.conv_transpose2d(X2[:, :, :1, :1], W2[:, :, :1, :1], stride=3, padding=1, output_padding=2,
                                     n_threads=0), ValueError, ["n_threads", "got 0"]),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert all(word in message for word in words), message
