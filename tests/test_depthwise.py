"""The depthwise kernels (groups == C_in == C_out, run by algorithm "direct" and "auto") against
pyconv.reference: forward with bias, input gradient and weight gradient, both dtypes, on
generated geometries that reach every tile shape (1, 2 and 4 vectors wide, a last tile that
overlaps the one before, rows narrower than a vector), strides 1-3 (the input gradient's phases,
some without taps), dilation, non-square kernels, asymmetric padding up to the dilated kernel,
1x1 images and N = 0; and the weight gradient bit-identical at any thread count."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyconv
from pyconv import reference
from test_conv import DTYPES, TOL_FACTOR, random_array, run_all_ops


@st.composite
def depthwise_cases(draw):
    """(input_shape, weight_shape, kwargs) of a depthwise convolution."""
    channels = draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    span_h, span_w = dh * (kh - 1), dw * (kw - 1)
    pads = (draw(st.integers(0, span_h)), draw(st.integers(0, span_h)),
            draw(st.integers(0, span_w)), draw(st.integers(0, span_w)))
    h_min, w_min = max(1, span_h + 1 - pads[0] - pads[1]), max(1, span_w + 1 - pads[2] - pads[3])
    h = draw(st.sampled_from([h_min, h_min + draw(st.integers(0, 20))]))
    w = draw(st.sampled_from([w_min, w_min + draw(st.integers(0, 80))]))
    n = draw(st.integers(1, 2))
    kwargs = dict(stride=(sh, sw), padding=((pads[0], pads[1]), (pads[2], pads[3])), dilation=(dh, dw),
                  groups=channels)
    return (n, channels, h, w), (channels, 1, kh, kw), kwargs


@pytest.mark.parametrize("algorithm", ["direct", "auto"])
@pytest.mark.parametrize("dtype", DTYPES)
@given(case=depthwise_cases(), seed=st.integers(0, 2**32 - 1))
def test_depthwise_matches_reference(dtype, algorithm, case, seed):
    run_all_ops(case, seed, dtype, algorithm)


@pytest.mark.parametrize("size, stride", [((1, 1), 1), ((1, 1), 3), ((7, 7), 2), ((14, 14), 2), ((56, 9), 1),
                                          ((9, 45), 1), ((11, 70), 2), ((6, 37), (2, 1)), ((7, 41), (1, 2)),
                                          ((5, 33), 3), ((13, 16), 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_depthwise_mobilenet_like_shapes(dtype, size, stride):
    """3x3 padding 1 as in MobileNetV2, with 1x1 images; planes wider than a channel block run the
    forward by the 3x3 grid tiles (tile rows 1 or 2 tap rows apart, every tile width, a last tile
    overlapping the one before), as the stride-1 input gradient does at every width."""
    run_all_ops(((2, 5) + size, (5, 1, 3, 3), dict(stride=stride, padding=1, groups=5)), 3, dtype, "direct")


@pytest.mark.parametrize("channels, size, kernel, stride, dilation, padding", [
    (8, (7, 7), (3, 3), 1, 1, 1), (16, (14, 14), (3, 3), 2, 1, 1), (13, (9, 11), (3, 2), (2, 1), (1, 2), ((2, 0), (1, 1))),
    (20, (2, 3), (3, 3), 1, 1, 1), (9, (28, 28), (5, 5), 1, 2, 4), (8, (1, 1), (1, 1), 1, 1, 0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_depthwise_channel_blocks(dtype, channels, size, kernel, stride, dilation, padding):
    """Narrow planes run the forward pass by blocks of channels: whole blocks (their transposes)
    and a last partial one, fewer outputs or inputs than a tile, strides, dilation, padding."""
    run_all_ops(((2, channels) + size, (channels, 1) + kernel,
                 dict(stride=stride, padding=padding, dilation=dilation, groups=channels)), 5, dtype, "direct")


def test_depthwise_empty_batch():
    x, w = np.zeros((0, 3, 5, 5), np.float32), np.ones((3, 1, 3, 3), np.float32)
    assert pyconv.conv2d(x, w, groups=3, padding=1).shape == (0, 3, 5, 5)
    assert pyconv.conv2d_input(x.shape, w, np.zeros((0, 3, 5, 5), np.float32), groups=3, padding=1).shape == x.shape
    np.testing.assert_array_equal(pyconv.conv2d_weight(x, w.shape, np.zeros((0, 3, 5, 5), np.float32), groups=3,
                                                       padding=1), np.zeros(w.shape, np.float32))


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_thread_counts_agree(stride):
    """Forward and input gradient equal, weight gradient bit-identical (fixed-order sums)."""
    rng = np.random.default_rng(4)
    x, w = random_array(rng, (3, 70, 15, 13), np.float32), random_array(rng, (70, 1, 3, 3), np.float32)
    kwargs = dict(stride=stride, padding=1, groups=70)
    gy = random_array(rng, pyconv.conv2d(x, w, **kwargs).shape, np.float32)
    one = [pyconv.conv2d(x, w, **kwargs, n_threads=1), pyconv.conv2d_input(x.shape, w, gy, **kwargs, n_threads=1),
           pyconv.conv2d_weight(x, w.shape, gy, **kwargs, n_threads=1)]
    for n_threads in (2, 3):
        many = [pyconv.conv2d(x, w, **kwargs, n_threads=n_threads),
                pyconv.conv2d_input(x.shape, w, gy, **kwargs, n_threads=n_threads),
                pyconv.conv2d_weight(x, w.shape, gy, **kwargs, n_threads=n_threads)]
        for a, b in zip(one, many):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("channels", [6, 19])
@pytest.mark.parametrize("activation", [None, "relu6", "silu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_depthwise_fused_output_stage(dtype, activation, channels):
    """Bias, residual and activation applied where the depthwise forward stores y."""
    rng = np.random.default_rng(6)
    x, w = random_array(rng, (2, channels, 11, 9), dtype), random_array(rng, (channels, 1, 3, 3), dtype)
    b, r = random_array(rng, channels, dtype), random_array(rng, (2, channels, 6, 5), dtype)
    kwargs = dict(stride=2, padding=1, groups=channels)
    assert pyconv.plan("conv2d", x.shape, w.shape, **kwargs, dtype=dtype).method == "depthwise"
    got = pyconv.conv2d(x, w, b, **kwargs, activation=activation, residual=r)
    expected = reference.conv2d(x, w, b, **kwargs, activation=activation, residual=r)
    # the bound of test_conv's fused-stage test: the sum's, through a <= 1.1-Lipschitz activation
    magnitude = reference.conv2d(np.abs(x), np.abs(w), np.abs(b), **kwargs).astype(np.float64)
    eps = np.finfo(dtype).eps
    bound = 1.1 * (TOL_FACTOR * eps * np.sqrt(w[0].size) * magnitude + eps * np.abs(r)) + 4 * eps * np.abs(expected)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_less(np.abs(got.astype(np.float64) - expected) - bound, 1e-300)


def test_depthwise_workspace_does_not_grow_with_the_batch():
    # batches from 32 on are work enough for both threads under either wait policy's rule (a
    # smaller batch may take one thread, and one thread's workspace)
    for op in ("conv2d", "conv2d_input", "conv2d_weight"):
        plans = [pyconv.plan(op, (n, 32, 28, 28), (32, 1, 3, 3), padding=1, groups=32, n_threads=2)
                 for n in (32, 64, 512)]
        assert {p.method for p in plans} == {"depthwise"}
        assert len({p.workspace_bytes for p in plans}) == 1
