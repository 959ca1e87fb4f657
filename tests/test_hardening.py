"""Hardening: 64-bit size and index arithmetic, flat resident memory over many calls, calls from
many Python threads at once, and determinism (see docs/hardening.md for what is guaranteed)."""
import gc
import os
import threading

import numpy as np
import pytest

import pyconv
from child_process import ChildPyconv
from pyconv import reference
from pyconv._args import MAX_ELEMENTS, check_size, output_size

ALGORITHMS = ("direct", "im2col")


@pytest.fixture(scope="module")
def child():
    worker = ChildPyconv()
    yield worker
    worker.close()


# ---------------------------------------------------------------------------------------------
# Sizes and indices beyond 32 bits

def test_size_arithmetic_is_exact_beyond_2_31():
    shape = (2 ** 20, 64, 56, 56)  # a batch whose tensor has 2**37.6 elements
    assert check_size(shape, "x") == 2 ** 20 * 64 * 56 * 56 > 2 ** 31
    assert output_size(2 ** 33 + 5, 3, 2, 1, 1, 1) == (2 ** 33 + 5 + 2 - 3) // 2 + 1
    assert output_size(2 ** 40, 2, 2 ** 39, 2 ** 38, 0, 0, ceil_mode=True) == 2
    with pytest.raises(MemoryError, match="x"):
        check_size((2 ** 31, 2 ** 31, 2), "x")
    assert check_size((MAX_ELEMENTS, 1), "x") == MAX_ELEMENTS


# Stride, padding and dilation scaled by these factors take the kernels' index arithmetic past
# 2**31 and 2**32 on a 1x1 image: with H = W = 1 only tap positions that land exactly on pixel 0
# contribute, and they are the same taps as in the unscaled geometry, so the unscaled reference
# is the expected result. A 32-bit index anywhere shows up as a wrong value or a crash.
SCALE_H, SCALE_W = 2 ** 31, 2 ** 32 + 2 ** 31
SMALL = dict(stride=(1, 2), padding=(2, 3), dilation=(1, 1))  # outputs 3 x 3 for a 3x3 kernel
KERNEL = (3, 3)


def _scaled(params):
    return {k: (v[0] * SCALE_H, v[1] * SCALE_W) for k, v in params.items()}


def _big_index_cases():
    rng = np.random.default_rng(7)
    n, c_in, c_out = 2, 3, 4
    x = rng.standard_normal((n, c_in, 1, 1))
    w = rng.standard_normal((c_out, c_in) + KERNEL)
    y = reference.conv2d(x, w, **SMALL)
    col = rng.standard_normal((n, c_in * KERNEL[0] * KERNEL[1], y.shape[2] * y.shape[3]))
    for alg in ALGORITHMS:
        yield f"conv2d-{alg}", ("conv2d", x, w), dict(algorithm=alg), reference.conv2d(x, w, **SMALL)
        yield (f"conv2d_input-{alg}", ("conv2d_input", x.shape, w, y), dict(algorithm=alg),
               reference.conv2d_input(x.shape, w, y, **SMALL))
        yield (f"conv2d_weight-{alg}", ("conv2d_weight", x, w.shape, y), dict(algorithm=alg),
               reference.conv2d_weight(x, w.shape, y, **SMALL))
    yield ("im2col", ("im2col", x, KERNEL), {},
           reference.im2col(x, KERNEL, **{k: v for k, v in SMALL.items()}))
    yield ("col2im", ("col2im", col, (1, 1), KERNEL), {},
           reference.col2im(col, (1, 1), KERNEL, **SMALL))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(_big_index_cases()), ids=lambda c: c[0])
def test_index_arithmetic_beyond_2_32(child, case, dtype):
    _, (name, *args), kwargs, expected = case
    args = [a.astype(dtype) if isinstance(a, np.ndarray) else a for a in args]
    outcome = child.call(name, *args, want_value=True, **kwargs, **_scaled(SMALL))
    assert outcome.ok, f"{name}: {outcome.error}: {outcome.message}"
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outcome.value, expected, rtol=tol, atol=tol)


# Pooling windows far larger than the image: every window covers the whole 3x3 plane, so the
# results are its max / sum / mean whatever the scale; window sizes and their products pass
# int64 (the average's divisor is 2**80 for a 2**40 x 2**40 window).
@pytest.mark.parametrize("kernel, stride, padding", [
    (2 ** 31, None, 2 ** 30), (2 ** 40, None, 2 ** 39), ((2 ** 62, 5), None, (2 ** 61, 2)),
    (2 ** 63 - 1, 2 ** 62 + 2, 2 ** 62 - 1)])
def test_pool_windows_beyond_2_32(child, kernel, stride, padding):
    x = np.random.default_rng(3).standard_normal((2, 3, 3, 3))
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
    planes = x.reshape(2, 3, 9)
    window = dict(kernel_size=kernel, stride=stride, padding=padding)
    outcome = child.call("max_pool2d", x, return_indices=True, want_value=True, **window)
    assert outcome.ok, outcome
    values, indices = outcome.value
    np.testing.assert_array_equal(values.reshape(2, 3), planes.max(axis=2))
    np.testing.assert_array_equal(indices.reshape(2, 3), planes.argmax(axis=2))
    for include_pad, divisor in ((True, float(min(kh, 3 + 2 * ph) * min(kw, 3 + 2 * pw))), (False, 9.0)):
        outcome = child.call("avg_pool2d", x, count_include_pad=include_pad, want_value=True, **window)
        assert outcome.ok, outcome
        np.testing.assert_allclose(outcome.value.reshape(2, 3), planes.sum(axis=2) / divisor,
                                   rtol=1e-12)
        outcome = child.call("avg_pool2d_backward", np.ones((2, 3, 1, 1)), x.shape,
                             count_include_pad=include_pad, want_value=True, **window)
        assert outcome.ok, outcome
        np.testing.assert_allclose(outcome.value, np.full(x.shape, 1 / divisor), rtol=1e-12)


@pytest.mark.parametrize("call", [
    # no output channels: grad_output is empty, the input gradient is not
    ("conv2d_input", (2 ** 16, 2 ** 16, 2 ** 16, 1), np.ones((0, 2 ** 16, 1, 1)), np.ones((2 ** 16, 0, 2 ** 16, 1))),
    ("conv2d_input", (2 ** 40, 2 ** 40, 1, 1), np.ones((0, 2 ** 40, 1, 1)), np.ones((2 ** 40, 0, 1, 1))),
    ("conv2d", np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), None, 1, 2 ** 31),
    ("conv2d", np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), None, 1, 2 ** 40),
    ("col2im", np.ones((1, 1, 1)), (2 ** 40, 2 ** 40), 1),
], ids=["input_size-2**48", "input_size-2**80", "padding-2**31", "padding-2**40", "output_size-2**80"])
def test_huge_sizes_are_refused_cleanly(child, call):
    """Results too large to allocate or index: MemoryError (or ValueError), never a crash."""
    outcome = child.call(*call)
    assert not outcome.ok and outcome.error in ("MemoryError", "ValueError"), outcome


def test_glue_refuses_buffers_the_geometry_does_not_fit():
    """The Cython glue is a boundary too: a buffer shorter or longer than its geometry implies
    is a ValueError naming it, and a geometry whose sizes wrap around int64 (whose element
    counts the glue computes modulo 2**64) is refused by the kernels' own check."""
    from pyconv import _conv, _pool
    from pyconv._geometry import ConvGeometry, PoolGeometry
    geo = ConvGeometry(1, 2, 4, 4, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1)
    x, w, y = np.ones(32, np.float32), np.ones(54, np.float32), np.zeros(12, np.float32)
    for args, name in [((x[:-1], w, y), "input"), ((x, w[:-1], y), "weight"), ((x, w, y[:-1]), "out")]:
        with pytest.raises(ValueError, match=f"^{name}: expected"):
            _conv.conv2d("im2col", geo, *args[:2], None, None, None, None, args[2], 1)
    with pytest.raises(ValueError, match="^grad_weight: expected 54"):
        _conv.conv2d_weight("direct", geo, x, y, w[:-1], 1)
    with pytest.raises(ValueError, match="^out: expected 72"):
        _conv.im2col(geo, x, np.zeros(71, np.float32), 1)
    # 2**32 images of 2**32 channels: 2**64 elements, 0 in the glue's count; no filters, so
    # every buffer is empty and passes the glue, and the kernels refuse the shape
    wraps = ConvGeometry(2 ** 32, 2 ** 32, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1)
    empty = np.ones(0, np.float32)
    with pytest.raises(ValueError, match="rejected its arguments"):
        _conv.conv2d("direct", wraps, empty, empty, None, None, None, None, empty, 1)
    pool = PoolGeometry(2, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1)
    with pytest.raises(ValueError, match="^out: expected 8"):
        _pool.avg_pool2d(pool, np.ones(32), np.zeros(9), True, 0, 1)


# ---------------------------------------------------------------------------------------------
# One small call of every op, shared by the memory, thread and determinism tests

def _op_calls(dtype=np.float32, scale=1):
    """{label: zero-argument callable} covering every op and algorithm. scale grows the shapes
    (scale 1: tiny, for 10,000-call loops; larger: enough work per call to use every thread)."""
    rng = np.random.default_rng(0)
    n, c, h = 2 * scale, 3 * scale, 6 * scale
    x = rng.standard_normal((n, c, h, h)).astype(dtype)
    w = rng.standard_normal((4 * scale, c, 3, 3)).astype(dtype)
    b = rng.standard_normal(4 * scale).astype(dtype)
    gy = rng.standard_normal((n, 4 * scale, h - 2, h - 2)).astype(dtype)
    col = rng.standard_normal((n, c * 9, (h - 2) ** 2)).astype(dtype)
    a = rng.standard_normal((8 * scale, 5 * scale)).astype(dtype)
    pooled, indices = reference.max_pool2d(x, 2, return_indices=True)
    gp = rng.standard_normal(pooled.shape).astype(dtype)
    out_shape = (n, 4 * scale, h - 2, h - 2)
    calls = {}
    for alg in ALGORITHMS:
        calls[f"conv2d-{alg}"] = lambda alg=alg, **kw: pyconv.conv2d(x, w, b, algorithm=alg, **kw)
        calls[f"conv2d-out-{alg}"] = lambda alg=alg, **kw: pyconv.conv2d(
            x, w, algorithm=alg, out=np.empty(out_shape, dtype), **kw)
        calls[f"conv2d_input-{alg}"] = lambda alg=alg, **kw: pyconv.conv2d_input(x.shape, w, gy, algorithm=alg, **kw)
        calls[f"conv2d_weight-{alg}"] = lambda alg=alg, **kw: pyconv.conv2d_weight(x, w.shape, gy, algorithm=alg, **kw)
    calls.update({
        "im2col": lambda **kw: pyconv.im2col(x, 3, **kw),
        "col2im": lambda **kw: pyconv.col2im(col, (h, h), 3, **kw),
        "max_pool2d": lambda **kw: pyconv.max_pool2d(x, 3, 2, 1, **kw),
        "max_pool2d-indices": lambda **kw: pyconv.max_pool2d(x, 3, 2, 1, return_indices=True, **kw),
        "max_pool2d_backward": lambda **kw: pyconv.max_pool2d_backward(gp, indices, x.shape, **kw),
        "avg_pool2d": lambda **kw: pyconv.avg_pool2d(x, 3, 2, 1, **kw),
        "avg_pool2d_backward": lambda **kw: pyconv.avg_pool2d_backward(gp, x.shape, 2, **kw),
        "gemm": lambda **kw: pyconv.gemm(a, a, trans_b=True, **kw),
    })
    return calls


def _bad_index_call():
    """The error path of a kernel: an index out of range, refused by the max-pool backward."""
    gp = np.ones((1, 1, 2, 2), np.float32)
    bad = np.full((1, 1, 2, 2), 99, np.int64)

    def call(**kw):
        with pytest.raises(ValueError):
            pyconv.max_pool2d_backward(gp, bad, (1, 1, 4, 4), **kw)
    return call


# ---------------------------------------------------------------------------------------------
# Resident memory over many calls

def _resident_bytes():
    gc.collect()
    try:  # Linux, without extra packages
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return pytest.importorskip("psutil").Process().memory_info().rss


CALLS_PER_OP = 10_000


def _loop_threads(i):
    """Mostly 1 thread: on a busy machine every parallel region waits for a free core; every
    hundredth call takes the multi-threaded path (per-thread workspaces)."""
    return 2 if i % 100 == 0 else 1


@pytest.mark.slow
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under AddressSanitizer freed memory waits in its quarantine: resident "
                           "memory grows by design (make sanitize checks leaks instead)")
@pytest.mark.parametrize("label", [label for label in _op_calls() if "-out-" not in label] + ["kernel-error-path"])
def test_resident_memory_stays_flat(label):
    call = _bad_index_call() if label == "kernel-error-path" else _op_calls()[label]
    for i in range(CALLS_PER_OP // 10):  # warm up: allocator arenas, the OpenMP thread pool
        call(n_threads=_loop_threads(i))
    before = _resident_bytes()
    for i in range(CALLS_PER_OP):
        call(n_threads=_loop_threads(i))
    growth = _resident_bytes() - before
    # A leak of one small object per call (>= 100 bytes) would show as >= 1 MB here.
    assert growth < 1 << 20, f"{label}: resident memory grew by {growth} bytes over {CALLS_PER_OP} calls"


# ---------------------------------------------------------------------------------------------
# Concurrency and determinism

N_PYTHON_THREADS = 8


def test_eight_python_threads_with_openmp_inside_match_serial():
    calls = _op_calls(scale=4)
    serial = {label: call(n_threads=2) for label, call in calls.items()}
    start = threading.Barrier(N_PYTHON_THREADS)
    failures = []

    def worker(offset):
        start.wait()
        labels = list(calls)
        for i in range(3 * len(labels)):  # each thread walks the ops from its own starting point
            label = labels[(offset + i) % len(labels)]
            try:
                _assert_same(calls[label](n_threads=2), serial[label])
            except Exception as exc:  # noqa: BLE001 - reported below, with the op's label
                failures.append(f"{label}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(N_PYTHON_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]


def _assert_same(result, expected):
    """Bit-identical results (arrays or tuples of arrays)."""
    result = result if isinstance(result, tuple) else (result,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(result) == len(expected)
    for r, e in zip(result, expected):
        assert r.dtype == e.dtype and r.shape == e.shape
        identical = r.tobytes() == e.tobytes()  # a bool: pytest would otherwise diff the bytes
        assert identical, f"results differ at {np.flatnonzero(r.ravel() != e.ravel())[:5]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_repeated_calls_are_bit_identical(dtype):
    for label, call in _op_calls(dtype, scale=3).items():
        first = call(n_threads=2)
        for _ in range(3):
            _assert_same(call(n_threads=2), first)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_do_not_depend_on_the_thread_count(dtype):
    """Every op: each output element is computed by one thread in a fixed order, and reductions
    over the batch (weight and bias gradients) add per-image partial sums in a fixed order, so
    1, 2, 3 and 4 threads give the same bits (documented in docs/hardening.md)."""
    differ = []
    for label, call in _op_calls(dtype, scale=3).items():
        one = call(n_threads=1)
        for n in (2, 3, 4):
            try:
                _assert_same(call(n_threads=n), one)
            except AssertionError:
                differ.append(f"{label} at {n} threads")
    assert not differ, differ
