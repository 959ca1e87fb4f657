"""torch.nn.functional parity: padding_mode, unbatched inputs, the gradients of conv1d and of the
transposed convolutions, conv_transpose1d, 1-D pools, adaptive pools, max_unpool, unfold / fold
and out=, against pyconv.reference on hypothesis shapes (against torch: test_parity_torch.py)."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from test_conv_variants import (DTYPES, assert_close, conv1d_arrays, conv1d_cases, tolerance, transpose_arrays,
                                transpose_cases, transpose_geometry)

import pyconv
from pyconv import reference

MODES = ["zeros", "reflect", "replicate", "circular"]


def rand(rng, shape, dtype):
    return rng.uniform(-1, 1, shape).astype(dtype)


# ---- conv2d / conv1d: padding_mode and unbatched inputs ------------------------------------------

@st.composite
def padded_cases(draw):
    groups = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(MODES))
    limit = {"reflect": (h - 1, w - 1), "circular": (h, w)}.get(mode, (3, 3))
    padding = (draw(st.integers(0, min(limit[0], 3))), draw(st.integers(0, min(limit[1], 3))))
    stride, dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (draw(st.integers(1, 2)), 1)
    assume(h + 2 * padding[0] >= dilation[0] * (kh - 1) + 1 and w + 2 * padding[1] >= kw)
    return dict(n=draw(st.integers(1, 2)), c_in=groups * draw(st.integers(1, 2)),
                c_out=groups * draw(st.integers(1, 2)), groups=groups, size=(h, w), kernel=(kh, kw), mode=mode,
                padding=padding, stride=stride, dilation=dilation, dtype=draw(st.sampled_from(DTYPES)),
                algorithm=draw(st.sampled_from(["auto", "direct", "im2col"])), seed=draw(st.integers(0, 2 ** 16)))


def padded_arrays(case):
    rng = np.random.default_rng(case["seed"])
    x = rand(rng, (case["n"], case["c_in"], *case["size"]), case["dtype"])
    w = rand(rng, (case["c_out"], case["c_in"] // case["groups"], *case["kernel"]), case["dtype"])
    return x, w, rand(rng, case["c_out"], case["dtype"])


def padded_geometry(case):
    return dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])


@given(padded_cases())
def test_conv2d_padding_mode_and_gradients_match_reference(case):
    x, w, b = padded_arrays(case)
    geo, mode = padded_geometry(case), case["mode"]
    k = w[0].size + 1
    y = pyconv.conv2d(x, w, b, **geo, padding_mode=mode, algorithm=case["algorithm"])
    assert_close(y, reference.conv2d_padded(x, w, b, **geo, padding_mode=mode), tolerance(case["dtype"], k, x, w))
    gy = rand(np.random.default_rng(case["seed"] + 1), y.shape, case["dtype"])
    # the input gradient sums up to taps of several output positions per pixel, times the border copies
    assert_close(pyconv.conv2d_input(x.shape, w, gy, **geo, padding_mode=mode, algorithm=case["algorithm"]),
                 reference.conv2d_padded_input(x.shape, w, gy, **geo, padding_mode=mode),
                 tolerance(case["dtype"], 4 * k * x.shape[1], w, gy))
    assert_close(pyconv.conv2d_weight(x, w.shape, gy, **geo, padding_mode=mode, algorithm=case["algorithm"]),
                 reference.conv2d_padded_weight(x, w.shape, gy, **geo, padding_mode=mode),
                 tolerance(case["dtype"], x.shape[0] * gy[0, 0].size, x, gy))
    # unbatched: each image alone gives its row of the batched result
    assert_close(pyconv.conv2d(x[-1], w, b, **geo, padding_mode=mode), y[-1], tolerance(case["dtype"], k, x, w))
    assert_close(pyconv.conv2d_input(x.shape[1:], w, gy[0], **geo, padding_mode=mode),
                 reference.conv2d_padded_input(x[:1].shape, w, gy[:1], **geo, padding_mode=mode)[0],
                 tolerance(case["dtype"], 4 * k * x.shape[1], w, gy))


@given(conv1d_cases(), st.sampled_from(MODES))
def test_conv1d_gradients_padding_mode_and_unbatched_match_reference(case, mode):
    x, w, b = conv1d_arrays(case)
    assume(case["n"] > 0)
    geo = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"],
               causal=case["causal"])
    k = w[0].size + 1
    y = pyconv.conv1d(x, w, b, **geo, algorithm=case["algorithm"])
    gy = rand(np.random.default_rng(case["seed"] + 1), y.shape, case["dtype"])
    assert_close(pyconv.conv1d_input(x.shape, w, gy, **geo, algorithm=case["algorithm"]),
                 reference.conv1d_input(x.shape, w, gy, **geo), tolerance(case["dtype"], 4 * k, w, gy))
    assert_close(pyconv.conv1d_weight(x, w.shape, gy, **geo, algorithm=case["algorithm"]),
                 reference.conv1d_weight(x, w.shape, gy, **geo), tolerance(case["dtype"], gy[0].size + 1, x, gy))
    assert_close(pyconv.conv1d(x[0], w, b, **geo), y[0], tolerance(case["dtype"], k, x, w))
    pads = {"reflect": case["length"] - 1, "circular": case["length"]}.get(mode, 99)
    if mode != "zeros" and not case["causal"] and isinstance(case["padding"], int) and case["padding"] <= pads \
            and case["c_in"] > 0:
        pad = (0, case["padding"])
        geo2d = dict(stride=(1, case["stride"]), padding=pad, dilation=(1, case["dilation"]), groups=case["groups"])
        expected = reference.conv2d_padded(x[:, :, None], w[:, :, None], b, **geo2d, padding_mode=mode)[:, :, 0]
        assert_close(pyconv.conv1d(x, w, b, case["stride"], case["padding"], case["dilation"], case["groups"],
                                   padding_mode=mode), expected, tolerance(case["dtype"], k, x, w))


# ---- transposed convolutions -------------------------------------------------------------------

@given(transpose_cases())
def test_conv_transpose2d_gradients_and_unbatched_match_reference(case):
    x, w, b = transpose_arrays(case)
    geo = transpose_geometry(case)
    y = pyconv.conv_transpose2d(x, w, b, **geo, algorithm=case["algorithm"])
    gy = rand(np.random.default_rng(case["seed"] + 1), y.shape, case["dtype"])
    taps = case["kernel"][0] * case["kernel"][1]
    assert_close(pyconv.conv_transpose2d_input(x.shape, w, gy, **geo, algorithm=case["algorithm"]),
                 reference.conv_transpose2d_input(x.shape, w, gy, **geo),
                 tolerance(case["dtype"], case["c_out"] * taps, w, gy))
    assert_close(pyconv.conv_transpose2d_weight(x, w.shape, gy, **geo, algorithm=case["algorithm"]),
                 reference.conv_transpose2d_weight(x, w.shape, gy, **geo),
                 tolerance(case["dtype"], max(case["n"], 1) * case["size"][0] * case["size"][1], x, gy))
    if case["n"]:
        k = case["c_in"] // case["groups"] * taps + 1
        assert_close(pyconv.conv_transpose2d(x[0], w, b, **geo), y[0], tolerance(case["dtype"], k, x, w))


@given(transpose_cases())
def test_conv_transpose1d_and_gradients_match_reference(case):
    x, w, b = transpose_arrays(case)
    x, w = np.ascontiguousarray(x[:, :, 0]), np.ascontiguousarray(w[:, :, 0])
    geo = {key: value[1] if isinstance(value, tuple) else value for key, value in transpose_geometry(case).items()}
    length = (x.shape[2] - 1) * geo["stride"] - 2 * geo["padding"] + geo["dilation"] * (w.shape[2] - 1) \
        + geo["output_padding"] + 1
    assume(length >= 1)
    k = case["c_in"] // case["groups"] * w.shape[2] + 1
    y = pyconv.conv_transpose1d(x, w, b, **geo)
    assert_close(y, reference.conv_transpose1d(x, w, b, **geo), tolerance(case["dtype"], k, x, w))
    gy = rand(np.random.default_rng(case["seed"] + 1), y.shape, case["dtype"])
    assert_close(pyconv.conv_transpose1d_input(x.shape, w, gy, **geo),
                 reference.conv_transpose1d_input(x.shape, w, gy, **geo),
                 tolerance(case["dtype"], case["c_out"] * w.shape[2], w, gy))
    assert_close(pyconv.conv_transpose1d_weight(x, w.shape, gy, **geo),
                 reference.conv_transpose1d_weight(x, w.shape, gy, **geo),
                 tolerance(case["dtype"], max(case["n"], 1) * x.shape[2], x, gy))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose2d_out_is_written_in_place(dtype):
    rng = np.random.default_rng(3)
    x, w = rand(rng, (3, 4, 5), dtype), rand(rng, (3, 2, 3, 3), dtype)
    out = np.full((2, 10, 12), np.nan, dtype)
    assert pyconv.conv_transpose2d(x, w, stride=2, output_padding=1, out=out) is out
    expected = reference.conv_transpose2d(x[None], w, stride=2, output_padding=1)[0]
    assert_close(out, expected, tolerance(dtype, 28, x, w))


# ---- unfold / fold -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_unfold_fold_unbatched_and_gradients(dtype):
    rng = np.random.default_rng(4)
    x = rand(rng, (2, 3, 7, 6), dtype)
    geo = dict(kernel_size=(3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    cols = pyconv.unfold(x, **geo)
    np.testing.assert_array_equal(cols, reference.unfold(x, **geo))
    np.testing.assert_array_equal(pyconv.unfold(x[1], **geo), cols[1])
    g = rand(rng, cols.shape, dtype)
    atol = tolerance(dtype, 6, g)
    assert_close(pyconv.unfold_backward(g, x.shape, **geo), reference.unfold_backward(g, x.shape, **geo), atol)
    assert_close(pyconv.fold(g[0], (7, 6), **geo), reference.fold(g, (7, 6), **geo)[0], atol)
    gx = rand(rng, x.shape, dtype)
    np.testing.assert_array_equal(pyconv.fold_backward(gx, **geo), reference.fold_backward(gx, **geo))


# ---- 1-D pools ---------------------------------------------------------------------------------

@st.composite
def pool1d_cases(draw):
    k = draw(st.integers(1, 4))
    stride = draw(st.sampled_from([None, (), 1, 2, 3, (2,)]))
    padding = draw(st.integers(0, k // 2))
    dilation = draw(st.integers(1, 3))
    length = draw(st.integers(1, 12))
    assume(length + 2 * padding >= dilation * (k - 1) + 1)
    return dict(shape=(draw(st.integers(0, 2)), draw(st.integers(1, 3)), length), k=k, stride=stride,
                padding=padding, dilation=dilation, ceil_mode=draw(st.booleans()),
                count_include_pad=draw(st.booleans()), dtype=draw(st.sampled_from(DTYPES)),
                seed=draw(st.integers(0, 2 ** 16)))


def reference_stride(stride):
    if stride is None or stride == ():
        return None
    return stride[0] if isinstance(stride, tuple) else stride


@given(pool1d_cases())
def test_pool1d_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    x = rand(rng, case["shape"], case["dtype"])
    window = (case["k"], case["stride"], case["padding"])
    ref_window = (case["k"], reference_stride(case["stride"]), case["padding"])
    try:
        expected, expected_idx = reference.max_pool1d(x, *ref_window, case["dilation"], case["ceil_mode"], True)
    except ValueError:  # a window of padding only: pyconv refuses it too
        with pytest.raises(ValueError):
            pyconv.max_pool1d(x, *window, case["dilation"], case["ceil_mode"])
        return
    y, idx = pyconv.max_pool1d(x, *window, case["dilation"], case["ceil_mode"], True)
    assert_close(y, expected, 0)
    np.testing.assert_array_equal(idx, expected_idx)
    gy = rand(rng, y.shape, case["dtype"])
    assert_close(pyconv.max_pool1d_backward(gy, idx, x.shape), reference.max_pool1d_backward(gy, idx, x.shape),
                 tolerance(case["dtype"], case["k"], gy))
    if x.shape[0]:
        assert_close(pyconv.max_pool1d(x[0], *window, case["dilation"], case["ceil_mode"]), y[0], 0)
    avg = pyconv.avg_pool1d(x, *window, case["ceil_mode"], case["count_include_pad"])
    assert_close(avg, reference.avg_pool1d(x, *ref_window, case["ceil_mode"], case["count_include_pad"]),
                 tolerance(case["dtype"], case["k"], x))
    gy = rand(rng, avg.shape, case["dtype"])
    assert_close(pyconv.avg_pool1d_backward(gy, x.shape, *window, case["ceil_mode"], case["count_include_pad"]),
                 reference.avg_pool1d_backward(gy, x.shape, *ref_window, case["ceil_mode"], case["count_include_pad"]),
                 tolerance(case["dtype"], case["k"], gy))


# ---- adaptive pools ----------------------------------------------------------------------------

@st.composite
def adaptive_cases(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    size = draw(st.one_of(st.integers(1, 10), st.tuples(st.one_of(st.none(), st.integers(1, 10)),
                                                        st.one_of(st.none(), st.integers(1, 10)))))
    return dict(shape=(draw(st.integers(0, 2)), draw(st.integers(1, 3)), h, w), size=size,
                dtype=draw(st.sampled_from(DTYPES)), ties=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)))


def adaptive_input(case):
    rng = np.random.default_rng(case["seed"])
    if case["ties"]:  # few distinct values: the first maximum must win
        return rng.integers(-2, 3, case["shape"]).astype(case["dtype"]), rng
    return rand(rng, case["shape"], case["dtype"]), rng


@given(adaptive_cases())
def test_adaptive_pool2d_matches_reference(case):
    x, rng = adaptive_input(case)
    h, w = x.shape[2:]
    y = pyconv.adaptive_avg_pool2d(x, case["size"])
    widest = (h // y.shape[2] + 2) * (w // y.shape[3] + 2)
    assert_close(y, reference.adaptive_avg_pool2d(x, case["size"]), tolerance(case["dtype"], widest, x))
    gy = rand(rng, y.shape, case["dtype"])
    assert_close(pyconv.adaptive_avg_pool2d_backward(gy, x.shape), reference.adaptive_avg_pool2d_backward(gy, x.shape),
                 tolerance(case["dtype"], 4 * y.shape[2] * y.shape[3], gy))
    m, idx = pyconv.adaptive_max_pool2d(x, case["size"], True)
    expected, expected_idx = reference.adaptive_max_pool2d(x, case["size"], True)
    assert_close(m, expected, 0)
    np.testing.assert_array_equal(idx, expected_idx)
    assert_close(pyconv.adaptive_max_pool2d_backward(gy, idx, x.shape),
                 reference.max_pool2d_backward(gy, idx, x.shape), tolerance(case["dtype"], widest, gy))
    if x.shape[0]:
        assert_close(pyconv.adaptive_avg_pool2d(x[0], case["size"]), y[0], tolerance(case["dtype"], widest, x))
        assert_close(pyconv.adaptive_max_pool2d(x[0], case["size"]), m[0], 0)


@given(adaptive_cases())
def test_adaptive_pool1d_matches_reference(case):
    x, rng = adaptive_input(case)
    x = np.ascontiguousarray(x[:, :, 0])
    size = case["size"][1] if isinstance(case["size"], tuple) else case["size"]
    size_arg = (size,) if isinstance(case["size"], tuple) else size
    y = pyconv.adaptive_avg_pool1d(x, size_arg)
    atol = tolerance(case["dtype"], x.shape[2] // y.shape[2] + 2, x)
    assert_close(y, reference.adaptive_avg_pool1d(x, size), atol)
    gy = rand(rng, y.shape, case["dtype"])
    assert_close(pyconv.adaptive_avg_pool1d_backward(gy, x.shape), reference.adaptive_avg_pool1d_backward(gy, x.shape),
                 tolerance(case["dtype"], 2 * y.shape[2], gy))
    m, idx = pyconv.adaptive_max_pool1d(x, size_arg, True)
    expected, expected_idx = reference.adaptive_max_pool1d(x, size, True)
    assert_close(m, expected, 0)
    np.testing.assert_array_equal(idx, expected_idx)
    assert_close(pyconv.adaptive_max_pool1d_backward(gy, idx, x.shape),
                 reference.max_pool1d_backward(gy, idx, x.shape), tolerance(case["dtype"], 4, gy))


def test_adaptive_max_pool2d_nan_wins():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 1, 1] = x[0, 0, 3, 3] = np.nan
    y, idx = pyconv.adaptive_max_pool2d(x, 2, return_indices=True)
    expected, expected_idx = reference.adaptive_max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(idx, expected_idx)
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 6


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", [pyconv.adaptive_avg_pool2d, pyconv.adaptive_max_pool2d])
@pytest.mark.parametrize("size", [1, (3, 2), (4, 3)])  # global, dividing, general
def test_adaptive_out_is_written_in_place(op, size, dtype):
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 6)).astype(dtype)
    out = np.full((2, 3) + ((size,) * 2 if isinstance(size, int) else size), np.nan, dtype)
    assert op(x, size, out=out) is out
    np.testing.assert_array_equal(out, op(x, size))


# ---- max_unpool --------------------------------------------------------------------------------

@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(1, 9), st.integers(1, 9),
       st.sampled_from(DTYPES), st.booleans(), st.integers(0, 2 ** 16))
def test_max_unpool_matches_reference(k, s, p, h, w, dtype, ties, seed):
    assume(p <= k // 2 and h + 2 * p >= k and w + 2 * p >= k)
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, 2, (2, 3, h, w)) if ties else rng.standard_normal((2, 3, h, w))).astype(dtype)
    y, idx = pyconv.max_pool2d(x, k, s, p, return_indices=True)
    size = (h, w)
    un = pyconv.max_unpool2d(y, idx, k, s, p, output_size=size)
    np.testing.assert_array_equal(un, reference.max_unpool2d(y, idx, k, s, p, output_size=size))
    np.testing.assert_array_equal(pyconv.max_unpool2d(y[1], idx[1], k, s, p, output_size=(2, 3, h, w)), un[1])
    g = rng.standard_normal(un.shape).astype(dtype)
    np.testing.assert_array_equal(pyconv.max_unpool2d_backward(g, idx), reference.max_unpool2d_backward(g, idx))
    y1, idx1 = pyconv.max_pool1d(x[:, :, 0], k, s, p, return_indices=True)
    un1 = pyconv.max_unpool1d(y1, idx1, k, s, p, output_size=[w])
    np.testing.assert_array_equal(un1, reference.max_unpool1d(y1, idx1, k, s, p, output_size=[w]))
    np.testing.assert_array_equal(pyconv.max_unpool1d_backward(un1, idx1), reference.max_unpool1d_backward(un1, idx1))


# ---- out= and bad input ------------------------------------------------------------------------

X4 = np.zeros((2, 3, 8, 8), np.float32)
X3 = np.zeros((2, 3, 8), np.float32)


def bad_out(**changes):
    out = np.zeros((2, 3, 4, 4), np.float32)
    if "order" in changes:
        out = out.astype(out.dtype.newbyteorder(">"))
    if "strided" in changes:
        out = np.zeros((2, 3, 4, 8), np.float32)[..., ::2]
    if "readonly" in changes:
        out.flags.writeable = False
    return out


@pytest.mark.parametrize("op", [lambda out: pyconv.max_pool2d(X4, 2, out=out),
                                lambda out: pyconv.avg_pool2d(X4, 2, out=out),
                                lambda out: pyconv.adaptive_avg_pool2d(X4, 4, out=out)])
@pytest.mark.parametrize("out, error, words", [
    ([0.0], TypeError, ["out", "numpy.ndarray", "list"]),
    (np.zeros((2, 3, 4, 5), np.float32), ValueError, ["out", "shape (2, 3, 4, 4)", "(2, 3, 4, 5)"]),
    (np.zeros((2, 3, 4, 4)), TypeError, ["out", "dtype float32", "float64"]),
    (bad_out(order=1), ValueError, ["out", "native-endian", "'>'"]),
    (bad_out(strided=1), ValueError, ["out", "C-contiguous", "strides"]),
    (bad_out(readonly=1), ValueError, ["out", "writeable", "read-only"]),
])
def test_bad_out_names_the_failed_condition(op, out, error, words):
    with pytest.raises(error) as info:
        op(out)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_pool_out_must_not_overlap_the_input():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="out: must not overlap input"):
        pyconv.avg_pool2d(x, 1, out=x)


@pytest.mark.parametrize("call, error, words", [
    (lambda: pyconv.conv2d(X4, np.zeros((4, 3, 3, 3), np.float32), padding=1, padding_mode="mirror"),
     ValueError, ["padding_mode", "mirror", "reflect"]),
    (lambda: pyconv.conv2d(X4, np.zeros((4, 3, 3, 3), np.float32), padding=8, padding_mode="reflect"),
     ValueError, ["padding", "reflect", "smaller"]),
    (lambda: pyconv.conv2d(X4, np.zeros((4, 3, 3, 3), np.float32), padding=9, padding_mode="circular"),
     ValueError, ["padding", "circular", "at most"]),
    (lambda: pyconv.conv2d(X4[0], np.zeros((4, 3, 3, 3), np.float32), out=np.zeros((2, 4, 6, 6), np.float32)),
     ValueError, ["out", "3-d"]),
    (lambda: pyconv.conv1d(X3[0, 0], np.zeros((4, 3, 3), np.float32)), ValueError, ["input", "2-d", "3-d", "1-d"]),
    (lambda: pyconv.conv1d_input((2, 3, 8), np.zeros((4, 3, 3), np.float32), np.zeros((4, 6), np.float32)),
     ValueError, ["grad_output", "3-d"]),
    (lambda: pyconv.conv_transpose2d_input((2, 3, 4, 4), np.zeros((3, 2, 3, 3)), np.zeros((2, 2, 5, 5))),
     ValueError, ["grad_output", "(2, 2, 6, 6)", "(2, 2, 5, 5)"]),
    (lambda: pyconv.conv_transpose1d(X3, np.zeros((3, 2, 3), np.float32), stride=(1, 2)),
     ValueError, ["stride", "1-tuple"]),
    (lambda: pyconv.max_pool1d(X3, (2, 2)), ValueError, ["kernel_size", "1-tuple"]),
    (lambda: pyconv.avg_pool1d(X4, 2), ValueError, ["input", "3-d", "4-d"]),
    (lambda: pyconv.adaptive_avg_pool2d(X4, (2, 2, 2)), ValueError, ["output_size", "3 values"]),
    (lambda: pyconv.adaptive_avg_pool2d(X4, 0), ValueError, ["output_size", "positive"]),
    (lambda: pyconv.adaptive_max_pool1d(X3, (2, 2)), ValueError, ["output_size", "1-tuple"]),
    (lambda: pyconv.adaptive_max_pool2d(X4[:, :, :0], 2), ValueError, ["input", "non-empty"]),
    (lambda: pyconv.adaptive_avg_pool2d_backward(np.zeros((2, 3, 2, 2)), (2, 4, 8, 8)), ValueError,
     ["grad_output", "(N, C)"]),
    (lambda: pyconv.max_unpool2d(X4[:, :, :4, :4], np.zeros((2, 3, 4, 4), np.int64), 2, output_size=(4, 4)),
     ValueError, ["output_size", "strictly between"]),
    (lambda: pyconv.max_unpool2d(X4[:, :, :4, :4], np.full((2, 3, 4, 4), 64), 2), ValueError,
     ["indices", "[0, 64)", "64"]),
    (lambda: pyconv.max_unpool2d(X4[:, :, :4, :4], np.zeros((2, 3, 4, 4)), 2), TypeError, ["indices", "float64"]),
    (lambda: pyconv.max_unpool2d(X4[:, :, :4, :4], np.zeros((2, 3, 4), np.int64), 2), ValueError,
     ["indices", "shape"]),
    (lambda: pyconv.unfold(X4[0, 0], 2), ValueError, ["input", "3-d", "4-d"]),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert all(word in str(info.value) for word in words), str(info.value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_fused_output_stage_takes_unbatched_inputs(dtype):
    rng = np.random.default_rng(9)
    x, w, b = rand(rng, (2, 3, 6, 5), dtype), rand(rng, (4, 3, 3, 3), dtype), rand(rng, 4, dtype)
    residual = rand(rng, (2, 4, 6, 5), dtype)
    y = pyconv.conv2d(x, w, b, padding=1, activation="relu", residual=residual)
    assert_close(pyconv.conv2d(x[1], w, b, padding=1, activation="relu", residual=residual[1]), y[1],
                 tolerance(dtype, 28, x, w))
    with pytest.raises(ValueError, match="residual: expected a 3-d array"):
        pyconv.conv2d(x[1], w, b, padding=1, residual=residual)
