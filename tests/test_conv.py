"""pyconv's convolution ops against pyconv.reference: every op x algorithm x dtype on generated
geometries, the awkward corners, bad input, memory layouts, out=, thread counts, concurrency.

Tolerances: a computed sum of K products differs from the exact one by at most about
eps * sqrt(K) times the sum of the products' magnitudes (rounding errors of random sign), so each
result is compared against TOL_FACTOR * eps * sqrt(K) * (the same op applied to |arguments|)."""
import concurrent.futures

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconv
from pyconv import reference

DTYPES = [np.float32, np.float64]
ALGORITHMS = ["direct", "im2col", "auto"]
TOL_FACTOR = 4


@st.composite
def conv_cases(draw, max_batch=3, max_cin_g=3, max_cout_g=3):
    """(input_shape, weight_shape, kwargs) of a valid grouped convolution, small but covering
    1x1 images, kernel = padded input, stride > kernel, big dilation, depthwise, non-square
    kernels, asymmetric and string paddings (N = 0: test_empty_sizes)."""
    groups = draw(st.integers(1, 3))
    depthwise = draw(st.booleans())
    cin_g = 1 if depthwise else draw(st.integers(1, max_cin_g))
    cout_g = draw(st.integers(1, max_cout_g))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    span_h, span_w = dh * (kh - 1), dw * (kw - 1)
    kind = draw(st.sampled_from(["int", "pair", "asym", "valid", "same", "full"]))
    if kind == "same":
        sh = sw = 1
        padding = "same"
        pads = (span_h // 2, span_h - span_h // 2, span_w // 2, span_w - span_w // 2)
    elif kind == "full":
        padding, pads = "full", (span_h, span_h, span_w, span_w)
    elif kind == "valid":
        padding, pads = "valid", (0, 0, 0, 0)
    elif kind == "int":
        padding = draw(st.integers(0, 3))
        pads = (padding,) * 4
    elif kind == "pair":
        padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
        pads = (padding[0], padding[0], padding[1], padding[1])
    else:
        pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
        padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    # the dilated kernel must fit the padded input; "exact" makes it fill it
    exact = draw(st.booleans())
    h_min, w_min = max(1, span_h + 1 - pads[0] - pads[1]), max(1, span_w + 1 - pads[2] - pads[3])
    h = h_min if exact else draw(st.integers(h_min, h_min + 6))
    w = w_min if exact else draw(st.integers(w_min, w_min + 6))
    n = draw(st.integers(1, max_batch))
    kwargs = dict(stride=(sh, sw) if sh != sw else sh, padding=padding, dilation=(dh, dw), groups=groups)
    return (n, cin_g * groups, h, w), (cout_g * groups, cin_g, kh, kw), kwargs


def random_array(rng, shape, dtype):
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def assert_close(actual, expected, magnitude, k, dtype):
    """|actual - expected| <= TOL_FACTOR * eps * sqrt(k) * magnitude, elementwise."""
    assert actual.dtype == np.dtype(dtype)
    assert actual.shape == expected.shape
    bound = TOL_FACTOR * np.finfo(dtype).eps * np.sqrt(max(k, 1)) * magnitude.astype(np.float64)
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.size else None
    assert np.all(err <= bound), f"error {err[worst]} > bound {bound[worst]} at {worst}"


def run_forward(x, w, b, kwargs, dtype, algorithm, **extra):
    got = pyconv.conv2d(x, w, b, **kwargs, algorithm=algorithm, **extra)
    expected = reference.conv2d(x, w, b, **kwargs)
    magnitude = reference.conv2d(np.abs(x), np.abs(w), None if b is None else np.abs(b), **kwargs)
    assert_close(got, expected, magnitude, w[0].size, dtype)
    return got


def run_input_grad(x_shape, w, gy, kwargs, dtype, algorithm):
    got = pyconv.conv2d_input(x_shape, w, gy, **kwargs, algorithm=algorithm)
    expected = reference.conv2d_input(x_shape, w, gy, **kwargs)
    magnitude = reference.conv2d_input(x_shape, np.abs(w), np.abs(gy), **kwargs)
    k = w.shape[0] // kwargs.get("groups", 1) * w.shape[2] * w.shape[3]
    assert_close(got, expected, magnitude, k, dtype)
    return got


def run_weight_grad(x, w_shape, gy, kwargs, dtype, algorithm):
    got = pyconv.conv2d_weight(x, w_shape, gy, **kwargs, algorithm=algorithm)
    expected = reference.conv2d_weight(x, w_shape, gy, **kwargs)
    magnitude = reference.conv2d_weight(np.abs(x), w_shape, np.abs(gy), **kwargs)
    assert_close(got, expected, magnitude, gy.shape[0] * gy.shape[2] * gy.shape[3], dtype)
    return got


def run_all_ops(case, seed, dtype, algorithm):
    """Forward (with bias), input and weight gradient of case = (input_shape, weight_shape,
    kwargs) on random arrays, each against the reference."""
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(seed)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    y = run_forward(x, w, random_array(rng, w_shape[0], dtype), kwargs, dtype, algorithm)
    gy = random_array(rng, y.shape, dtype)
    run_input_grad(x_shape, w, gy, kwargs, dtype, algorithm)
    run_weight_grad(x, w_shape, gy, kwargs, dtype, algorithm)


# ---- every op x algorithm x dtype on generated geometries ------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=50)
@given(case=conv_cases(max_batch=2, max_cin_g=20, max_cout_g=40), seed=st.integers(0, 2**32 - 1))
def test_many_channels_match_reference(dtype, algorithm, case, seed):
    """Channel counts that fill several micro-tile columns (16 float32 filters), reductions
    longer than one KC block (256), and >= 8 channels per group (the stride-1 input gradient
    then runs as a forward pass): all three ops."""
    run_all_ops(case, seed, dtype, algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(case=conv_cases(), with_bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_matches_reference(dtype, algorithm, case, with_bias, seed):
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(seed)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    b = random_array(rng, w_shape[0], dtype) if with_bias else None
    run_forward(x, w, b, kwargs, dtype, algorithm)


@pytest.mark.parametrize("activation", [None] + list(reference.ACTIVATIONS))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25)
@given(case=conv_cases(max_cout_g=20), with_residual=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_fused_output_stage_matches_reference(dtype, algorithm, activation, case, with_residual, seed):
    """y = activation(conv + bias + residual). Every activation is at most 1.1-Lipschitz (SiLU's
    slope peaks at 1.0998), so the sum's bound carries over, plus the residual's and the
    activation's own rounding (a few eps of the result)."""
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(seed)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    b = random_array(rng, w_shape[0], dtype)
    y_shape = reference.conv2d(x, w, **kwargs).shape
    r = 4 * random_array(rng, y_shape, dtype) if with_residual else None
    got = pyconv.conv2d(x, w, b, **kwargs, algorithm=algorithm, activation=activation, residual=r)
    expected = reference.conv2d(x, w, b, **kwargs, activation=activation, residual=r)
    magnitude = reference.conv2d(np.abs(x), np.abs(w), np.abs(b), **kwargs).astype(np.float64)
    eps = np.finfo(dtype).eps
    bound = 1.1 * (TOL_FACTOR * eps * np.sqrt(w[0].size) * magnitude
                   + (eps * np.abs(r) if with_residual else 0)) + 4 * eps * np.abs(expected)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_less(np.abs(got.astype(np.float64) - expected) - bound, 1e-300)


@pytest.mark.parametrize("activation", list(reference.ACTIVATIONS))
def test_fused_output_stage_propagates_nan_and_saturates(activation):
    x = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3.0, -3.0, 0.0]).reshape(1, 1, 1, 8)
    w = np.ones((1, 1, 1, 1))
    for algorithm in ("direct", "im2col"):
        got = pyconv.conv2d(x, w, activation=activation, algorithm=algorithm)
        np.testing.assert_array_equal(got, reference.conv2d(x, w, activation=activation))


@pytest.mark.parametrize("activation", list(reference.ACTIVATIONS))
def test_reference_activations_match_torch(activation):
    torch = pytest.importorskip("torch")
    v = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3.0, -3.0, 0.0, 1e-300])
    f = {"relu": torch.relu, "relu6": torch.nn.functional.relu6, "silu": torch.nn.functional.silu,
         "sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation]
    np.testing.assert_array_equal(reference.ACTIVATIONS[activation](v), f(torch.from_numpy(v)).numpy())


def test_fused_output_stage_bad_arguments():
    x, w = np.ones((1, 2, 4, 4)), np.ones((3, 2, 3, 3))
    with pytest.raises(ValueError, match="activation.*gelu"):
        pyconv.conv2d(x, w, activation="gelu")
    with pytest.raises(ValueError, match=r"residual.*\(1, 3, 2, 2\).*\(1, 3, 4, 4\)"):
        pyconv.conv2d(x, w, residual=np.ones((1, 3, 4, 4)))
    r = np.ones((1, 3, 2, 2))
    with pytest.raises(ValueError, match="out.*residual"):
        pyconv.conv2d(x, w, residual=r, out=r)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_input_matches_reference(dtype, algorithm, case, seed):
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(seed)
    w = random_array(rng, w_shape, dtype)
    gy = random_array(rng, reference.conv2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs).shape, dtype)
    run_input_grad(x_shape, w, gy, kwargs, dtype, algorithm)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((19, 4, 16, 16), (6, 4, 3, 3), dict(stride=2, padding=1)),           # chunks of 8, 8 and 3 images
    ((11, 6, 15, 13), (4, 3, 2, 3), dict(stride=(2, 3), groups=2)),      # groups, uneven strides
    ((5, 1, 9, 9), (2, 1, 1, 1), dict(stride=1)),                        # pointwise, small images: chunks
    ((3, 3, 24, 24), (2, 3, 1, 1), dict(stride=1))])                     # pointwise, 576 pixels: in place
def test_strided_input_gradient_over_chunks_of_images(dtype, x_shape, w_shape, kwargs):
    """The GEMM + col2im input gradient runs chunks of images side by side (a shape-only chunk):
    several chunks and a partial last one match the reference, bit for bit at any thread count."""
    rng = np.random.default_rng(12)
    w = random_array(rng, w_shape, dtype)
    gy = random_array(rng, reference.conv2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs).shape, dtype)
    assert pyconv.plan("conv2d_input", x_shape, w_shape, **kwargs, algorithm="im2col",
                       dtype=dtype).method == "gemm-col2im"
    one = run_input_grad(x_shape, w, gy, kwargs, dtype, "im2col")  # default threads
    for n_threads in (1, 3):
        np.testing.assert_array_equal(
            pyconv.conv2d_input(x_shape, w, gy, **kwargs, algorithm="im2col", n_threads=n_threads), one)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, groups", [
    ((1, 40, 7, 7), (96, 40, 1, 1), 1),       # filters as the transposed forward's input channels
    ((3, 70, 14, 14), (33, 70, 1, 1), 1),     # several images, partial tiles and panels
    ((2, 64, 5, 9), (128, 32, 1, 1), 2),      # groups
    ((1, 32, 30, 30), (128, 32, 1, 1), 1),    # 900 pixels: the transposed forward reduces channels
    ((2, 160, 9, 9), (48, 160, 1, 1), 1)])    # 160 filters of the transposed forward: pixels packed
def test_pointwise_input_gradient_as_transposed_forward(dtype, x_shape, w_shape, groups):
    """A pointwise input gradient whose transposed forward (1x1 of grad_output with the weights
    transposed) would run on the implicit GEMM takes that forward, its weights packed straight
    from W's rows: it matches the reference, and every thread count gives the same bits."""
    rng = np.random.default_rng(13)
    w = random_array(rng, w_shape, dtype)
    gy = random_array(rng, (x_shape[0], w_shape[0]) + x_shape[2:], dtype)
    kwargs = dict(groups=groups)
    assert pyconv.plan("conv2d_input", x_shape, w_shape, **kwargs, dtype=dtype).method == "implicit-gemm-transposed"
    one = run_input_grad(x_shape, w, gy, kwargs, dtype, "auto")
    for n_threads in (1, 3):
        np.testing.assert_array_equal(pyconv.conv2d_input(x_shape, w, gy, **kwargs, n_threads=n_threads), one)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((1, 40, 7, 7), (200, 40, 1, 1), {}),                   # 13 panels, a 1-row last tile
    ((3, 24, 9, 11), (144, 24, 1, 1), dict(stride=2)),      # rows not one value apart, images mixed
    ((2, 64, 5, 9), (256, 32, 1, 1), dict(groups=2)),       # 8 panels a group
    ((1, 300, 6, 6), (130, 300, 1, 1), dict(padding=1))])   # two KC slices, a padded copy
def test_pointwise_forward_with_packed_pixels(dtype, x_shape, w_shape, kwargs):
    """1x1 forward passes on the implicit GEMM with many filter panels, where micro-kernels whose
    gathered pixels outgrow L1 pack them first (gemm_config.h, PACK_A_PANELS): weights as given
    and packed match the reference, and every thread count (which changes how the panels are
    split, so whether the pixels are packed) gives the same bits."""
    rng = np.random.default_rng(14)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    b = random_array(rng, w_shape[0], dtype)
    assert pyconv.plan("conv2d", x_shape, w_shape, **kwargs, dtype=dtype).method == "implicit-gemm"
    one = run_forward(x, w, b, kwargs, dtype, "im2col", n_threads=1)
    packed = pyconv.PackedWeight(w, groups=kwargs.get("groups", 1))
    for n_threads in (1, 2, 3):
        np.testing.assert_array_equal(pyconv.conv2d(x, w, b, **kwargs, n_threads=n_threads), one)
        np.testing.assert_array_equal(pyconv.conv2d(x, packed, b, **kwargs, n_threads=n_threads), one)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25)
@given(n=st.integers(1, 3), groups=st.integers(1, 2), cin_g=st.integers(1, 300),
       cout_g=st.integers(100, 260), h=st.integers(1, 13), w=st.integers(1, 13),
       stride=st.integers(1, 3), padding=st.integers(0, 1), seed=st.integers(0, 2**32 - 1))
def test_pointwise_forward_with_many_filters_matches_reference(dtype, n, groups, cin_g, cout_g, h, w,
                                                               stride, padding, seed):
    """1x1 forwards with enough filter panels that micro-kernel tables which pack gathered pixels
    do (any reduction length, strides, padding, partial tiles, images mixed in a block)."""
    rng = np.random.default_rng(seed)
    x = random_array(rng, (n, cin_g * groups, h, w), dtype)
    wt = random_array(rng, (cout_g * groups, cin_g, 1, 1), dtype)
    run_forward(x, wt, random_array(rng, cout_g * groups, dtype),
                dict(stride=stride, padding=padding, groups=groups), dtype, "im2col")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_weight_matches_reference(dtype, algorithm, case, seed):
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(seed)
    x = random_array(rng, x_shape, dtype)
    gy = random_array(rng, reference.conv2d(x, np.zeros(w_shape, dtype), **kwargs).shape, dtype)
    run_weight_grad(x, w_shape, gy, kwargs, dtype, algorithm)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(1, 9), st.integers(1, 9)),
       seed=st.integers(0, 2**32 - 1))
def test_conv2d_bias_matches_reference(dtype, shape, seed):
    gy = random_array(np.random.default_rng(seed), shape, dtype)
    got = pyconv.conv2d_bias(gy)
    assert_close(got, reference.conv2d_bias(gy), reference.conv2d_bias(np.abs(gy)),
                 shape[0] * shape[2] * shape[3], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_im2col_col2im_match_reference(dtype, case, seed):
    x_shape, w_shape, kwargs = case
    del kwargs["groups"]
    kernel = w_shape[2:]
    rng = np.random.default_rng(seed)
    x = random_array(rng, x_shape, dtype)
    col = pyconv.im2col(x, kernel, **kwargs)
    np.testing.assert_array_equal(col, reference.im2col(x, kernel, **kwargs))
    assert col.dtype == np.dtype(dtype)
    col = random_array(rng, col.shape, dtype)
    got = pyconv.col2im(col, x_shape[2:], kernel, **kwargs)
    magnitude = reference.col2im(np.abs(col), x_shape[2:], kernel, **kwargs)
    assert_close(got, reference.col2im(col, x_shape[2:], kernel, **kwargs), magnitude,
                 kernel[0] * kernel[1], dtype)


# ---- named corners, each through every op and algorithm ----------------------------------------

CORNERS = {
    "1x1 image": ((2, 3, 1, 1), (4, 3, 1, 1), {}),
    "1x1 image padded": ((2, 3, 1, 1), (4, 3, 3, 3), dict(padding=1)),
    "kernel = padded input": ((2, 2, 5, 4), (3, 2, 7, 6), dict(padding=1)),
    "stride > kernel": ((2, 2, 11, 13), (3, 2, 2, 3), dict(stride=(4, 5), padding=(1, 2))),
    "large dilation": ((1, 2, 17, 15), (2, 2, 3, 2), dict(dilation=(7, 13), padding=(1, 0))),
    "depthwise": ((2, 6, 9, 8), (6, 1, 3, 3), dict(groups=6, padding=1, stride=2)),
    "depthwise multiplier": ((2, 3, 7, 7), (6, 1, 5, 3), dict(groups=3, padding="same")),
    "non-square kernel": ((2, 3, 8, 12), (4, 3, 1, 5), dict(padding="full")),
    "asymmetric padding": ((2, 3, 6, 7), (5, 3, 3, 2), dict(padding=((0, 3), (2, 1)))),
    "same, even kernel": ((1, 2, 6, 5), (3, 2, 4, 2), dict(padding="same", dilation=(1, 3))),
    "pointwise": ((3, 8, 5, 6), (4, 8, 1, 1), {}),
    "pointwise grouped": ((3, 8, 5, 6), (4, 4, 1, 1), dict(groups=2)),
    "C_in = 0": ((2, 0, 6, 6), (4, 0, 3, 3), {}),
    "many channels": ((2, 40, 6, 5), (36, 40, 3, 3), dict(padding=1)),
    # >= 512 output pixels: one image per GEMM (smaller images are batched into one product)
    "large image": ((3, 3, 24, 25), (4, 3, 3, 3), dict(padding=1)),
    "large image, pointwise": ((2, 4, 24, 24), (3, 4, 1, 1), {}),
    # filters over several micro-tile columns, in each of two groups, strided
    "many filters per group": ((2, 8, 9, 10), (36, 4, 2, 3), dict(groups=2, stride=2, padding=1)),
    # stride 1 with >= 8 channels per group: the input gradient runs as a forward convolution
    "input gradient as a forward": ((2, 16, 9, 11), (6, 8, 3, 2),
                                    dict(groups=2, dilation=(2, 3), padding=((1, 3), (0, 2)))),
    "padding beyond the kernel": ((2, 16, 5, 6), (4, 16, 2, 2), dict(padding=3)),
    # padding far wider than the image: the im2col forward hands it to the direct kernel
    "huge padding": ((2, 2, 2, 3), (3, 2, 3, 3), dict(padding=(200, 150), stride=(40, 60))),
}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CORNERS))
def test_corner_cases(name, dtype, algorithm):
    x_shape, w_shape, kwargs = CORNERS[name]
    rng = np.random.default_rng(1)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    b = random_array(rng, w_shape[0], dtype)
    y = run_forward(x, w, b, kwargs, dtype, algorithm)
    gy = random_array(rng, y.shape, dtype)
    run_input_grad(x_shape, w, gy, kwargs, dtype, algorithm)
    run_weight_grad(x, w_shape, gy, kwargs, dtype, algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("x_shape, w_shape", [((0, 3, 6, 6), (4, 3, 3, 3)), ((2, 3, 6, 6), (0, 3, 3, 3)),
                                              ((0, 2, 6, 6), (0, 1, 3, 3))])
def test_empty_sizes(x_shape, w_shape, algorithm):
    """N = 0 or C_out = 0: empty outputs, zero gradients (the reference cannot reshape these)."""
    x, w = np.ones(x_shape), np.ones(w_shape)
    groups = x_shape[1] // w_shape[1]
    y_shape = (x_shape[0], w_shape[0], 4, 4)
    y = pyconv.conv2d(x, w, np.ones(w_shape[0]), groups=groups, algorithm=algorithm)
    assert y.shape == y_shape and y.dtype == np.float64
    gx = pyconv.conv2d_input(x_shape, w, np.ones(y_shape), groups=groups, algorithm=algorithm)
    np.testing.assert_array_equal(gx, np.zeros(x_shape))
    gw = pyconv.conv2d_weight(x, w_shape, np.ones(y_shape), groups=groups, algorithm=algorithm)
    np.testing.assert_array_equal(gw, np.zeros(w_shape))
    np.testing.assert_array_equal(pyconv.conv2d_bias(np.ones(y_shape)), np.full(w_shape[0], 0.0))
    assert pyconv.im2col(x, 3).shape == (x_shape[0], x_shape[1] * 9, 16)


def test_gradients_are_overwritten_not_accumulated():
    rng = np.random.default_rng(2)
    x, w = random_array(rng, (2, 3, 6, 6), np.float64), random_array(rng, (4, 3, 3, 3), np.float64)
    gy = random_array(rng, (2, 4, 4, 4), np.float64)
    for algorithm in ["direct", "im2col"]:
        first = pyconv.conv2d_weight(x, w.shape, gy, algorithm=algorithm)
        np.testing.assert_array_equal(first, pyconv.conv2d_weight(x, w.shape, gy, algorithm=algorithm))
        first = pyconv.conv2d_input(x.shape, w, gy, algorithm=algorithm)
        np.testing.assert_array_equal(first, pyconv.conv2d_input(x.shape, w, gy, algorithm=algorithm))


# ---- bad input ----------------------------------------------------------------------------------

X = np.zeros((2, 4, 8, 8), np.float32)
W = np.zeros((6, 2, 3, 3), np.float32)
GY = np.zeros((2, 6, 6, 6), np.float32)

BAD_CALLS = [
    # (call, exception, words the message must contain)
    (lambda: pyconv.conv2d(X, W), ValueError, ["weight", "4 input channels", "got 2"]),
    (lambda: pyconv.conv2d(X[0, 0], W, groups=2), ValueError, ["input", "4-d", "3-d", "got 2-d"]),
    (lambda: pyconv.conv2d(X, W[0], groups=2), ValueError, ["weight", "4-d"]),
    (lambda: pyconv.conv2d(X, W, stride=0, groups=2), ValueError, ["stride", "positive", "0"]),
    (lambda: pyconv.conv2d(X, W, stride=(1, -2), groups=2), ValueError, ["stride[1]", "-2"]),
    (lambda: pyconv.conv2d(X, W, dilation=0, groups=2), ValueError, ["dilation", "0"]),
    (lambda: pyconv.conv2d(X, W, groups=0), ValueError, ["groups", "positive", "0"]),
    (lambda: pyconv.conv2d(X, W, groups=3), ValueError, ["groups", "4", "3"]),
    (lambda: pyconv.conv2d(X, np.zeros((5, 2, 3, 3), np.float32), groups=2), ValueError, ["groups", "5"]),
    (lambda: pyconv.conv2d(X, W, padding=-1, groups=2), ValueError, ["padding", "-1"]),
    (lambda: pyconv.conv2d(X, W, padding=((0, -1), (0, 0)), groups=2), ValueError, ["padding", "-1"]),
    (lambda: pyconv.conv2d(X, W, padding="half", groups=2), ValueError, ["padding", "half"]),
    (lambda: pyconv.conv2d(X, W, padding="same", stride=2, groups=2), ValueError, ["padding", "stride"]),
    (lambda: pyconv.conv2d(X, W, padding=1.5, groups=2), TypeError, ["padding", "float"]),
    (lambda: pyconv.conv2d(X, W, stride=(1, 2, 3), groups=2), ValueError, ["stride", "3 values"]),
    (lambda: pyconv.conv2d(X, np.zeros((6, 4, 9, 3), np.float32)), ValueError, ["kernel", "larger", "(9, 3)"]),
    (lambda: pyconv.conv2d(X, W, dilation=5, groups=2), ValueError, ["kernel", "(11, 11)", "(8, 8)"]),
    (lambda: pyconv.conv2d(X, np.zeros((6, 4, 0, 3), np.float32)), ValueError, ["kernel_size", "positive"]),
    (lambda: pyconv.conv2d(X, W, np.zeros(5, np.float32), groups=2), ValueError, ["bias", "(6,)", "(5,)"]),
    (lambda: pyconv.conv2d(X, W, np.zeros((6, 1), np.float32), groups=2), ValueError, ["bias", "1-d"]),
    (lambda: pyconv.conv2d(X.astype(np.int32), W, groups=2), TypeError, ["input", "int32"]),
    (lambda: pyconv.conv2d(X, W.astype(np.complex64), groups=2), TypeError, ["weight", "complex64"]),
    (lambda: pyconv.conv2d(X, W, np.zeros(6, bool), groups=2), TypeError, ["bias", "bool"]),
    (lambda: pyconv.conv2d(X, W, groups=2, algorithm="fft"), ValueError, ["algorithm", "fft"]),
    (lambda: pyconv.conv2d(X, W, groups=2, n_threads=0), ValueError, ["n_threads", "0"]),
    (lambda: pyconv.conv2d(X, W, groups=2, out=np.zeros((2, 6, 6, 5), np.float32)), ValueError,
     ["out", "(2, 6, 6, 6)", "(2, 6, 6, 5)"]),
    (lambda: pyconv.conv2d(X, W, groups=2, out=np.zeros((2, 6, 6, 6))), TypeError, ["out", "float32", "float64"]),
    (lambda: pyconv.conv2d(X, W, groups=2, out=np.zeros((2, 6, 6, 12), np.float32)[..., ::2]), ValueError,
     ["out", "C-contiguous"]),
    (lambda: pyconv.conv2d(X, W, groups=2, out=[0.0]), TypeError, ["out", "list"]),
    (lambda: pyconv.conv2d(X, W, padding=2**62, groups=2), (ValueError, MemoryError), ["padding"]),
    (lambda: pyconv.conv2d(X, W, padding=2**40, groups=2), MemoryError, ["output"]),
    (lambda: pyconv.conv2d(X, W, dilation=2**63, groups=2), ValueError, ["dilation"]),
    (lambda: pyconv.conv2d_input((2, 4, 8, 8), W, GY[:, :5], groups=2), ValueError,
     ["grad_output", "(2, 6, 6, 6)", "(2, 5, 6, 6)"]),
    (lambda: pyconv.conv2d_input((2, 4), W, GY, groups=2), ValueError, ["input_size", "4 sizes", "2"]),
    (lambda: pyconv.conv2d_input((4, 8, 8), W, GY, groups=2), ValueError, ["grad_output", "3-d", "unbatched"]),
    (lambda: pyconv.conv2d_input((2, 4, 8, -8), W, GY, groups=2), ValueError, ["input_size[3]", "-8"]),
    (lambda: pyconv.conv2d_input("abcd", W, GY, groups=2), TypeError, ["input_size"]),
    (lambda: pyconv.conv2d_input((2, 6, 8, 8), W, GY, groups=2), ValueError, ["weight", "3 input channels", "got 2"]),
    (lambda: pyconv.conv2d_input((2, 4, 8, 8), W, GY.astype(np.int64), groups=2), TypeError,
     ["grad_output", "int64"]),
    (lambda: pyconv.conv2d_weight(X, (6, 2, 3, 3), GY[:, :, 1:]), ValueError, ["weight_size", "4 input channels", "got 2"]),
    (lambda: pyconv.conv2d_weight(X, (6, 2, 3, 3), GY[:, :, 1:], groups=2), ValueError,
     ["grad_output", "(2, 6, 6, 6)", "(2, 6, 5, 6)"]),
    (lambda: pyconv.conv2d_weight(X, (6, 2, 3), GY, groups=2), ValueError, ["weight_size", "3"]),
    (lambda: pyconv.conv2d_weight(X, (6, 2, 3, 3), GY, groups=2, algorithm=None), ValueError, ["algorithm"]),
    (lambda: pyconv.conv2d_bias(GY[0, 0]), ValueError, ["grad_output", "4-d", "3-d"]),
    (lambda: pyconv.conv2d_bias(GY.astype(np.int8)), TypeError, ["grad_output", "int8"]),
    (lambda: pyconv.im2col(X, 0), ValueError, ["kernel_size", "0"]),
    (lambda: pyconv.im2col(X, 9), ValueError, ["kernel", "(9, 9)", "(8, 8)"]),
    (lambda: pyconv.im2col(X[0], 3), ValueError, ["input", "4-d"]),
    (lambda: pyconv.col2im(np.zeros((2, 10, 36), np.float32), (8, 8), 3), ValueError, ["input", "9", "10"]),
    (lambda: pyconv.col2im(np.zeros((2, 18, 35), np.float32), (8, 8), 3), ValueError, ["input", "36", "35"]),
    (lambda: pyconv.col2im(np.zeros((2, 18, 36), np.float32), (8, 0), 3), ValueError, ["output_size[1]", "0"]),
    (lambda: pyconv.col2im(np.zeros((2, 18, 36), np.float32), (2, 2), 3), ValueError, ["kernel", "(3, 3)"]),
]


@pytest.mark.parametrize("index", range(len(BAD_CALLS)))
def test_bad_input_raises_naming_the_argument(index):
    call, exception, words = BAD_CALLS[index]
    with pytest.raises(exception) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


def test_out_must_not_overlap_the_arguments():
    x = np.zeros((1, 2, 4, 4), np.float32)
    with pytest.raises(ValueError, match="out: must not overlap input"):
        pyconv.conv2d(x, np.zeros((2, 2, 1, 1), np.float32), out=x)


# ---- memory layouts, out=, inputs untouched -----------------------------------------------------

def layouts(arr):
    """The same values as arr, as read-only / big-endian / Fortran-order / strided / list."""
    read_only = arr.copy()
    read_only.flags.writeable = False
    strided = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)[..., ::2]
    strided[...] = arr
    yield "read-only", read_only
    yield "big-endian", arr.astype(arr.dtype.newbyteorder(">"))
    yield "fortran", np.asfortranarray(arr)
    yield "strided", strided
    yield "list", arr.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
def test_memory_layouts_give_the_same_result(dtype):
    rng = np.random.default_rng(3)
    x, w = random_array(rng, (2, 4, 7, 6), dtype), random_array(rng, (6, 2, 3, 2), dtype)
    b, gy = random_array(rng, 6, dtype), random_array(rng, (2, 6, 4, 7), dtype)
    kwargs = dict(stride=(2, 1), padding=1, groups=2)
    expected = (pyconv.conv2d(x, w, b, **kwargs), pyconv.conv2d_input(x.shape, w, gy, **kwargs),
                pyconv.conv2d_weight(x, w.shape, gy, **kwargs), pyconv.conv2d_bias(gy))
    for (_, lx), (_, lw), (_, lb), (name, lgy) in zip(layouts(x), layouts(w), layouts(b), layouts(gy)):
        expected_dtype = np.float64 if name == "list" else dtype
        got = (pyconv.conv2d(lx, lw, lb, **kwargs), pyconv.conv2d_input(x.shape, lw, lgy, **kwargs),
               pyconv.conv2d_weight(lx, w.shape, lgy, **kwargs), pyconv.conv2d_bias(lgy))
        for g, e in zip(got, expected):
            assert g.dtype == expected_dtype, name
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6, err_msg=name)


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, w = random_array(rng, (2, 3, 6, 6), np.float32), random_array(rng, (4, 3, 3, 3), np.float32)
    y = pyconv.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1)
    np.testing.assert_array_equal(y, pyconv.conv2d(x, w, padding=1))
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_other_arrays_are_cast_to_the_input_dtype():
    rng = np.random.default_rng(5)
    x, w = random_array(rng, (1, 2, 5, 5), np.float32), random_array(rng, (3, 2, 3, 3), np.float64)
    y = pyconv.conv2d(x, w, np.ones(3))
    assert y.dtype == np.float32
    assert pyconv.conv2d(x.astype(np.float64), w.astype(np.float32)).dtype == np.float64
    assert pyconv.conv2d_input(x.shape, w.astype(np.float32), y.astype(np.float64)).dtype == np.float32
    assert pyconv.conv2d_weight(x, w.shape, y.astype(np.float64)).dtype == np.float32


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
def test_out_receives_the_result(algorithm):
    rng = np.random.default_rng(6)
    x, w = random_array(rng, (2, 3, 6, 6), np.float64), random_array(rng, (4, 3, 3, 3), np.float64)
    out = np.full((2, 4, 4, 4), np.nan)
    y = pyconv.conv2d(x, w, out=out, algorithm=algorithm)
    assert y is out
    np.testing.assert_array_equal(out, pyconv.conv2d(x, w, algorithm=algorithm))


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
def test_arguments_are_not_modified(algorithm):
    rng = np.random.default_rng(7)
    args = [random_array(rng, s, np.float32) for s in [(2, 4, 6, 6), (4, 2, 3, 3), (4,), (2, 4, 6, 6)]]
    x, w, b, gy = args
    copies = [a.copy() for a in args]
    kwargs = dict(padding=1, groups=2, algorithm=algorithm)
    pyconv.conv2d(x, w, b, **kwargs)
    pyconv.conv2d_input(x.shape, w, gy, **kwargs)
    pyconv.conv2d_weight(x, w.shape, gy, **kwargs)
    pyconv.conv2d_bias(gy)
    col = pyconv.im2col(x, 3, padding=1)
    col_copy = col.copy()
    pyconv.col2im(col, (6, 6), 3, padding=1)
    for a, c in zip(args + [col], copies + [col_copy]):
        np.testing.assert_array_equal(a, c)


# ---- threads ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 3, 7, 16, 17])
def test_implicit_forward_over_chunks_of_images(dtype, n):
    """The implicit-GEMM forward runs chunks of up to 15 images of 6x6 outputs (512 pixels): one
    chunk per thread when the batch has as many images as threads (at 16 threads, 17 images:
    16 chunks of one, then one with every thread inside it), whole rounds of chunks otherwise.
    Every split matches the reference, bit for bit at any thread count."""
    x_shape, w_shape, kwargs = (n, 4, 12, 12), (6, 4, 3, 3), dict(stride=2, padding=1)
    rng = np.random.default_rng(14)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    assert pyconv.plan("conv2d", x_shape, w_shape, **kwargs, algorithm="im2col",
                       dtype=dtype).method == "implicit-gemm"
    one = run_forward(x, w, None, kwargs, dtype, "im2col", n_threads=1)
    for n_threads in (2, 3, 4, 16):
        np.testing.assert_array_equal(pyconv.conv2d(x, w, **kwargs, algorithm="im2col", n_threads=n_threads), one)


@pytest.mark.parametrize("dtype", DTYPES)
def test_weight_gradient_team_steps_of_several_blocks(dtype):
    """A weight gradient with few taps x filters (27 x 32) on the taps-as-rows team: a team of
    several threads packs several KC blocks of the 8000 pixels between two barriers, the last
    step partial. It matches the reference, bit for bit at any thread count."""
    x_shape, w_shape, kwargs = (5, 3, 40, 40), (32, 3, 3, 3), dict(padding=1)
    rng = np.random.default_rng(15)
    x = random_array(rng, x_shape, dtype)
    gy = random_array(rng, (5, 32, 40, 40), dtype)
    assert pyconv.plan("conv2d_weight", x_shape, w_shape, **kwargs, algorithm="im2col",
                       dtype=dtype).method == "implicit-gemm"
    one = run_weight_grad(x, w_shape, gy, kwargs, dtype, "im2col")  # default threads
    for n_threads in (1, 3, 4, 16):
        np.testing.assert_array_equal(
            pyconv.conv2d_weight(x, w_shape, gy, **kwargs, algorithm="im2col", n_threads=n_threads), one)


THREAD_CASES = [
    ((5, 4, 9, 8), (6, 4, 3, 3), dict(padding=1)),
    ((3, 6, 8, 7), (6, 1, 3, 3), dict(padding=1, groups=6, stride=2)),
    ((1, 8, 7, 7), (8, 8, 1, 1), {}),
]


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
@pytest.mark.parametrize("case", range(len(THREAD_CASES)))
def test_thread_counts_agree(case, algorithm):
    x_shape, w_shape, kwargs = THREAD_CASES[case]
    rng = np.random.default_rng(8)
    x, w = random_array(rng, x_shape, np.float32), random_array(rng, w_shape, np.float32)
    b = random_array(rng, w_shape[0], np.float32)
    y1 = pyconv.conv2d(x, w, b, **kwargs, algorithm=algorithm, n_threads=1)
    gy = random_array(rng, y1.shape, np.float32)
    gx1 = pyconv.conv2d_input(x_shape, w, gy, **kwargs, algorithm=algorithm, n_threads=1)
    gw1 = pyconv.conv2d_weight(x, w_shape, gy, **kwargs, algorithm=algorithm, n_threads=1)
    gb1 = pyconv.conv2d_bias(gy, n_threads=1)
    col1 = pyconv.im2col(x, w_shape[2:], n_threads=1)
    for n_threads in [2, 3]:
        np.testing.assert_allclose(pyconv.conv2d(x, w, b, **kwargs, algorithm=algorithm, n_threads=n_threads),
                                   y1, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            pyconv.conv2d_input(x_shape, w, gy, **kwargs, algorithm=algorithm, n_threads=n_threads),
            gx1, rtol=1e-5, atol=1e-5)
        # the weight gradient sums over the batch in a fixed order: bit-identical
        np.testing.assert_array_equal(
            pyconv.conv2d_weight(x, w_shape, gy, **kwargs, algorithm=algorithm, n_threads=n_threads), gw1)
        np.testing.assert_array_equal(pyconv.conv2d_bias(gy, n_threads=n_threads), gb1)
        np.testing.assert_array_equal(pyconv.im2col(x, w_shape[2:], n_threads=n_threads), col1)


def test_concurrent_calls_agree_with_serial():
    rng = np.random.default_rng(9)
    jobs = []
    for i in range(12):
        x = random_array(rng, (2, 4, 10, 9), np.float32)
        w = random_array(rng, (6, 4, 3, 3), np.float32)
        gy = random_array(rng, (2, 6, 8, 7), np.float32)
        algorithm = ["direct", "im2col"][i % 2]
        jobs.append((x, w, gy, algorithm))

    def run(job):
        x, w, gy, algorithm = job
        return (pyconv.conv2d(x, w, algorithm=algorithm, n_threads=2),
                pyconv.conv2d_input(x.shape, w, gy, algorithm=algorithm, n_threads=2),
                pyconv.conv2d_weight(x, w.shape, gy, algorithm=algorithm, n_threads=2))

    serial = [run(job) for job in jobs]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        concurrent_results = list(pool.map(run, jobs))
    for s, c in zip(serial, concurrent_results):
        for a, b in zip(s, c):
            np.testing.assert_array_equal(a, b)
