"""pyconv.dask on a 2-worker process cluster (dask.distributed LocalCluster(processes=True)):
every chunking hypothesis draws (batch, channel and spatial chunks, uneven ones and chunks
smaller than the stride or the halo) gives one whole-array pyconv call's result, bit for bit
for the forward ops chunked along the batch axis only. Skipped without dask.distributed."""
import pickle
import re

import numpy as np
import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

import dask.array as da  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import pyconv  # noqa: E402
import pyconv.dask  # noqa: E402

# each example is a cluster round trip (tens of ms): fewer than the profile's default
CLUSTER_SETTINGS = settings(max_examples=25)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def _tolerance(dtype, k):
    """Absolute tolerance of a reduction of k products of values in [-1, 1]."""
    return 8 * np.finfo(dtype).eps * max(k, 1)


@st.composite
def axis_chunks(draw, size):
    """A chunking of an axis of the given size: sorted cut points, so chunks of 1 come up."""
    if size <= 1:
        return (size,)
    cuts = sorted(draw(st.sets(st.integers(1, size - 1), max_size=4)))
    bounds = [0] + cuts + [size]
    return tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))


@st.composite
def chunked_input(draw, batch_only=False, channels_whole=False):
    n, c = draw(st.integers(0, 4)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 13)), draw(st.integers(1, 13))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).uniform(-1, 1, (n, c, h, w)).astype(dtype)
    chunks = (draw(axis_chunks(n)),
              (c,) if batch_only or channels_whole else draw(axis_chunks(c)),
              (h,) if batch_only else draw(axis_chunks(h)),
              (w,) if batch_only else draw(axis_chunks(w)))
    return x, da.from_array(x, chunks=chunks)


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@st.composite
def conv_args(draw, c_in):
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if c_in % g == 0]))
    c_out = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    weight = np.random.default_rng(draw(st.integers(0, 99))).uniform(-1, 1, (c_out, c_in // groups, kh, kw))
    stride, dilation = draw(pairs), draw(pairs)
    padding = draw(st.one_of(st.integers(0, 4), st.sampled_from(["valid", "full"]),
                             st.tuples(st.tuples(st.integers(0, 4), st.integers(0, 4)),
                                       st.tuples(st.integers(0, 4), st.integers(0, 4)))))
    if draw(st.booleans()):
        stride, padding = (1, 1), "same"
    bias = draw(st.one_of(st.none(), st.just(np.linspace(-1, 1, c_out))))
    return weight, bias, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@st.composite
def pool_args(draw, op):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    args = dict(kernel_size=(kh, kw), stride=draw(st.one_of(st.none(), pairs)),
                padding=(draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))),
                ceil_mode=draw(st.booleans()))
    if op == "max_pool2d":
        args["dilation"] = draw(pairs)
    else:
        args["count_include_pad"] = draw(st.booleans())
        args["divisor_override"] = draw(st.sampled_from([None, 3]))
    return args


def _whole(op, x, *operands, **kwargs):
    """One whole-array pyconv call, or None (hypothesis rejects the example) when pyconv rejects
    the geometry: then pyconv.dask must reject it with the same error."""
    try:
        return getattr(pyconv, op)(x, *operands, **kwargs)
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc).split(":")[0])):
            getattr(pyconv.dask, op)(da.from_array(x), *operands, **kwargs)
        assume(False)


@CLUSTER_SETTINGS
@given(data=st.data(), batch_only=st.booleans())
def test_conv2d_matches_one_call(client, data, batch_only):
    x, xd = data.draw(chunked_input(batch_only=batch_only))
    weight, bias, kwargs = data.draw(conv_args(x.shape[1]))
    want = _whole("conv2d", x, weight, bias, **kwargs)
    lazy = pyconv.dask.conv2d(xd, weight, bias, **kwargs)
    assert lazy.shape == want.shape and lazy.dtype == want.dtype
    got = lazy.compute(scheduler=client)
    if batch_only:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=_tolerance(x.dtype, weight[0].size))


@CLUSTER_SETTINGS
@given(data=st.data(), op=st.sampled_from(["max_pool2d", "avg_pool2d"]), batch_only=st.booleans())
def test_pooling_matches_one_call(client, data, op, batch_only):
    x, xd = data.draw(chunked_input(batch_only=batch_only))
    kwargs = data.draw(pool_args(op))
    want = _whole(op, x, **kwargs)
    got = getattr(pyconv.dask, op)(xd, **kwargs).compute(scheduler=client)
    if batch_only or op == "max_pool2d":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=_tolerance(x.dtype, 16))


@settings(max_examples=15)  # two graphs per example
@given(data=st.data())
def test_gradients_match_one_call(client, data):
    x, xd = data.draw(chunked_input())
    weight, _, kwargs = data.draw(conv_args(x.shape[1]))
    y = _whole("conv2d", x, weight, **kwargs)
    gy = np.random.default_rng(1).uniform(-1, 1, y.shape).astype(x.dtype)
    gyd = da.from_array(gy, chunks=(xd.chunks[0][::-1], 1, -1, -1))
    gx = pyconv.dask.conv2d_input(x.shape, weight, gyd, **kwargs).compute(scheduler=client)
    np.testing.assert_allclose(gx, pyconv.conv2d_input(x.shape, weight, gy, **kwargs), rtol=0,
                               atol=_tolerance(x.dtype, y.shape[1] * weight[0, 0].size))
    gw = pyconv.dask.conv2d_weight(xd, weight.shape, gyd, **kwargs).compute(scheduler=client)
    np.testing.assert_allclose(gw, pyconv.conv2d_weight(x, weight.shape, gy, **kwargs), rtol=0,
                               atol=_tolerance(x.dtype, x.shape[0] * y.shape[2] * y.shape[3]))


def test_chunks_smaller_than_the_halo_and_the_stride(client):
    """A 5x5 window at stride 3 over chunks of 1 and 2 rows: most chunks own no output row and
    every tile gathers several chunks."""
    x = np.random.default_rng(2).uniform(-1, 1, (2, 2, 17, 16)).astype(np.float32)
    w = np.random.default_rng(3).uniform(-1, 1, (3, 2, 5, 5)).astype(np.float32)
    xd = da.from_array(x, chunks=(2, 2, (1, 2, 1, 1, 2, 10), 5))
    got = pyconv.dask.conv2d(xd, w, stride=3, padding=2).compute(scheduler=client)
    np.testing.assert_allclose(got, pyconv.conv2d(x, w, stride=3, padding=2), rtol=0, atol=1e-5)
    got = pyconv.dask.max_pool2d(xd, 5, stride=3, padding=2, dilation=2).compute(scheduler=client)
    np.testing.assert_array_equal(got, pyconv.max_pool2d(x, 5, stride=3, padding=2, dilation=2))


def test_windows_wholly_in_the_padding(client):
    """Output rows whose windows lie in the bottom padding (the bias alone): their tile starts
    before the last chunk, which holds fewer rows than the stride."""
    x = np.random.default_rng(6).uniform(-1, 1, (1, 2, 6, 3))
    w = np.random.default_rng(7).uniform(-1, 1, (2, 2, 1, 1))
    kwargs = dict(stride=3, padding=3)
    got = pyconv.dask.conv2d(da.from_array(x, chunks=(1, 2, (5, 1), 3)), w, np.ones(2), **kwargs)
    np.testing.assert_allclose(got.compute(scheduler=client), pyconv.conv2d(x, w, np.ones(2), **kwargs),
                               rtol=0, atol=1e-15)


def test_weight_is_one_key_not_a_constant_per_task():
    """The scheduler holds one copy of the weight however many tiles there are: the pickled
    graph is about the weight's size, not tiles times it."""
    weight = np.ones((64, 64, 3, 3))  # 295 KiB
    xd = da.zeros((8, 64, 64, 64), chunks=(1, 64, 8, 8))  # 512 tiles
    lazy = pyconv.dask.conv2d(xd, weight, padding=1)
    graph = dict(lazy.__dask_graph__())
    assert len(pickle.dumps(graph)) < 2 * weight.nbytes
    from_weight = [key for key in graph if isinstance(key, tuple) and str(key[0]).startswith("weight-")]
    assert len(from_weight) == 1


def test_dask_weight_and_bias(client):
    x = np.random.default_rng(4).uniform(-1, 1, (3, 4, 9, 9))
    w = np.random.default_rng(5).uniform(-1, 1, (6, 4, 3, 3))
    b = np.arange(6.0)
    got = pyconv.dask.conv2d(da.from_array(x, chunks=(1, 2, 4, 5)), da.from_array(w, chunks=2),
                             da.from_array(b, chunks=4), padding="same").compute(scheduler=client)
    np.testing.assert_allclose(got, pyconv.conv2d(x, w, b, padding="same"), rtol=0, atol=1e-13)


def test_bad_arguments_are_named():
    x = da.zeros((2, 3, 8, 8), chunks=(1, 3, 4, 4), dtype=np.float32)
    w = np.zeros((4, 3, 3, 3), np.float32)
    with pytest.raises(TypeError, match="input: expected a dask array"):
        pyconv.dask.conv2d(np.zeros((2, 3, 8, 8)), w)
    with pytest.raises(ValueError, match="input: expected a 4-d"):
        pyconv.dask.max_pool2d(x[0], 2)
    with pytest.raises(ValueError, match="input: expected known chunk sizes"):
        pyconv.dask.avg_pool2d(x[x[:, 0, 0, 0] > 0], 2)
    with pytest.raises(ValueError, match="padding"):
        pyconv.dask.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match="weight"):
        pyconv.dask.conv2d(x, np.zeros((4, 2, 3, 3), np.float32))
    with pytest.raises(ValueError, match="n_threads"):
        pyconv.dask.max_pool2d(x, 2, n_threads=0)
    with pytest.raises(ValueError, match="grad_output: expected 3 images"):
        pyconv.dask.conv2d_input((3, 3, 8, 8), w, da.zeros((2, 4, 6, 6), chunks=1))
    with pytest.raises(ValueError, match="grad_output: expected 2 images"):
        pyconv.dask.conv2d_weight(x, w.shape, da.zeros((3, 4, 6, 6), chunks=1))
