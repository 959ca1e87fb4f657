"""pyconv.torch: autograd Functions and drop-in modules against torch's own layers."""
import copy
import functools
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import pyconv  # noqa: E402
import pyconv.torch as pt  # noqa: E402

CONV_CASES = [  # (input shape, weight shape, stride, padding, dilation, groups)
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, 1),
    ((1, 4, 8, 7), (6, 2, 3, 2), (2, 1), (1, 2), 1, 2),
    ((2, 2, 9, 9), (3, 2, 2, 3), 3, 2, (2, 3), 1),
    ((1, 4, 6, 6), (4, 1, 3, 3), 1, "same", 2, 4),
    ((2, 1, 5, 8), (2, 1, 1, 4), (1, 2), ((0, 1), (2, 0)), 1, 1),
]


def conv_args(case, dtype, requires_grad=False):
    x_shape, w_shape, *geometry = case
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(x_shape, dtype=dtype, generator=gen, requires_grad=requires_grad)
    w = torch.randn(w_shape, dtype=dtype, generator=gen, requires_grad=requires_grad)
    b = torch.randn(w_shape[0], dtype=dtype, generator=gen, requires_grad=requires_grad)
    return (x, w, b), geometry


def torch_padding(padding):
    """torch takes no ((top, bottom), (left, right)) padding: pad explicitly instead."""
    if isinstance(padding, tuple) and isinstance(padding[0], tuple):
        (top, bottom), (left, right) = padding
        return lambda x: F.pad(x, (left, right, top, bottom)), 0
    return lambda x: x, padding


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradcheck(case):
    inputs, geometry = conv_args(case, torch.float64, requires_grad=True)
    # one thread: gradcheck makes hundreds of tiny calls, and thread start-up dominates them
    assert torch.autograd.gradcheck(lambda x, w, b: pt.conv2d(x, w, b, *geometry, n_threads=1), inputs)


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_backward_match_torch(case, algorithm):
    (x, w, b), (stride, padding, dilation, groups) = conv_args(case, torch.float32, requires_grad=True)
    y = pt.conv2d(x, w, b, stride, padding, dilation, groups, algorithm=algorithm)
    grad = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    got = torch.autograd.grad(y, (x, w, b), grad)
    pad, padding = torch_padding(padding)
    expected_y = F.conv2d(pad(x), w, b, stride, padding, dilation, groups)
    expected = torch.autograd.grad(expected_y, (x, w, b), grad)
    torch.testing.assert_close(y, expected_y, rtol=1e-5, atol=1e-5)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-4)


def test_conv2d_computes_only_the_needed_gradients(monkeypatch):
    called = []
    for name in ("conv2d_input", "conv2d_weight", "conv2d_bias"):
        original = getattr(pyconv, name)
        monkeypatch.setattr(pyconv, name, lambda *a, _f=original, _n=name, **k: called.append(_n) or _f(*a, **k))
    (x, w, b), geometry = conv_args(CONV_CASES[0], torch.float64)
    w.requires_grad_(True)
    pt.conv2d(x, w, b, *geometry).sum().backward()
    assert called == ["conv2d_weight"]
    assert x.grad is None and b.grad is None
    called.clear()
    x.requires_grad_(True)
    w.requires_grad_(False)
    b.requires_grad_(True)
    pt.conv2d(x, w, b, *geometry).sum().backward()
    assert called == ["conv2d_input", "conv2d_bias"]


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_module_is_a_drop_in(padding_mode):
    torch.manual_seed(0)
    reference = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 1), groups=2, padding_mode=padding_mode)
    torch.manual_seed(0)
    layer = pt.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 1), groups=2, padding_mode=padding_mode)
    assert isinstance(layer, torch.nn.Conv2d)
    for (name, p), (ref_name, ref_p) in zip(layer.named_parameters(), reference.named_parameters()):
        assert name == ref_name
        torch.testing.assert_close(p, ref_p, rtol=0, atol=0)  # same init
    x = torch.randn(3, 4, 7, 5)
    torch.testing.assert_close(layer(x), reference(x), rtol=1e-5, atol=1e-5)
    state = torch.random.get_rng_state()
    shared = pt.Conv2d.from_torch(reference)
    assert torch.equal(torch.random.get_rng_state(), state)  # no initialisation drawn
    assert shared.weight is reference.weight and shared.bias is reference.bias
    torch.testing.assert_close(shared(x[0]), reference(x[0]), rtol=1e-5, atol=1e-5)  # unbatched input
    assert layer.state_dict().keys() == reference.state_dict().keys()


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("geometry", [(2, None, 0, 1), ((3, 2), (2, 1), (1, 1), 1), (3, 2, 1, (2, 1))])
def test_max_pool2d_gradcheck_and_match_torch(geometry, ceil_mode):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pt.max_pool2d(t, *geometry, ceil_mode, n_threads=1), (x,))
    y, indices = pt.max_pool2d(x, *geometry, ceil_mode, return_indices=True)
    expected_y, expected_indices = F.max_pool2d(x, *geometry, ceil_mode, return_indices=True)
    torch.testing.assert_close(y, expected_y, rtol=0, atol=0)
    assert torch.equal(indices, expected_indices)
    grad = torch.randn(y.shape, dtype=torch.float64, generator=gen)
    torch.testing.assert_close(torch.autograd.grad(y, x, grad)[0], torch.autograd.grad(expected_y, x, grad)[0])
    layer = pt.MaxPool2d(*geometry, ceil_mode=ceil_mode)
    assert isinstance(layer, torch.nn.MaxPool2d)
    torch.testing.assert_close(layer(x[0]), F.max_pool2d(x[0], *geometry, ceil_mode))  # unbatched input


def lenet(conv, pool):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        conv(1, 6, 5, padding=2), torch.nn.Tanh(), pool(2),
        conv(6, 16, 5), torch.nn.Tanh(), pool(2), torch.nn.Flatten(),
        torch.nn.Linear(16 * 5 * 5, 120), torch.nn.Tanh(), torch.nn.Linear(120, 84), torch.nn.Tanh(),
        torch.nn.Linear(84, 10))


def train(model, steps=6):
    """SGD steps on one fixed batch (so the loss must fall); the losses seen."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, 1, 28, 28, generator=gen)
    labels = torch.randint(0, 10, (16,), generator=gen)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.fixture
def one_torch_thread():
    """Tiny multi-threaded calls are slow on a loaded machine; threads do not change the
    arithmetic being compared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_lenet_trains_the_same_as_with_torch_layers(one_torch_thread):
    with_torch = lenet(torch.nn.Conv2d, torch.nn.MaxPool2d)
    # built from pyconv layers (same initialisation) and converted from torch's (shared parameters)
    with_pyconv = lenet(functools.partial(pt.Conv2d, n_threads=1), functools.partial(pt.MaxPool2d, n_threads=1))
    converted = pt.convert(copy.deepcopy(with_torch), n_threads=1)
    for model in (with_pyconv, converted):
        assert [type(layer) for layer in model][:6] == [pt.Conv2d, torch.nn.Tanh, pt.MaxPool2d] * 2
    expected = train(with_torch)
    assert expected[-1] < 0.9 * expected[0]  # it learns something
    np.testing.assert_allclose(train(with_pyconv), expected, rtol=1e-4)
    np.testing.assert_allclose(train(converted), expected, rtol=1e-4)


def test_convert_reaches_nested_layers():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU()),
                                torch.nn.MaxPool2d(2, ceil_mode=True))
    x = torch.randn(2, 2, 9, 9)
    expected = model(x)
    weight = model[0][0].weight
    assert pt.convert(model) is model
    assert type(model[0][0]) is pt.Conv2d and model[0][0].weight is weight
    assert type(model[1]) is pt.MaxPool2d and model[1].ceil_mode
    torch.testing.assert_close(model(x), expected)
    assert type(pt.convert(torch.nn.Conv2d(1, 1, 1))) is pt.Conv2d


def test_contiguous_tensors_reach_the_kernels_without_copies(monkeypatch):
    seen = {}

    def spy(x, w, b, *args, **kwargs):
        y = original(x, w, b, *args, **kwargs)
        seen.update(x=x, w=w, b=b, y=y)
        return y

    original = pyconv.conv2d
    monkeypatch.setattr(pyconv, "conv2d", spy)
    (x, w, b), geometry = conv_args(CONV_CASES[1], torch.float32)
    y = pt.conv2d(x, w, b, *geometry)
    for name, tensor in [("x", x), ("w", w), ("b", b), ("y", y)]:
        assert np.shares_memory(seen[name], tensor.numpy()), name


@pytest.mark.parametrize("call, error, words", [
    (lambda: pt.conv2d(torch.zeros(1, 1, 3, 3, dtype=torch.float16), torch.zeros(1, 1, 1, 1, dtype=torch.float16)),
     TypeError, ["input", "float16"]),
    (lambda: pt.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 1, 1, dtype=torch.float64)),
     TypeError, ["weight", "float64"]),
    (lambda: pt.conv2d(torch.zeros(1, 1, 3, 3, device="meta"), torch.zeros(1, 1, 1, 1, device="meta")),
     ValueError, ["input", "CPU", "meta"]),
    (lambda: pt.conv2d(torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 1, 1)), ValueError, ["weight", "channels"]),
    (lambda: pt.conv2d(np.zeros((1, 1, 3, 3)), torch.zeros(1, 1, 1, 1)), TypeError, ["input", "torch.Tensor"]),
    (lambda: pt.max_pool2d(torch.zeros(1, 1, 3, 3), 2, padding=2), ValueError, ["padding"]),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert all(word in str(info.value) for word in words), str(info.value)


def test_torch_is_optional():
    code = ("import sys, pyconv; assert 'torch' not in sys.modules, 'importing pyconv imported torch'\n"
            "sys.modules['torch'] = None\n"
            "try:\n    import pyconv.torch\nexcept ImportError as e:\n    print(e)\n")
    root = os.path.dirname(os.path.dirname(pyconv.__file__))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert "pyconv.torch needs PyTorch" in result.stdout
