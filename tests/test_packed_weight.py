"""pyconv.PackedWeight: a conv2d weight packed once for many forward passes (inference).

Against pyconv.reference on generated geometries, bit-identical to the unpacked weight (the same
micro-kernel sums the same products in the same order), and its boundary: groups, dtypes, the
caller's array, pickling, misaligned buffers in the C API."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconv
from pyconv import _conv
from pyconv.conv import _weight_geometry
from test_conv import ALGORITHMS, DTYPES, conv_cases, random_array, run_forward


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=40)
@given(case=conv_cases(max_batch=2, max_cin_g=20, max_cout_g=40), with_bias=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_matches_reference_and_the_unpacked_weight(dtype, algorithm, case, with_bias, seed):
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(seed)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    b = random_array(rng, w_shape[0], dtype) if with_bias else None
    expected = run_forward(x, w, b, kwargs, dtype, algorithm)  # within the reference's bound
    packed = pyconv.PackedWeight(w, groups=kwargs["groups"])
    np.testing.assert_array_equal(pyconv.conv2d(x, packed, b, **kwargs, algorithm=algorithm), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((1, 512, 7, 7), (512, 512, 3, 3), dict(padding=1)),     # ResNet's last stage: few pixels
    ((1, 160, 7, 7), (960, 160, 1, 1), {}),                   # MobileNetV2 pointwise
    ((3, 64, 30, 30), (100, 32, 3, 3), dict(groups=2, stride=2)),  # several chunks of images
])
def test_network_layers_bit_identical(dtype, x_shape, w_shape, kwargs):
    """Layers with many filters and taps (micro-panels and KC blocks) under every thread count,
    with the fused output stage."""
    rng = np.random.default_rng(7)
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    b = random_array(rng, w_shape[0], dtype)
    packed = pyconv.PackedWeight(w, groups=kwargs.get("groups", 1))
    for n_threads in (1, 2, 3):
        expected = pyconv.conv2d(x, w, b, **kwargs, algorithm="im2col", n_threads=n_threads,
                                 activation="relu")
        got = pyconv.conv2d(x, packed, b, **kwargs, algorithm="im2col", n_threads=n_threads,
                            activation="relu")
        np.testing.assert_array_equal(got, expected)


def test_holds_a_read_only_copy():
    w = np.ones((4, 3, 3, 3), np.float32)
    packed = pyconv.PackedWeight(w)
    w[:] = 2  # the caller's later change does not reach the packed weight
    x = np.ones((1, 3, 5, 5), np.float32)
    np.testing.assert_array_equal(pyconv.conv2d(x, packed), pyconv.conv2d(x, np.ones_like(w)))
    assert not packed.weight.flags.writeable
    with pytest.raises(ValueError):
        packed.weight[0] = 0
    assert (packed.shape, packed.dtype, packed.ndim, packed.groups) == ((4, 3, 3, 3), np.float32, 4, 1)
    np.testing.assert_array_equal(np.asarray(packed), np.ones_like(w))


def test_other_dtypes_and_ops_read_the_weight():
    """A float64 input casts the float32 weight (its packed form does not serve); the gradients
    and conv1d-style uses accept a PackedWeight as the array it holds."""
    rng = np.random.default_rng(3)
    w = random_array(rng, (6, 4, 3, 3), np.float32)
    packed = pyconv.PackedWeight(w)
    x64 = random_array(rng, (2, 4, 8, 8), np.float64)
    np.testing.assert_array_equal(pyconv.conv2d(x64, packed), pyconv.conv2d(x64, w))
    gy = random_array(rng, (2, 6, 6, 6), np.float32)
    np.testing.assert_array_equal(pyconv.conv2d_input((2, 4, 8, 8), packed, gy),
                                  pyconv.conv2d_input((2, 4, 8, 8), w, gy))
    x = random_array(rng, (2, 4, 8, 8), np.float32)
    np.testing.assert_array_equal(pyconv.conv2d(x, packed, padding=1, padding_mode="reflect"),
                                  pyconv.conv2d(x, w, padding=1, padding_mode="reflect"))


def test_pickles_by_packing_again():
    w = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)
    again = pickle.loads(pickle.dumps(pyconv.PackedWeight(w)))
    x = np.ones((1, 3, 4, 4))
    np.testing.assert_array_equal(pyconv.conv2d(x, again), pyconv.conv2d(x, w))


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(weight=np.ones((4, 3, 3)), groups=1), ValueError, ["weight", "4-d"]),
    (dict(weight=np.ones((4, 3, 3, 3), np.int32), groups=1), TypeError, ["weight", "int32"]),
    (dict(weight=np.ones((4, 3, 3, 3)), groups=0), ValueError, ["groups"]),
    (dict(weight=np.ones((5, 3, 3, 3)), groups=2), ValueError, ["groups", "5"]),
    (dict(weight=np.ones((4, 3, 0, 3)), groups=1), ValueError, ["kernel_size"]),
    (dict(weight="weights", groups=1), TypeError, ["weight"]),
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as info:
        pyconv.PackedWeight(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_groups_must_match_the_packing():
    packed = pyconv.PackedWeight(np.ones((4, 2, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="groups: the weight was packed for groups=2, got 1"):
        pyconv.conv2d(np.ones((1, 2, 5, 5)), packed)
    assert pyconv.conv2d(np.ones((1, 4, 5, 5)), packed, groups=2).shape == (1, 4, 3, 3)


def test_misaligned_packed_buffer_is_refused():
    """The C entry points refuse a packed buffer off the 64-byte boundary its vector loads need."""
    w = np.ones((32, 8, 3, 3), np.float32)
    geo = _weight_geometry((1, 8, 3, 3), w.shape, 1, 0, 1, 1)
    size = _conv.packed_size(geo, 4)
    buffer = np.empty(size + 32, np.float32)
    start = (-buffer.ctypes.data % 64) // 4 + 1  # 4 bytes past a boundary
    with pytest.raises(ValueError):
        _conv.pack_weight(geo, w.reshape(-1), buffer[start:start + size], 1)
