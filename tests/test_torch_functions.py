"""pyconv.torch's functions and modules beyond conv2d / max_pool2d: gradcheck (float64) for each
autograd Function, each module against its torch twin, and convert() swapping every kind."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import pyconv.torch as pt  # noqa: E402


def randn(*shape, seed=0, requires_grad=True):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.float64, generator=gen, requires_grad=requires_grad)


def distinct(*shape, seed=0):
    """Values at least 0.05 apart, so a max-pool's argmax cannot flip under gradcheck's nudges."""
    gen = torch.Generator().manual_seed(seed)
    count = int(np.prod(shape))
    values = torch.randperm(count, generator=gen).to(torch.float64) * 0.05
    return values.reshape(shape).requires_grad_()


GRADCHECK_CASES = [
    ("conv2d reflect", lambda x, w, b: pt.conv2d(x, w, b, (2, 1), 1, 1, 2, padding_mode="reflect"),
     [(2, 4, 6, 5), (4, 2, 3, 2), (4,)]),
    ("conv2d circular unbatched", lambda x, w, b: pt.conv2d(x, w, b, 1, (2, 1), padding_mode="circular"),
     [(3, 5, 4), (2, 3, 3, 3), (2,)]),
    ("conv2d replicate same", lambda x, w, b: pt.conv2d(x, w, b, 1, "same", 2, padding_mode="replicate"),
     [(1, 2, 6, 6), (3, 2, 2, 3), (3,)]),
    ("conv1d", lambda x, w, b: pt.conv1d(x, w, b, 2, 1, 2, 2), [(2, 4, 11), (6, 2, 3), (6,)]),
    ("conv1d reflect unbatched", lambda x, w, b: pt.conv1d(x, w, b, 1, "same", padding_mode="reflect"),
     [(3, 9), (2, 3, 4), (2,)]),
    ("conv_transpose2d", lambda x, w, b: pt.conv_transpose2d(x, w, b, (2, 3), (1, 0), (1, 2), 2, (1, 2)),
     [(2, 4, 4, 3), (4, 3, 3, 2), (6,)]),
    ("conv_transpose2d unbatched", lambda x, w, b: pt.conv_transpose2d(x, w, b, 2, 1, 1),
     [(2, 3, 3), (2, 3, 3, 3), (3,)]),
    ("conv_transpose1d", lambda x, w, b: pt.conv_transpose1d(x, w, b, 3, 1, 2, 1, 1), [(2, 2, 5), (2, 3, 4), (3,)]),
]


@pytest.mark.parametrize("name, fn, shapes", GRADCHECK_CASES, ids=[case[0] for case in GRADCHECK_CASES])
def test_convolution_gradcheck(name, fn, shapes):
    inputs = [randn(*shape, seed=k) for k, shape in enumerate(shapes)]
    assert torch.autograd.gradcheck(fn, inputs)


POOL_CASES = [
    ("avg_pool2d", lambda x: pt.avg_pool2d(x, 3, 2, 1, True, False), (2, 3, 7, 6)),
    ("avg_pool1d", lambda x: pt.avg_pool1d(x, 3, (2,), 1, True, False), (2, 3, 9)),
    ("avg_pool1d unbatched", lambda x: pt.avg_pool1d(x, 2), (3, 8)),
    ("max_pool1d", lambda x: pt.max_pool1d(x, 3, 2, 1, 2, True), (2, 3, 11)),
    ("adaptive_avg_pool2d", lambda x: pt.adaptive_avg_pool2d(x, (3, 4)), (2, 3, 7, 6)),
    ("adaptive_avg_pool2d global", lambda x: pt.adaptive_avg_pool2d(x, 1), (2, 3, 5, 4)),
    ("adaptive_avg_pool2d tiles", lambda x: pt.adaptive_avg_pool2d(x, (2, 3)), (2, 3, 6, 6)),
    ("adaptive_avg_pool1d", lambda x: pt.adaptive_avg_pool1d(x, 4), (2, 3, 9)),
    ("adaptive_max_pool2d", lambda x: pt.adaptive_max_pool2d(x, (3, 4)), (2, 3, 7, 6)),
    ("adaptive_max_pool2d global", lambda x: pt.adaptive_max_pool2d(x, 1), (3, 5, 4)),
    ("adaptive_max_pool1d", lambda x: pt.adaptive_max_pool1d(x, 4), (2, 3, 9)),
]


@pytest.mark.parametrize("name, fn, shape", POOL_CASES, ids=[case[0] for case in POOL_CASES])
def test_pool_gradcheck(name, fn, shape):
    assert torch.autograd.gradcheck(fn, (distinct(*shape),))


MODULE_CASES = [
    lambda: torch.nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, padding_mode="circular"),
    lambda: torch.nn.Conv2d(4, 6, (3, 2), padding="same", padding_mode="reflect"),
    lambda: torch.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
    lambda: torch.nn.ConvTranspose2d(4, 3, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    lambda: torch.nn.MaxPool1d(3, 2, 1, ceil_mode=True),
    lambda: torch.nn.AvgPool1d(3, 2, 1, count_include_pad=False),
    lambda: torch.nn.AvgPool2d((3, 2), 2, (1, 0), divisor_override=5),
    lambda: torch.nn.AdaptiveAvgPool1d(5),
    lambda: torch.nn.AdaptiveAvgPool2d((None, 3)),
    lambda: torch.nn.AdaptiveMaxPool1d(4),
    lambda: torch.nn.AdaptiveMaxPool2d((3, 2)),
]


@pytest.mark.parametrize("make", MODULE_CASES)
def test_converted_module_matches_torch(make):
    torch.manual_seed(0)
    reference = make().double()
    converted = pt.convert(copy.deepcopy(reference))
    assert type(converted).__name__ == type(reference).__name__ and type(converted).__module__ == "pyconv.torch"
    one_d = "1d" in type(reference).__name__
    shape = (2, 4, 13) if one_d else (2, 4, 9, 8)
    x = distinct(*shape)
    x_ref = x.detach().clone().requires_grad_()
    expected, actual = reference(x_ref), converted(x)
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12)
    g = randn(*expected.shape, seed=3, requires_grad=False)
    expected.backward(g)
    actual.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-12, atol=1e-12)
    for p, p_ref in zip(converted.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, p_ref.grad, rtol=1e-12, atol=1e-12)
    # unbatched input
    torch.testing.assert_close(converted(x[0].detach()), reference(x_ref[0].detach()), rtol=1e-12, atol=1e-12)


def test_convert_swaps_every_supported_kind_and_shares_parameters():
    model = torch.nn.Sequential(*(make() for make in MODULE_CASES))
    weights = [p for p in model.parameters()]
    pt.convert(model, n_threads=1)
    assert all(type(layer).__module__ == "pyconv.torch" for layer in model)
    assert all(a is b for a, b in zip(model.parameters(), weights))
    assert all(layer.n_threads == 1 for layer in model)


def test_conv_transpose_module_takes_output_size():
    torch.manual_seed(1)
    reference = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    layer = pt.ConvTranspose2d.from_torch(reference)
    x = randn(1, 2, 4, 5, requires_grad=False)
    torch.testing.assert_close(layer(x, output_size=(8, 10)), reference(x, output_size=(8, 10)))


def test_new_module_built_like_torch():
    torch.manual_seed(2)
    layer = pt.Conv1d(3, 4, 3, algorithm="direct", n_threads=1)
    torch.manual_seed(2)
    twin = torch.nn.Conv1d(3, 4, 3)
    torch.testing.assert_close(layer.weight, twin.weight)
    assert layer.algorithm == "direct" and "algorithm='direct'" in repr(layer)
    x = torch.randn(2, 3, 8)
    torch.testing.assert_close(layer(x), F.conv1d(x, twin.weight, twin.bias))
