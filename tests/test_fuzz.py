"""Fuzz every public function with random and hostile arguments, in a child process.

Each call must return or raise ValueError / TypeError / MemoryError / OverflowError, must not
crash or hang the (child) interpreter, and must leave its argument arrays unchanged. Calls are
either fully random per parameter, or a consistent small call (matching shapes) with one or two
parameters replaced by hostile values: wrong ndim or shape, zero and huge sizes, negative and
overflowing ints, floats / None / strings where ints go, tuples of the wrong length, int / bool
/ float16 / complex / big-endian / read-only / strided / Fortran-order arrays, nested lists,
max-pool indices out of range."""
import inspect

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import pyconv
from child_process import LAYOUTS, ChildPyconv, Layout
from pyconv._args import output_size

ALLOWED_ERRORS = {"ValueError", "TypeError", "MemoryError", "OverflowError"}

ARRAY_PARAMS = {"input", "weight", "bias", "grad_output", "a", "b", "c", "out", "indices"}
SHAPE_PARAMS = {"input_size", "weight_size", "output_size"}
BOOL_PARAMS = {"ceil_mode", "count_include_pad", "return_indices", "trans_a", "trans_b"}
FLOAT_PARAMS = {"alpha", "beta"}

BIG_INTS = [2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64, 10 ** 30]
NEGATIVE_INTS = [-1, -2, -2 ** 31, -2 ** 63, -2 ** 64]
NOT_INTS = [None, 1.5, 2.0, float("nan"), float("inf"), True, False, "2", b"2", 1j,
            np.float32(2.0), np.uint64(2 ** 64 - 1), np.int8(-1), [], (), "same", "full",
            "valid", "bogus", {"a": 1}]
# Thread counts stay small (or are refused): the child must not build a team of a thousand.
THREAD_COUNTS = [None, 1, 2, 3, 0, -1, 1025, 2 ** 31, 2 ** 63, 1.5, True, "2", np.int64(2)]

hostile_int = st.one_of(st.integers(-2, 5), st.sampled_from(BIG_INTS + NEGATIVE_INTS + NOT_INTS))
int_or_pair = st.one_of(
    hostile_int, st.tuples(hostile_int, hostile_int), st.lists(hostile_int, max_size=4),
    st.tuples(st.tuples(hostile_int, hostile_int), st.tuples(hostile_int, hostile_int)),
    st.tuples(st.tuples(hostile_int), st.tuples(hostile_int, hostile_int, hostile_int)))
shape_like = st.one_of(
    st.lists(st.integers(0, 6), min_size=0, max_size=6).map(tuple),
    st.lists(hostile_int, min_size=0, max_size=5).map(tuple),
    st.sampled_from(NOT_INTS + BIG_INTS))
bool_like = st.sampled_from([True, False, None, 0, 1, 2, "yes", 1.5, np.bool_(True)])
float_like = st.sampled_from([0.0, 1.0, -2.5, 1e308, float("nan"), float("inf"), None, "1", 1j, 3])
algorithm_like = st.sampled_from(["auto", "direct", "im2col", "gemm", "", None, 1, b"auto"])
DTYPES = [np.float32, np.float64, np.float32, np.float64, np.float16, np.int32, np.int64,
          np.uint8, np.bool_, np.complex64, np.complex128, np.dtype(">f8")]


@st.composite
def arrays(draw, shape=None, dtype=None, layout=None):
    """A Layout: values from a seeded generator (sometimes NaN / inf), a dtype, a memory layout."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 5), max_size=5)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)) if dtype is None else dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    values = rng.standard_normal(shape)
    if values.size and draw(st.integers(0, 9)) == 0:
        values.flat[rng.integers(values.size)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    with np.errstate(invalid="ignore", over="ignore"):
        arr = values.astype(dtype) if dtype.kind != "c" else (values + 1j * values).astype(dtype)
    return Layout(arr, draw(st.sampled_from(LAYOUTS)) if layout is None else layout)


def hostile_value(name):
    """Any value for a parameter, mostly wrong."""
    if name in ARRAY_PARAMS:
        return st.one_of(arrays(), st.sampled_from([None, 3.0, "x", [[1.0, 2.0], [3.0]]]))
    if name in SHAPE_PARAMS:
        return shape_like
    if name in BOOL_PARAMS:
        return bool_like
    if name in FLOAT_PARAMS:
        return float_like
    if name == "algorithm":
        return algorithm_like
    if name in ("n_threads", "n"):
        return st.sampled_from(THREAD_COUNTS)
    return int_or_pair


@st.composite
def random_call(draw, fn):
    """Every parameter drawn at random (optional ones sometimes left out)."""
    kwargs = {}
    for p in inspect.signature(fn).parameters.values():
        if p.default is inspect.Parameter.empty or draw(st.booleans()):
            kwargs[p.name] = draw(hostile_value(p.name))
    return kwargs


@st.composite
def geometry(draw):
    g = draw(st.integers(1, 3))
    geo = dict(n=draw(st.integers(0, 2)), c_in=g * draw(st.integers(0, 2)),
               c_out=g * draw(st.integers(0, 3)), groups=g, h=draw(st.integers(1, 7)),
               w=draw(st.integers(1, 7)), kh=draw(st.integers(1, 4)), kw=draw(st.integers(1, 4)),
               stride=draw(st.integers(1, 3)), padding=draw(st.integers(0, 2)),
               dilation=draw(st.integers(1, 3)), ceil_mode=draw(st.booleans()))
    geo["h_out"], geo["w_out"] = (
        output_size(size, k, geo["stride"], geo["dilation"], geo["padding"], geo["padding"],
                    geo["ceil_mode"])
        for size, k in ((geo["h"], geo["kh"]), (geo["w"], geo["kw"])))
    return geo


@st.composite
def consistent_call(draw, name):
    """Arguments that fit together for op `name` (float arrays, matching shapes)."""
    geo = draw(geometry())
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, c_in, c_out, g = geo["n"], geo["c_in"], geo["c_out"], geo["groups"]
    h, w, kh, kw = geo["h"], geo["w"], geo["kh"], geo["kw"]
    out_shape = (max(geo["h_out"], 0), max(geo["w_out"], 0))

    def arr(*shape):
        return draw(arrays(shape, dtype))

    window = dict(kernel_size=(kh, kw), stride=geo["stride"], dilation=geo["dilation"])
    pool = dict(kernel_size=(kh, kw), stride=geo["stride"], padding=min(geo["padding"], kh // 2, kw // 2),
                ceil_mode=geo["ceil_mode"])
    pool_out = tuple(max(output_size(size, k, geo["stride"], 1, pool["padding"], pool["padding"],
                                     geo["ceil_mode"]), 0) for size, k in ((h, kh), (w, kw)))
    conv = dict(stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"], groups=g)
    weight_shape = (c_out, c_in // g, kh, kw)
    if name == "conv2d":
        return dict(input=arr(n, c_in, h, w), weight=arr(*weight_shape),
                    bias=draw(st.one_of(st.none(), arrays((c_out,), dtype))), **conv)
    if name == "conv2d_input":
        return dict(input_size=(n, c_in, h, w), weight=arr(*weight_shape),
                    grad_output=arr(n, c_out, *out_shape), **conv)
    if name == "conv2d_weight":
        return dict(input=arr(n, c_in, h, w), weight_size=weight_shape,
                    grad_output=arr(n, c_out, *out_shape), **conv)
    if name == "im2col":
        return dict(input=arr(n, c_in, h, w), padding=geo["padding"], **window)
    if name == "col2im":
        return dict(input=arr(n, c_in * kh * kw, out_shape[0] * out_shape[1]), output_size=(h, w),
                    padding=geo["padding"], **window)
    if name == "max_pool2d":
        return dict(input=arr(n, c_in, h, w), dilation=geo["dilation"],
                    return_indices=draw(st.booleans()), **pool)
    if name == "max_pool2d_backward":
        indices = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))).integers(
            -1, h * w + 1, size=(n, c_in, *pool_out))
        return dict(grad_output=arr(n, c_in, *pool_out), indices=Layout(indices), input_size=(n, c_in, h, w))
    if name == "avg_pool2d":
        return dict(input=arr(n, c_in, h, w), count_include_pad=draw(st.booleans()), **pool)
    if name == "avg_pool2d_backward":
        return dict(grad_output=arr(n, c_in, *pool_out), input_size=(n, c_in, h, w),
                    count_include_pad=draw(st.booleans()), **pool)
    if name in ("conv1d", "conv1d_input", "conv1d_weight"):
        conv1 = dict(stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"], groups=g,
                     padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate", "circular", "bogus"])))
        return dict(input=arr(n, c_in, w), input_size=(n, c_in, w), weight=arr(c_out, c_in // g, kw),
                    weight_size=(c_out, c_in // g, kw), grad_output=arr(n, c_out, out_shape[1]), **conv1)
    if name.startswith("conv_transpose2d"):
        return dict(input=arr(n, c_in, h, w), input_size=(n, c_in, h, w), weight=arr(c_in, c_out // g, kh, kw),
                    weight_size=(c_in, c_out // g, kh, kw), grad_output=arr(n, c_out, h, w),
                    out=draw(st.one_of(st.none(), arrays((n, c_out, h, w), dtype))), **conv)
    if name.startswith("adaptive_"):
        size = draw(st.one_of(st.integers(1, 8), st.tuples(st.integers(1, 8), st.integers(1, 8))))
        shape = (n, c_in, h, w) if "2d" in name else (n, c_in, w)
        return dict(input=arr(*shape), output_size=size if "2d" in name else draw(st.integers(1, 8)),
                    return_indices=draw(st.booleans()), input_size=shape, grad_output=arr(*shape),
                    indices=Layout(np.zeros(shape, np.int64)))
    if name in ("max_pool1d", "avg_pool1d"):
        return dict(input=arr(n, c_in, w), kernel_size=kw, stride=geo["stride"], padding=min(geo["padding"], kw // 2),
                    ceil_mode=geo["ceil_mode"])
    if name == "max_unpool2d":
        indices = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))).integers(
            -1, h * w + 1, size=(n, c_in, *pool_out))
        return dict(input=arr(n, c_in, *pool_out), indices=Layout(indices), output_size=(h, w), **pool)
    if name == "gemm":
        m, k, p = c_in + 1, kh, w
        return dict(a=arr(m, k), b=arr(k, p), c=arr(m, p), beta=draw(st.sampled_from([0.0, 1.0])))
    if name == "set_num_threads":
        return dict(n=draw(st.sampled_from([None, 1, 2])))
    return {}


@st.composite
def call_arguments(draw, name):
    fn = getattr(pyconv, name)
    params = inspect.signature(fn).parameters
    if draw(st.integers(0, 3)) == 0:
        return draw(random_call(fn))
    kwargs = {k: v for k, v in draw(consistent_call(name)).items() if k in params}
    for victim in draw(st.lists(st.sampled_from(sorted(params)), max_size=2, unique=True) if params else st.just([])):
        kwargs[victim] = draw(hostile_value(victim))
    return kwargs


@pytest.fixture(scope="module")
def child():
    worker = ChildPyconv()
    yield worker
    worker.close()


@pytest.mark.parametrize("name", sorted(pyconv.__all__))
@given(data=st.data())
def test_public_function_survives_hostile_arguments(child, name, data):
    kwargs = data.draw(call_arguments(name), label="kwargs")
    outcome = child.call(name, **kwargs)
    note(f"outcome: {outcome}")
    assert outcome.ok or outcome.error in ALLOWED_ERRORS, (
        f"pyconv.{name}(**{kwargs!r}) raised {outcome.error}: {outcome.message}")


def test_child_process_reports_a_crash():
    """The harness itself: a call that kills the interpreter is a failure, not a lost run."""
    worker = ChildPyconv()
    try:
        with pytest.raises(AssertionError, match="died"):
            worker.call("os:abort")
    finally:
        worker.close()
