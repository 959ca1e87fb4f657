"""Contiguous float inputs reach the kernels without copies, and out= writes into the caller's buffer.

Copies are detected with tracemalloc: NumPy reports its data allocations to it, while the
kernels' own workspaces (C allocations) are not traced, so the traced peak of a call is the
memory its Python layer allocated. A call that copied its input would peak at >= the input's
size; the controls check that a needed copy (non-contiguous input) is indeed seen."""
import tracemalloc

import numpy as np
import pytest

import pyconv

SHAPE = (4, 16, 64, 64)  # 1 MiB in float32: far above any bookkeeping allocation


def peak_bytes(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(params=[np.float32, np.float64])
def arrays(request):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(request.param)
    w = rng.standard_normal((2, 16, 3, 3)).astype(request.param)
    return x, w


def test_conv2d_out_is_the_callers_buffer(arrays):
    x, w = arrays
    out = np.empty((4, 2, 62, 62), dtype=x.dtype)
    assert pyconv.conv2d(x, w, out=out) is out
    np.testing.assert_allclose(out, pyconv.conv2d(x, w))


def test_conv1d_out_is_the_callers_buffer(arrays):
    x, w = arrays
    x1, w1 = x.reshape(4, 16, -1), w[:, :, 0]
    out = np.empty((4, 2, 64 * 64 - 2), dtype=x.dtype)
    assert pyconv.conv1d(x1, w1, out=out) is out
    np.testing.assert_allclose(out, pyconv.conv1d(x1, w1))


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
def test_conv2d_copies_nothing(arrays, algorithm):
    x, w = arrays
    out = np.empty((4, 2, 62, 62), dtype=x.dtype)
    assert peak_bytes(lambda: pyconv.conv2d(x, w, out=out, algorithm=algorithm)) < x.nbytes // 10
    # controls: inputs that must be converted are seen being copied
    assert peak_bytes(lambda: pyconv.conv2d(x[..., ::-1], w, out=out)) >= x.nbytes
    assert peak_bytes(lambda: pyconv.conv2d(x.astype(x.dtype.newbyteorder()), w, out=out)) >= x.nbytes


def test_other_ops_copy_nothing(arrays):
    x, w = arrays
    small = x.nbytes // 4  # what each op legitimately allocates (its result) stays below this
    x1 = x.reshape(4, 16, -1)
    gy = np.ones((4, 2, 32, 32), dtype=x.dtype)
    calls = {
        "conv1d": lambda: pyconv.conv1d(x1, w[:, :, 0], stride=8),
        "conv2d_weight": lambda: pyconv.conv2d_weight(x, w.shape, gy, stride=2, padding=1),
        "conv2d_bias": lambda: pyconv.conv2d_bias(x),
        "conv_transpose2d": lambda: pyconv.conv_transpose2d(x, np.ones((16, 1, 1, 1), x.dtype)),
        "max_pool2d": lambda: pyconv.max_pool2d(x, 4),
        "avg_pool2d": lambda: pyconv.avg_pool2d(x, 4),
    }
    peaks = {name: peak_bytes(call) for name, call in calls.items()}
    assert all(peak < small for peak in peaks.values()), peaks


def test_torch_tensors_are_not_copied():
    torch = pytest.importorskip("torch")
    import pyconv.torch as pt
    x = torch.randn(SHAPE)
    w = torch.randn(2, 16, 3, 3)
    assert peak_bytes(lambda: pt.conv2d(x, w, stride=4)) < x.numel() * 4 // 10
    assert peak_bytes(lambda: pt.max_pool2d(x, 4)) < x.numel() * 4 // 4
