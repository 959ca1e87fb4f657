"""pyconv.nn for modern CNNs: BatchNorm2d, AdaptiveAvgPool2d, ConvTranspose2d, Conv1d, Identity,
ReLU6, SiLU against torch (forward and every gradient, float64), a ResNet-18-style and a
MobileNetV2-style network with copied weights, dtype conversion and save / load."""
import numpy as np
import pytest

import pyconv.nn as nn


def rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---- without torch -----------------------------------------------------------------------------

def test_parameter_data_of_another_dtype_keeps_the_gradient_in_step():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.Flatten(), nn.Linear(2 * 4 * 4, 3, rng=1))
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
        assert p.grad.dtype == np.float64 and p.grad.shape == p.shape
    x = rand((2, 1, 6, 6))
    model.backward(np.ones_like(model(x)))  # no "out: expected dtype" from inside Linear
    assert all(p.grad.dtype == np.float64 and np.abs(p.grad).sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("convert, dtype", [(lambda m: m.double(), np.float64), (lambda m: m.float(), np.float32),
                                            (lambda m: m.astype("float64"), np.float64)])
def test_astype_converts_parameters_gradients_and_buffers(convert, dtype):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0, dtype=np.float32 if dtype == np.float64 else np.float64),
                          nn.BatchNorm2d(2, dtype=np.float32 if dtype == np.float64 else np.float64))
    assert convert(model) is model
    assert all(p.dtype == dtype and p.grad.dtype == dtype for p in model.parameters())
    assert model[1].running_mean.dtype == dtype and model[1].num_batches_tracked.dtype == np.int64
    y = model(rand((2, 1, 5, 5), dtype=dtype))
    assert y.dtype == dtype


def test_astype_rejects_non_float_dtypes():
    with pytest.raises(TypeError, match="dtype"):
        nn.Conv2d(1, 1, 1).astype(np.int32)


def test_save_then_load_with_the_same_name(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2))
    model(rand((4, 1, 5, 5), dtype=np.float32))  # moves the running statistics
    path = tmp_path / "m"
    model.save(path)
    assert (tmp_path / "m.npz").exists()
    other = nn.Sequential(nn.Conv2d(1, 2, 3, rng=1), nn.BatchNorm2d(2)).load(path)
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert "1.running_var" in model.state_dict() and "1.num_batches_tracked" in model.state_dict()
    other.load(str(path) + ".npz")


def test_batchnorm_bad_input():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        bn(np.zeros((2, 4, 3, 3), np.float32))
    with pytest.raises(TypeError, match="float32"):
        bn(np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match="more than 1 value"):
        bn(np.zeros((1, 3, 1, 1), np.float32))
    with pytest.raises(ValueError, match="eps"):
        nn.BatchNorm2d(3, eps=0)


# ---- against torch -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(torch.float32)


def copy_into_torch(torch, model, twin):
    """Copy pyconv parameters and buffers into a torch module of the same structure."""
    params = model.parameters()
    twin_params = list(twin.parameters())
    assert [p.shape for p in params] == [tuple(p.shape) for p in twin_params]
    buffers = [b for _, b in model.named_buffers()]
    twin_buffers = list(twin.buffers())
    assert len(buffers) == len(twin_buffers)
    with torch.no_grad():
        for value, q in zip([p.data for p in params] + buffers, twin_params + twin_buffers):
            q.copy_(torch.from_numpy(np.asarray(value)))


def compare(torch, model, twin, x, steps=1, rtol=1e-10):
    """forward and backward `steps` times (training mode updates BatchNorm statistics); every
    output, input gradient, parameter gradient and buffer must match."""
    for step in range(steps):
        model.zero_grad()
        twin.zero_grad()
        tx = torch.from_numpy(x).requires_grad_()
        expected = twin(tx)
        y = model(x)
        np.testing.assert_allclose(y, expected.detach().numpy(), rtol=rtol, atol=rtol)
        g = rand(y.shape, seed=10 + step)
        expected.backward(torch.from_numpy(g))
        np.testing.assert_allclose(model.backward(g), tx.grad.numpy(), rtol=rtol, atol=rtol)
        for (name, p), q in zip(model.named_parameters(), twin.parameters()):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=rtol, atol=rtol, err_msg=name)
        for (name, b), q in zip(model.named_buffers(), twin.buffers()):
            np.testing.assert_allclose(b, q.numpy(), rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False},
                                    {"eps": 1e-2, "momentum": 0.3}])
def test_batchnorm2d_matches_torch_in_training_and_eval(torch, kwargs):
    layer = nn.BatchNorm2d(3, **kwargs, dtype=np.float64)
    twin = torch.nn.BatchNorm2d(3, **kwargs)
    if layer.weight is not None:
        layer.weight.data = rand(3, seed=1)
        layer.bias.data = rand(3, seed=2)
    copy_into_torch(torch, layer, twin)
    x = rand((4, 3, 5, 6)) * 3 + 1
    compare(torch, layer, twin, x, steps=3)
    layer.eval()
    twin.eval()
    compare(torch, layer, twin, x * 0.5)


LAYERS = [  # (make(library, **pyconv-only options), input shape)
    (lambda lib, **kw: lib.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, **kw), (2, 4, 11)),
    (lambda lib, **kw: lib.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                           groups=2, dilation=(1, 2), **kw), (2, 4, 5, 4)),
    (lambda lib, **kw: lib.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 5)),
    (lambda lib, **kw: lib.AdaptiveAvgPool2d(1), (2, 3, 7, 5)),
    (lambda lib, **kw: lib.Identity(), (2, 3, 4, 4)),
    (lambda lib, **kw: lib.ReLU6(), (2, 3, 4, 4)),
    (lambda lib, **kw: lib.SiLU(), (2, 3, 4, 4)),
]


@pytest.mark.parametrize("make, shape", LAYERS)
def test_new_layer_matches_torch(torch, make, shape):
    layer = make(nn, dtype=np.float64, rng=0) if len(shape) == 3 or "Conv" in repr(make(torch.nn)) else make(nn)
    twin = make(torch.nn)
    copy_into_torch(torch, layer, twin)
    compare(torch, layer, twin, rand(shape) * 4)
    assert layer.output_shape(shape) == tuple(twin(torch.zeros(shape)).shape)


# ---- whole networks ----------------------------------------------------------------------------

def resnet18_style(lib, residual, conv, width=4, classes=5):
    """ResNet-18's layout (stem, 4 stages of 2 basic blocks, global pooling, fc) at a small width."""
    def bn_conv(c_in, c_out, k, stride=1):
        return [conv(c_in, c_out, k, stride, k // 2), lib.BatchNorm2d(c_out)]

    def block(c_in, c_out, stride):
        body = lib.Sequential(*bn_conv(c_in, c_out, 3, stride), lib.ReLU(), *bn_conv(c_out, c_out, 3))
        shortcut = lib.Sequential(*bn_conv(c_in, c_out, 1, stride)) if stride != 1 or c_in != c_out else None
        return [residual(body, shortcut), lib.ReLU()]

    layers = [*bn_conv(3, width, 3), lib.ReLU(), lib.MaxPool2d(3, 2, 1)]
    c = width
    for stage, c_out in enumerate([width, 2 * width, 4 * width, 8 * width]):
        for b in range(2):
            layers += block(c, c_out, 2 if stage > 0 and b == 0 else 1)
            c = c_out
    return lib.Sequential(*layers, lib.AdaptiveAvgPool2d(1), lib.Flatten(), lib.Linear(c, classes))


def mobilenet_v2_style(lib, residual, conv, classes=5):
    """MobileNetV2's inverted residuals (1x1 expand, 3x3 depthwise, 1x1 linear projection; ReLU6;
    identity shortcut when the shape is kept) at a small width."""
    def conv_bn(c_in, c_out, k, stride=1, groups=1, act=True):
        return [conv(c_in, c_out, k, stride, k // 2, groups), lib.BatchNorm2d(c_out)] + ([lib.ReLU6()] if act else [])

    def inverted(c_in, c_out, stride, expand):
        hidden = c_in * expand
        body = lib.Sequential(*conv_bn(c_in, hidden, 1), *conv_bn(hidden, hidden, 3, stride, hidden),
                              *conv_bn(hidden, c_out, 1, act=False))
        return residual(body, None) if stride == 1 and c_in == c_out else body

    layers = conv_bn(3, 8, 3, 2) + [inverted(8, 4, 1, 1), inverted(4, 6, 2, 3), inverted(6, 6, 1, 3),
                                    inverted(6, 8, 2, 3), inverted(8, 8, 1, 3)]
    return lib.Sequential(*layers, *conv_bn(8, 16, 1), lib.AdaptiveAvgPool2d(1), lib.Flatten(),
                          lib.Linear(16, classes))


def torch_residual(torch):
    class Residual(torch.nn.Module):
        def __init__(self, body, shortcut):
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x):
            return self.body(x) + (x if self.shortcut is None else self.shortcut(x))
    return Residual


@pytest.mark.parametrize("build", [resnet18_style, mobilenet_v2_style])
def test_network_matches_torch(torch, build):
    rng = np.random.default_rng(0)

    def pyconv_conv(c_in, c_out, k, stride=1, padding=0, groups=1):
        return nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups, bias=False, dtype=np.float64, rng=rng)

    def torch_conv(c_in, c_out, k, stride=1, padding=0, groups=1):
        return torch.nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups, bias=False)

    model = build(nn, lambda body, shortcut: nn.Residual(body, shortcut or nn.Identity()), pyconv_conv)
    model.astype(np.float64)
    twin = build(torch.nn, lambda body, shortcut: torch_residual(torch)(body, shortcut), torch_conv)
    for p in model.parameters():  # BatchNorm's affine parameters away from 1 / 0
        if p.data.ndim == 1:
            p.data = p.data + rng.uniform(-0.5, 0.5, p.shape)
    copy_into_torch(torch, model, twin)
    x = rand((3, 3, 16, 16), seed=5)
    compare(torch, model, twin, x, steps=2, rtol=1e-9)
    model.eval()
    twin.eval()
    compare(torch, model, twin, x, rtol=1e-9)


@pytest.mark.parametrize("call, error, words", [
    (lambda: nn.Conv1d(4, 6, 3, groups=4), ValueError, ["groups", "divisible"]),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), ValueError, ["groups", "divisible"]),
    (lambda: nn.Conv1d(4, 6, 3)(np.zeros((2, 4, 5, 5), np.float32)), ValueError, ["Conv1d input", "3-d"]),
    (lambda: nn.ConvTranspose2d(4, 6, 3)(np.zeros((2, 4, 5, 5))), TypeError, ["ConvTranspose2d input", "float32"]),
    (lambda: nn.Conv1d(4, 6, 3).backward(np.zeros((2, 6, 3), np.float32)), RuntimeError, ["before forward"]),
    (lambda: nn.AdaptiveAvgPool2d(0)(np.zeros((1, 1, 4, 4))), ValueError, ["output_size", "positive"]),
])
def test_bad_layer_input_names_the_problem(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert all(word in str(info.value) for word in words), str(info.value)
