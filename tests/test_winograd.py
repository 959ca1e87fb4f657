"""algorithm="winograd" (F(4x4, 3x3)) against pyconv.reference: forward (with the fused output
stage: bias, residual, activation), input and weight gradients, both dtypes, on generated eligible shapes
(non-square images, sizes not multiples of the tile, 1x1 and 2x2 images with padding, padding
0-3 and asymmetric, groups), N = 0, adversarial magnitudes, NaN / inf, thread counts, and the
ValueError for ineligible shapes.

Tolerance. Winograd rounds the transforms of each tile's whole 6x6 input patch, so its error is
bounded by the magnitudes of that patch (pyconv.reference.winograd_magnitude: per output, the sum
over channels of |x| over the 9x9 window holding every patch its tile can read, times the sum of
|w| over the taps), not by the 3x3 window's conv(|x|, |w|) of the other algorithms' bound:
    |got - exact| <= WINOGRAD_TOL_FACTOR * eps * sqrt(K) * winograd_magnitude,  K = 9 C_in / groups.
`python -m bench.winograd_error` measures at most 0.032 for this factor on unit-normal data with
8-512 channels (docs/winograd.md); `python -m bench.winograd_error --random-shapes 3000` at most
0.35 over random small shapes of this file's kind (uniform data, 8-20 channels, large padding):
calls of at most 8 tiles, by the fused micro-kernel (AVX-512) and by the GEMM path
(PYCONV_ARCH=avx2: 0.30) alike, where the transforms' rounding is not diluted by a long sum.
WINOGRAD_TOL_FACTOR = 1 leaves a margin of 2.9 over that worst case. (It was 0.25, from 60
shapes, until the hypothesis dev profile found a 1x8x1x1 float64 input at 0.27 on the GEMM path's
rounding and a 1-tile float32 one at 0.26 on the fused kernel's, 2026-12-01.)

The weight gradient sums, per filter and channel, the products of the tiles' transformed 4x4
blocks of grad_output and 6x6 input patches, 36 of them per tile, then transforms back
(pyconv.reference.winograd_weight_magnitude: the sum over tiles of |gy|'s tile sum times |x|'s
patch sum):
    |got - exact| <= WINOGRAD_WEIGHT_TOL_FACTOR * eps * sqrt(K) * winograd_weight_magnitude,
    K = 36 * tiles, tiles = N * ceil(H_out / 4) * ceil(W_out / 4)
(the N H_out W_out reduction in 4x4 tiles, each a 36-term transform). Measured: at most 0.017
on unit-normal data with 8-512 channels, 0.13 over 300 random small shapes with uniform data and
8-20 channels, 0.55 over 600 shapes of 1-4 tiles (1x1 to 3x3 images: the transforms' rounding,
which a longer sum does not dilute, dominates); WINOGRAD_WEIGHT_TOL_FACTOR = 2 leaves a margin
of 3.6 (docs/winograd.md)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconv
from pyconv import reference

DTYPES = [np.float32, np.float64]
WINOGRAD_TOL_FACTOR = 1.0
WINOGRAD_WEIGHT_TOL_FACTOR = 2.0


@st.composite
def winograd_cases(draw):
    """(input_shape, weight_shape, kwargs, pads) of an eligible convolution: 3x3, stride 1,
    dilation 1, 8-20 input and output channels per group, images from 1x1 up, any padding form."""
    groups = draw(st.integers(1, 2))
    cin_g, cout_g = draw(st.integers(8, 20)), draw(st.integers(8, 20))
    kind = draw(st.sampled_from(["int", "asym", "same", "valid", "full"]))
    if kind == "int":
        padding = draw(st.integers(0, 3))
        pads = (padding,) * 4
    elif kind == "asym":
        pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
        padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    else:
        padding, pads = kind, {"same": (1,) * 4, "valid": (0,) * 4, "full": (2,) * 4}[kind]
    h_min, w_min = max(1, 3 - pads[0] - pads[1]), max(1, 3 - pads[2] - pads[3])
    h, w = draw(st.integers(h_min, h_min + 13)), draw(st.integers(w_min, w_min + 13))
    n = draw(st.integers(1, 3))
    kwargs = dict(padding=padding, groups=groups)
    return (n, cin_g * groups, h, w), (cout_g * groups, cin_g, 3, 3), kwargs, pads


def assert_winograd_close(got, exact, magnitude, k, dtype, factor=WINOGRAD_TOL_FACTOR):
    assert got.dtype == np.dtype(dtype) and got.shape == exact.shape
    bound = factor * np.finfo(dtype).eps * np.sqrt(k) * magnitude
    err = np.abs(got.astype(np.float64) - exact)
    worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.size else None
    assert np.all(err <= bound), f"error {err[worst]} > bound {bound[worst]} at {worst}"


def check_forward(x, w, b, kwargs, pads, dtype, **extra):
    got = pyconv.conv2d(x, w, b, **kwargs, algorithm="winograd", **extra)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    exact = reference.conv2d(x64, w64, None if b is None else b.astype(np.float64), **kwargs)
    magnitude = reference.winograd_magnitude(x64, w64, pads, kwargs.get("groups", 1))
    if b is not None:
        magnitude = magnitude + np.abs(b.astype(np.float64))[:, None, None]
    assert_winograd_close(got, exact, magnitude, w[0].size, dtype)
    return got


def check_input_grad(x_shape, w, gy, kwargs, pads, dtype):
    """The input gradient runs as the forward of gy with the flipped weights, transposed per
    group, and padding 2 - pad (negative: a crop); its magnitude is that forward's."""
    got = pyconv.conv2d_input(x_shape, w, gy, **kwargs, algorithm="winograd")
    w64, gy64 = w.astype(np.float64), gy.astype(np.float64)
    exact = reference.conv2d_input(x_shape, w64, gy64, **kwargs)
    groups = kwargs.get("groups", 1)
    cout_g = w.shape[0] // groups
    w_t = np.concatenate([w64[g * cout_g:(g + 1) * cout_g, :, ::-1, ::-1].transpose(1, 0, 2, 3)
                          for g in range(groups)])
    magnitude = reference.winograd_magnitude(gy64, w_t, tuple(2 - p for p in pads), groups)
    assert_winograd_close(got, exact, magnitude, cout_g * 9, dtype)


def check_weight_grad(x, w_shape, gy, kwargs, pads, dtype, **extra):
    got = pyconv.conv2d_weight(x, w_shape, gy, **kwargs, algorithm="winograd", **extra)
    x64, gy64 = x.astype(np.float64), gy.astype(np.float64)
    exact = reference.conv2d_weight(x64, w_shape, gy64, **kwargs)
    magnitude = reference.winograd_weight_magnitude(x64, gy64, pads, kwargs.get("groups", 1))
    tiles = gy.shape[0] * -(-gy.shape[2] // 4) * -(-gy.shape[3] // 4)
    assert_winograd_close(got, exact, magnitude, 36 * tiles, dtype, WINOGRAD_WEIGHT_TOL_FACTOR)
    return got


@pytest.mark.parametrize("dtype", DTYPES)
@given(case=winograd_cases(), with_bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_winograd_matches_reference(dtype, case, with_bias, seed):
    x_shape, w_shape, kwargs, pads = case
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(dtype)
    w = rng.uniform(-1, 1, w_shape).astype(dtype)
    b = rng.uniform(-1, 1, w_shape[0]).astype(dtype) if with_bias else None
    y = check_forward(x, w, b, kwargs, pads, dtype)
    packed = pyconv.PackedWeight(w, groups=kwargs.get("groups", 1))
    np.testing.assert_array_equal(pyconv.conv2d(x, packed, b, **kwargs, algorithm="winograd"), y)
    gy = rng.uniform(-1, 1, y.shape).astype(dtype)
    check_input_grad(x_shape, w, gy, kwargs, pads, dtype)
    check_weight_grad(x, w_shape, gy, kwargs, pads, dtype)


@pytest.mark.parametrize("activation", [None] + list(reference.ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25)
@given(case=winograd_cases(), with_residual=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_fused_output_stage(dtype, activation, case, with_residual, seed):
    """y = activation(conv + bias + residual), applied where the output transform stores y: the
    sum's bound carries over through the activation (at most 1.1-Lipschitz), plus the residual's
    and the activation's own rounding (a few eps of the result), as in test_conv."""
    x_shape, w_shape, kwargs, pads = case
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(dtype)
    w = rng.uniform(-1, 1, w_shape).astype(dtype)
    b = rng.uniform(-1, 1, w_shape[0]).astype(dtype)
    y_shape = reference.conv2d(x, w, **kwargs).shape
    r = rng.uniform(-4, 4, y_shape).astype(dtype) if with_residual else None
    got = pyconv.conv2d(x, w, b, **kwargs, algorithm="winograd", activation=activation, residual=r)
    x64, w64, b64 = x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
    expected = reference.conv2d(x64, w64, b64, **kwargs, activation=activation,
                                residual=None if r is None else r.astype(np.float64))
    magnitude = (reference.winograd_magnitude(x64, w64, pads, kwargs["groups"])
                 + np.abs(b64)[:, None, None])
    eps = np.finfo(dtype).eps
    bound = 1.1 * (WINOGRAD_TOL_FACTOR * eps * np.sqrt(w[0].size) * magnitude
                   + (eps * np.abs(r) if with_residual else 0)) + 4 * eps * np.abs(expected)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_less(np.abs(got.astype(np.float64) - expected) - bound, 1e-300)


CORNERS = {
    "1x1 image": ((2, 8, 1, 1), (8, 8, 3, 3), dict(padding=1), (1,) * 4),
    "1x1 image, one tile": ((1, 8, 1, 1), (9, 8, 3, 3), dict(padding=1), (1,) * 4),
    "2x2 image, padding 2": ((1, 9, 2, 2), (10, 9, 3, 3), dict(padding=2), (2,) * 4),
    "tall image, crop gradient": ((2, 8, 13, 3), (8, 8, 3, 3), dict(padding=3), (3,) * 4),
    "sides 1 over the tile": ((1, 16, 9, 13), (24, 16, 3, 3), dict(padding=0), (0,) * 4),
    # several KC blocks of channels, several micro-panels of filters, two groups
    "many channels": ((2, 600, 6, 7), (80, 300, 3, 3), dict(padding=1, groups=2), (1,) * 4),
    # the weight gradient's grad_output transform too large for its one-block path in L2
    "one block, many filters": ((2, 8, 32, 32), (512, 8, 3, 3), dict(padding=1), (1,) * 4),
    # several blocks of tiles
    "many tiles": ((3, 8, 47, 45), (8, 8, 3, 3), dict(padding=((2, 0), (1, 2))), (2, 0, 1, 2)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CORNERS))
def test_winograd_corner_cases(name, dtype):
    x_shape, w_shape, kwargs, pads = CORNERS[name]
    rng = np.random.default_rng(2)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    y = check_forward(x, w, rng.standard_normal(w_shape[0]).astype(dtype), kwargs, pads, dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    check_input_grad(x_shape, w, gy, kwargs, pads, dtype)
    check_weight_grad(x, w_shape, gy, kwargs, pads, dtype)


@pytest.mark.parametrize("scale", [1e15, 1e-15])
def test_large_and_tiny_values(scale):
    """float32 values far from 1 (products near 1e30 and 1e-30, still normal numbers): the same
    relative accuracy."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, 16, 11, 10)) * scale).astype(np.float32)
    w = (rng.standard_normal((16, 16, 3, 3)) * scale).astype(np.float32)
    check_forward(x, w, None, dict(padding=1), (1,) * 4, np.float32)
    check_input_grad(x.shape, w, x, dict(padding=1), (1,) * 4, np.float32)
    check_weight_grad(x, w.shape, x, dict(padding=1), (1,) * 4, np.float32)


@pytest.mark.parametrize("op", ["conv2d", "conv2d_weight"])
def test_nan_and_inf_propagate(op):
    """Every output (weight, for the weight gradient) the reference makes NaN or infinite is NaN
    or infinite here too. (Winograd may also turn the rest of that output's 4x4 tile, or that
    weight's filter and channel, NaN: the transforms mix the whole patch.)"""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 9, 13, 11))
    other = rng.standard_normal((10, 9, 3, 3) if op == "conv2d" else (2, 10, 13, 11))
    x[1, 2, 3, 4] = np.nan
    x[0, 5, 12, 0] = np.inf
    other[1, 7, 0, 2] = -np.inf

    def run(impl, dtype, **extra):
        if op == "conv2d":
            return impl.conv2d(x.astype(dtype), other.astype(dtype), padding=1, **extra)
        return impl.conv2d_weight(x.astype(dtype), (10, 9, 3, 3), other.astype(dtype), padding=1,
                                  **extra)

    with np.errstate(invalid="ignore"):
        exact = run(reference, np.float64)
    assert not np.isfinite(exact).all() and np.isfinite(exact).any()
    for dtype in DTYPES:
        got = run(pyconv, dtype, algorithm="winograd")
        assert not np.isfinite(got[~np.isfinite(exact)]).any()


@pytest.mark.parametrize("shapes", [((0, 8, 6, 6), (8, 8, 3, 3)), ((2, 8, 6, 6), (0, 8, 3, 3))])
def test_empty_sizes(shapes):
    x_shape, w_shape = shapes
    y_shape = (x_shape[0], w_shape[0], 6, 6)
    y = pyconv.conv2d(np.ones(x_shape), np.ones(w_shape), padding=1, algorithm="auto")
    assert y.shape == y_shape
    if w_shape[0]:
        assert pyconv.conv2d(np.ones(x_shape), np.ones(w_shape), padding=1,
                             algorithm="winograd").shape == y_shape
    gx = pyconv.conv2d_input(x_shape, np.ones(w_shape), np.ones(y_shape), padding=1,
                             algorithm="winograd" if w_shape[0] else "auto")
    np.testing.assert_array_equal(gx, np.zeros(x_shape))
    gw = pyconv.conv2d_weight(np.ones(x_shape), w_shape, np.ones(y_shape), padding=1,
                              algorithm="winograd" if w_shape[0] else "auto")
    np.testing.assert_array_equal(gw, np.zeros(w_shape))


@pytest.mark.parametrize("x_shape, c_out", [((3, 24, 30, 29), 40),
                                            # one block of 4 tiles (the fused micro-kernel on
                                            # AVX-512), or of 25 (the GEMM path): its filter
                                            # panels split, its V transformed once, shared
                                            ((1, 16, 7, 7), 100),
                                            ((1, 24, 20, 20), 70),
                                            # 8 tiles, one filter panel: blocks of 8, 4, 3 or 2
                                            # tiles by thread count, the same path (the call's
                                            # tiles choose it)
                                            ((2, 16, 7, 7), 20)])
def test_thread_counts_give_identical_results(x_shape, c_out):
    """Each tile and filter is computed the same way whichever block, part of the filter panels
    and thread it falls in; the weight gradient sums its tiles in blocks fixed by the shape,
    each weight by one thread, in order."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((c_out, x_shape[1], 3, 3)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    y1 = pyconv.conv2d(x, w, b, padding=1, algorithm="winograd", n_threads=1)
    gx1 = pyconv.conv2d_input(x.shape, w, y1, padding=1, algorithm="winograd", n_threads=1)
    gw1 = pyconv.conv2d_weight(x, w.shape, y1, padding=1, algorithm="winograd", n_threads=1)
    for n_threads in (2, 3, 4):
        np.testing.assert_array_equal(
            pyconv.conv2d(x, w, b, padding=1, algorithm="winograd", n_threads=n_threads), y1)
        np.testing.assert_array_equal(
            pyconv.conv2d_input(x.shape, w, y1, padding=1, algorithm="winograd",
                                n_threads=n_threads), gx1)
        np.testing.assert_array_equal(
            pyconv.conv2d_weight(x, w.shape, y1, padding=1, algorithm="winograd",
                                 n_threads=n_threads), gw1)


@pytest.mark.parametrize("x_shape, c_out, n_threads", [((1, 600, 7, 7), 300, 8),
                                                       ((1, 256, 20, 20), 130, 4)])
def test_shared_input_transform_gives_identical_results(x_shape, c_out, n_threads):
    """One block whose filter panels split over n_threads parts, with enough input transform
    that all threads make the block's V once and share it (PYCONV_WINO_SHARED_V_MIN): the fused
    micro-kernel's 4 tiles at 8 threads, the GEMM path's 25 at 4. The same bits as one thread,
    which makes V itself; forward and input gradient."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((c_out, x_shape[1], 3, 3)).astype(np.float32)
    gy = rng.standard_normal((x_shape[0], c_out, *x_shape[2:])).astype(np.float32)
    for op, args in (("conv2d", (x, w)), ("conv2d_input", (x.shape, w, gy))):
        one = getattr(pyconv, op)(*args, padding=1, algorithm="winograd", n_threads=1)
        np.testing.assert_array_equal(
            getattr(pyconv, op)(*args, padding=1, algorithm="winograd", n_threads=n_threads), one)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, c_out, groups", [
    ((1, 160, 7, 7), 40, 1),     # one block: U per panel, several input-channel depths of it
    ((1, 96, 14, 14), 70, 2),    # groups, filter panels past the last filter
    ((2, 24, 40, 40), 33, 1),    # many blocks: U transformed once for all of them
])
def test_packed_weight_gives_identical_results(dtype, x_shape, c_out, groups):
    """The filter transform reads a PackedWeight's packed taps instead of transposing the
    weights: the same taps, the same result, at any thread count."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((c_out, x_shape[1] // groups, 3, 3)).astype(dtype)
    packed = pyconv.PackedWeight(w, groups=groups)
    for n_threads in (1, 2, 3):
        np.testing.assert_array_equal(
            pyconv.conv2d(x, packed, padding=1, groups=groups, algorithm="winograd",
                          n_threads=n_threads),
            pyconv.conv2d(x, w, padding=1, groups=groups, algorithm="winograd",
                          n_threads=n_threads))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape", [(4, 16, 75, 80), (1, 16, 20, 20)])
def test_weight_gradient_is_the_same_at_any_thread_count(x_shape, dtype):
    """Several blocks of tiles (1,500 tiles), or one block summed by channels in L2 (25 tiles);
    two groups, filters over several micro-panels."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal(x_shape).astype(dtype)
    gy = rng.standard_normal((x_shape[0], 80, *x_shape[2:])).astype(dtype)
    kwargs = dict(padding=1, groups=2)
    one = check_weight_grad(x, (80, 8, 3, 3), gy, kwargs, (1,) * 4, dtype, n_threads=1)
    for n_threads in (2, 4, 8):
        np.testing.assert_array_equal(
            pyconv.conv2d_weight(x, (80, 8, 3, 3), gy, **kwargs, algorithm="winograd",
                                 n_threads=n_threads), one)


def test_arguments_are_not_modified():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 8, 9, 9))
    w = rng.standard_normal((8, 8, 3, 3))
    gy = rng.standard_normal((2, 8, 9, 9))
    copies = [a.copy() for a in (x, w, gy)]
    pyconv.conv2d(x, w, padding=1, algorithm="winograd")
    pyconv.conv2d_input(x.shape, w, gy, padding=1, algorithm="winograd")
    pyconv.conv2d_weight(x, w.shape, gy, padding=1, algorithm="winograd")
    for a, c in zip((x, w, gy), copies):
        np.testing.assert_array_equal(a, c)


def test_weight_gradient_workspace_does_not_grow_with_the_batch():
    sizes = {pyconv.plan("conv2d_weight", (n, 64, 28, 28), (64, 64, 3, 3), padding=1,
                         algorithm="winograd", n_threads=2).workspace_bytes
             for n in (8, 64, 512)}
    assert len(sizes) == 1


@pytest.mark.parametrize("w_shape, kwargs, message", [
    ((8, 8, 5, 5), dict(padding=2), "kernel must be 3x3, got 5x5"),
    ((8, 8, 3, 1), {}, "kernel must be 3x3, got 3x1"),
    ((8, 8, 3, 3), dict(stride=2), r"stride must be 1, got \(2, 2\)"),
    ((8, 8, 3, 3), dict(stride=(1, 2)), r"stride must be 1, got \(1, 2\)"),
    ((8, 8, 3, 3), dict(dilation=2, padding=2), r"dilation must be 1, got \(2, 2\)"),
    ((8, 4, 3, 3), dict(groups=2), "at least 8 input and output channels per group, got 4 and 4"),
    ((4, 8, 3, 3), {}, "at least 8 input and output channels per group, got 8 and 4"),
])
def test_ineligible_shapes_raise(w_shape, kwargs, message):
    x = np.ones((1, 8, 9, 9))
    w = np.ones(w_shape)
    with pytest.raises(ValueError, match=message):
        pyconv.conv2d(x, w, **kwargs, algorithm="winograd")
    y = pyconv.conv2d(x, w, **kwargs)
    with pytest.raises(ValueError, match=message):
        pyconv.conv2d_input(x.shape, w, y, **kwargs, algorithm="winograd")
    with pytest.raises(ValueError, match=message):
        pyconv.conv2d_weight(x, w.shape, y, **kwargs, algorithm="winograd")
