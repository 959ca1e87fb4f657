"""torch.nn.functional parity against torch itself (skipped without torch): padding_mode,
the transposed convolutions' gradients, 1-D and adaptive pools, max_unpool, unbatched inputs;
the same hypothesis cases as test_parity.py, which checks them against pyconv.reference."""
import numpy as np
import pytest
from hypothesis import assume, given
from test_conv_variants import DTYPES, assert_close, tolerance, transpose_arrays, transpose_cases, transpose_geometry
from test_parity import (adaptive_cases, adaptive_input, padded_arrays, padded_cases, padded_geometry, pool1d_cases,
                         rand)

import pyconv

# ---- against torch -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_grads(torch, fn, *arrays):
    """fn(*tensors), and the gradients of <fn(...), g> for a random g w.r.t. each float array."""
    tensors = [torch.from_numpy(a).requires_grad_() if a.dtype.kind == "f" else torch.from_numpy(a) for a in arrays]
    y = fn(*tensors)
    y = y[0] if isinstance(y, tuple) else y
    g = torch.from_numpy(np.random.default_rng(7).uniform(-1, 1, tuple(y.shape)).astype(arrays[0].dtype))
    y.backward(g)
    return y.detach().numpy(), g.numpy(), [t.grad.numpy() if t.grad is not None else None for t in tensors]


@given(padded_cases())
def test_conv2d_padding_mode_matches_torch(torch, case):
    x, w, b = padded_arrays(case)
    module = torch.nn.Conv2d(case["c_in"], case["c_out"], case["kernel"], case["stride"], case["padding"],
                             case["dilation"], case["groups"], padding_mode=case["mode"], dtype=x.dtype == np.float32
                             and torch.float32 or torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(w))
        module.bias.copy_(torch.from_numpy(b))
    y_t, g, (gx_t,) = torch_grads(torch, module, x)
    geo = padded_geometry(case)
    k = w[0].size + 1
    assert_close(pyconv.conv2d(x, w, b, **geo, padding_mode=case["mode"]), y_t, 2 * tolerance(case["dtype"], k, x, w))
    assert_close(pyconv.conv2d_input(x.shape, w, g, **geo, padding_mode=case["mode"]), gx_t,
                 2 * tolerance(case["dtype"], 4 * k * x.shape[1], w, g))


@given(transpose_cases())
def test_conv_transpose2d_gradients_match_torch(torch, case):
    assume(case["n"] > 0 and case["c_in"] > 0)
    x, w, b = transpose_arrays(case)
    geo = transpose_geometry(case)
    _, g, (gx_t, gw_t) = torch_grads(torch, lambda tx, tw: torch.nn.functional.conv_transpose2d(tx, tw, None, **geo),
                                     x, w)
    taps = case["kernel"][0] * case["kernel"][1]
    assert_close(pyconv.conv_transpose2d_input(x.shape, w, g, **geo), gx_t,
                 2 * tolerance(case["dtype"], case["c_out"] * taps, w, g))
    assert_close(pyconv.conv_transpose2d_weight(x, w.shape, g, **geo), gw_t,
                 2 * tolerance(case["dtype"], case["n"] * x[0, 0].size, x, g))


@given(pool1d_cases())
def test_pool1d_matches_torch(torch, case):
    assume(case["shape"][0] > 0)
    x = rand(np.random.default_rng(case["seed"]), case["shape"], case["dtype"])
    F = torch.nn.functional
    stride = case["stride"]
    try:
        y, idx = pyconv.max_pool1d(x, case["k"], stride, case["padding"], case["dilation"], case["ceil_mode"], True)
    except ValueError:
        return  # windows of padding only: pyconv refuses them (see README)
    y_t, idx_t = F.max_pool1d(torch.from_numpy(x), case["k"], stride, case["padding"], case["dilation"],
                              case["ceil_mode"], True)
    assert_close(y, y_t.numpy(), 0)
    np.testing.assert_array_equal(idx, idx_t.numpy())
    avg_t, g, (gx_t,) = torch_grads(torch, lambda t: F.avg_pool1d(t, case["k"], stride, case["padding"],
                                                                  case["ceil_mode"], case["count_include_pad"]), x)
    atol = 2 * tolerance(case["dtype"], case["k"], x)
    assert_close(pyconv.avg_pool1d(x, case["k"], stride, case["padding"], case["ceil_mode"],
                                   case["count_include_pad"]), avg_t, atol)
    assert_close(pyconv.avg_pool1d_backward(g, x.shape, case["k"], stride, case["padding"], case["ceil_mode"],
                                            case["count_include_pad"]), gx_t, atol)


@given(adaptive_cases())
def test_adaptive_pools_match_torch(torch, case):
    assume(case["shape"][0] > 0)
    x, _ = adaptive_input(case)
    F = torch.nn.functional
    y_t, g, (gx_t,) = torch_grads(torch, lambda t: F.adaptive_avg_pool2d(t, case["size"]), x)
    atol = 2 * tolerance(case["dtype"], x.shape[2] * x.shape[3], x)
    assert_close(pyconv.adaptive_avg_pool2d(x, case["size"]), y_t, atol)
    assert_close(pyconv.adaptive_avg_pool2d_backward(g, x.shape), gx_t, 2 * tolerance(case["dtype"], 16, g))
    m, idx = pyconv.adaptive_max_pool2d(x, case["size"], True)
    m_t, idx_t = F.adaptive_max_pool2d(torch.from_numpy(x), case["size"], True)
    assert_close(m, m_t.numpy(), 0)
    np.testing.assert_array_equal(idx, idx_t.numpy())
    x1 = np.ascontiguousarray(x[:, :, 0])
    size1 = case["size"][1] if isinstance(case["size"], tuple) else case["size"]
    assume(size1 is not None)  # torch's 1-d adaptive pools take no None
    assert_close(pyconv.adaptive_avg_pool1d(x1, size1), F.adaptive_avg_pool1d(torch.from_numpy(x1), size1).numpy(),
                 atol)
    m1, idx1 = pyconv.adaptive_max_pool1d(x1, size1, True)
    m1_t, idx1_t = F.adaptive_max_pool1d(torch.from_numpy(x1), size1, True)
    assert_close(m1, m1_t.numpy(), 0)
    np.testing.assert_array_equal(idx1, idx1_t.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_unpool_and_unbatched_ops_match_torch(torch, dtype):
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    tx = torch.from_numpy(x)
    y, idx = pyconv.max_pool2d(x, 3, 2, 1, return_indices=True)
    y_t, idx_t = F.max_pool2d(tx, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(pyconv.max_unpool2d(y, idx, 3, 2, 1, output_size=(9, 8)),
                                  F.max_unpool2d(y_t, idx_t, 3, 2, 1, output_size=(9, 8)).numpy())
    np.testing.assert_array_equal(pyconv.max_unpool2d(y[0], idx[0], 3, 2, 1, (9, 8)),
                                  F.max_unpool2d(y_t[0], idx_t[0], 3, 2, 1, (9, 8)).numpy())
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    atol = 2 * tolerance(dtype, 28, x, w)
    assert_close(pyconv.conv2d(x[0], w, padding="same"), F.conv2d(tx[0], torch.from_numpy(w), padding="same").numpy(),
                 atol)
    assert_close(pyconv.conv_transpose2d(x[0], w.transpose(1, 0, 2, 3).copy(), stride=2),
                 F.conv_transpose2d(tx[0], torch.from_numpy(w.transpose(1, 0, 2, 3).copy()), stride=2).numpy(), atol)
    assert_close(pyconv.unfold(x[0], 3, padding=1), F.unfold(tx[0], 3, padding=1).numpy(), 0)
