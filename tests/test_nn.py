"""pyconv.nn: every layer's backward against central finite differences (float64), losses and
optimisers against PyTorch's semantics, persistence, shape utilities, and a whole network
against the same network in PyTorch with copied weights (skipped without torch)."""
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconv.nn as nn

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


# ----------------------------------------------------------------------------------------------
# Finite differences

def _numeric_gradient(f, arr, eps=1e-6):
    """Central differences of the scalar f() w.r.t. every element of arr (perturbed in place)."""
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def check_backward(module, x, seed=0):
    """backward(r) of sum(module(x) * r) against finite differences, for x and every parameter."""
    x = np.array(x, dtype=np.float64)
    r = np.random.default_rng(seed).standard_normal(module(x).shape)
    module.zero_grad()
    module(x)
    grad_x = module.backward(r)

    def loss():
        return float(np.sum(module(x) * r))

    scale = 1 + np.abs(r).sum()
    np.testing.assert_allclose(grad_x, _numeric_gradient(loss, x), rtol=1e-6, atol=1e-8 * scale)
    params = module.named_parameters()
    grads = [p.grad.copy() for _, p in params]
    for (name, p), grad in zip(params, grads):
        np.testing.assert_allclose(grad, _numeric_gradient(loss, p.data), rtol=1e-6, atol=1e-8 * scale,
                                   err_msg=name)
    module(x)
    np.testing.assert_allclose(module.backward(r), grad_x, rtol=1e-12, atol=0)
    for (name, p), grad in zip(params, grads):  # a second backward adds to .grad
        np.testing.assert_allclose(p.grad, 2 * grad, rtol=1e-12, atol=1e-15 * scale, err_msg=name)


def _x(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


F64 = dict(dtype=np.float64)


@settings(max_examples=15)
@given(st.data())
def test_conv2d_backward_matches_finite_differences(data):
    groups = data.draw(st.sampled_from([1, 2]), label="groups")
    c_in = groups * data.draw(st.integers(1, 2), label="c_in/groups")
    c_out = groups * data.draw(st.integers(1, 2), label="c_out/groups")
    kh, kw = data.draw(st.integers(1, 3), label="kh"), data.draw(st.integers(1, 3), label="kw")
    stride = (data.draw(st.integers(1, 3), label="sh"), data.draw(st.integers(1, 3), label="sw"))
    dilation = (data.draw(st.integers(1, 2), label="dh"), data.draw(st.integers(1, 2), label="dw"))
    padding = data.draw(st.one_of(st.just("same"), st.tuples(st.integers(0, 2), st.integers(0, 2))),
                        label="padding")
    h = data.draw(st.integers(dilation[0] * (kh - 1) + 1, 5), label="h")
    w = data.draw(st.integers(dilation[1] * (kw - 1) + 1, 5), label="w")
    bias = data.draw(st.booleans(), label="bias")
    layer = nn.Conv2d(c_in, c_out, (kh, kw), stride, padding, dilation, groups, bias, rng=3, **F64)
    check_backward(layer, _x((2, c_in, h, w)))


def test_conv2d_same_padding_with_stride_is_tensorflow_style():
    layer = nn.Conv2d(2, 3, 5, stride=2, padding="same", rng=0, **F64)
    assert layer.output_shape((1, 2, 32, 32)) == (1, 3, 16, 16)
    assert layer.pads(32, 32) == (1, 2, 1, 2)  # total (16 - 1) * 2 + 5 - 32 = 3, odd pixel after
    assert layer.output_shape((1, 2, 7, 9)) == (1, 3, 4, 5)
    check_backward(layer, _x((1, 2, 7, 9)))


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1)),
    dict(kernel_size=2, stride=3, dilation=2, ceil_mode=True),
])
def test_max_pool2d_backward_matches_finite_differences(kwargs):
    check_backward(nn.MaxPool2d(**kwargs), _x((2, 3, 7, 6)))


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=1, padding=(1, 0), divisor_override=4),
])
def test_avg_pool2d_backward_matches_finite_differences(kwargs):
    check_backward(nn.AvgPool2d(**kwargs), _x((2, 3, 7, 6)))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_linear_backward_matches_finite_differences(shape, bias):
    check_backward(nn.Linear(4, 3, bias, rng=0, **F64), _x(shape))


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Flatten(), nn.Flatten(0, 2)],
                         ids=repr)
def test_elementwise_and_reshape_backward_matches_finite_differences(layer):
    check_backward(layer, _x((2, 3, 4, 2)))


def test_sigmoid_does_not_overflow():
    y = nn.Sigmoid()(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


def test_sequential_and_residual_backward_match_finite_differences():
    body = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=0, **F64), nn.Tanh(),
                         nn.Conv2d(3, 3, 3, stride=2, padding=1, rng=1, **F64))
    block = nn.Residual(body, rng=2)
    assert isinstance(block.shortcut, nn.Conv2d)  # channels 2 -> 3 and stride 2 need a projection
    assert block.shortcut.kernel_size == (1, 1) and block.shortcut.stride == (2, 2)
    net = nn.Sequential(block, nn.ReLU(),
                        nn.Residual(nn.Sequential(nn.Conv2d(3, 3, 3, padding="same", rng=3, **F64),
                                                  nn.Sigmoid())))
    assert net[2].shortcut is None  # same shape: identity
    check_backward(net, _x((1, 2, 5, 5)))


def test_residual_rejects_branches_of_different_shapes():
    block = nn.Residual(nn.Conv2d(2, 2, 3, rng=0))  # no padding: 5x5 -> 3x3, identity shortcut
    with pytest.raises(ValueError, match="differs from shortcut"):
        block(np.zeros((1, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match="shortcut"):
        nn.Residual(nn.MaxPool2d(2))


# ----------------------------------------------------------------------------------------------
# Dropout, train/eval

def test_dropout_masks_in_training_and_is_identity_in_eval():
    layer = nn.Dropout(0.25, rng=0)
    x = np.ones((200, 100))
    y = layer(x)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    g = _x(x.shape)
    np.testing.assert_array_equal(layer.backward(g), g * y)  # the same mask and scale
    nn.manual_seed(3)
    unseeded = nn.Dropout(0.5)
    first = unseeded(x)
    nn.manual_seed(3)
    np.testing.assert_array_equal(unseeded(x), first)
    net = nn.Sequential(nn.Linear(100, 4, rng=0, **F64), layer).eval()
    assert not layer.training
    np.testing.assert_array_equal(layer(x), x)
    assert net.train().training and layer.training


# ----------------------------------------------------------------------------------------------
# Initialisation

def test_default_init_is_pytorch_kaiming_uniform_and_seedable():
    layer = nn.Conv2d(4, 64, 3, groups=2, rng=0)
    fan_in = 2 * 3 * 3
    bound = 1 / math.sqrt(fan_in)
    assert layer.weight.shape == (64, 2, 3, 3) and layer.weight.dtype == np.float32
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b/sqrt(3)
    np.testing.assert_array_equal(nn.Conv2d(4, 64, 3, groups=2, rng=0).weight.data, layer.weight.data)
    nn.manual_seed(7)
    a = nn.Linear(5, 3, dtype=np.float64)
    nn.manual_seed(7)
    b = nn.Linear(5, 3, dtype=np.float64)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert a.weight.dtype == np.float64 and nn.Linear(5, 3, bias=False).bias is None


# ----------------------------------------------------------------------------------------------
# Validation

def test_layers_reject_bad_input_with_clear_messages():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"expected input with 3 channels.*got shape \(2, 4, 8, 8\)"):
        conv(np.zeros((2, 4, 8, 8), np.float32))
    with pytest.raises(TypeError, match="expected dtype float32"):
        conv(np.zeros((2, 3, 8, 8), np.float64))
    with pytest.raises(ValueError, match="4-d"):
        conv(np.zeros((3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="smaller than the"):
        conv(np.zeros((1, 3, 2, 8), np.float32))
    with pytest.raises(ValueError, match=r"expected input of shape \(\.\.\., 5\)"):
        nn.Linear(5, 2)(np.zeros((2, 4), np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.ReLU().backward(np.zeros(3))
    conv(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"grad_output: expected shape \(2, 4, 6, 6\)"):
        conv.backward(np.zeros((2, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), np.zeros(3))
    with pytest.raises(ValueError, match="p: expected a probability"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="data: expected a float32 or float64 array"):
        nn.Parameter([1, 2])


# ----------------------------------------------------------------------------------------------
# Containers, persistence, shape utilities

def _lenet(**kwargs):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, **kwargs), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5, **kwargs), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120, **kwargs), nn.ReLU(), nn.Linear(120, 84, **kwargs), nn.ReLU(),
        nn.Linear(84, 10, **kwargs))


def test_sequential_indexing_slicing_and_names():
    net = _lenet(rng=0)
    assert len(net) == 12 and isinstance(net[0], nn.Conv2d) and net[-1] is list(net)[-1]
    head = net[:3]
    assert isinstance(head, nn.Sequential) and len(head) == 3 and head[0] is net[0]
    names = [name for name, _ in net.named_parameters()]
    assert names[:4] == ["0.weight", "0.bias", "3.weight", "3.bias"] and names[-1] == "11.bias"
    assert net.num_parameters() == 156 + 2416 + 48120 + 10164 + 850


def test_state_dict_round_trip_through_npz(tmp_path):
    x = _x((3, 1, 32, 32)).astype(np.float32)
    net = _lenet(rng=0)
    path = tmp_path / "lenet.npz"
    net.save(path)
    other = _lenet(rng=1)
    assert not np.array_equal(other(x), net(x))
    other.load(path)
    np.testing.assert_array_equal(other(x), net(x))
    state = net.state_dict()
    state["0.weight"] += 1  # a copy: the model is not changed through it
    assert not np.array_equal(state["0.weight"], net[0].weight.data)
    with pytest.raises(KeyError, match="missing keys"):
        net.load_state_dict({k: v for k, v in state.items() if k != "3.bias"})
    state["3.bias"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"state_dict\['3.bias'\]: expected shape \(16,\)"):
        net.load_state_dict(state)


def test_summary_reports_each_layer_and_the_parameter_count():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding="same"), nn.ReLU(),
        nn.Conv2d(8, 16, 5, stride=2, padding="same"), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 16 * 16, 512), nn.ReLU(), nn.Linear(512, 4))
    out = io.StringIO()
    total = net.summary((3, 32, 32), file=out)
    expected = (8 * 3 * 3 * 3 + 8) + (16 * 5 * 5 * 8 + 16) + (16 * 16 * 16 * 512 + 512) + (512 * 4 + 4)
    assert total == expected == net.num_parameters()
    text = out.getvalue()
    assert "(16, 16, 16)" in text and "(4096,)" in text and f"Total parameters: {expected:,}" in text


def test_output_shape_and_receptive_field_of_lenet():
    net = _lenet(rng=0)
    assert nn.output_shape(net[0], (7, 1, 32, 32)) == (7, 6, 28, 28)
    assert nn.output_shape(net[:6], (7, 1, 32, 32)) == (7, 16, 5, 5)
    assert net.output_shape((7, 1, 32, 32)) == (7, 10)
    # r = 1 + 4*1 + 1*1 + 4*2 + 1*2: each layer's extent times the product of earlier strides
    assert nn.receptive_field(net[:6]) == (16, 16)
    assert nn.receptive_field([nn.Conv2d(1, 1, (3, 5), dilation=(2, 1)), nn.ReLU(),
                               nn.MaxPool2d(2, stride=1)]) == (6, 6)
    with pytest.raises(ValueError, match="Flatten"):
        nn.receptive_field(net)


@settings(max_examples=30)
@given(kernel=st.integers(1, 4), stride=st.integers(1, 3), dilation=st.integers(1, 2),
       padding=st.one_of(st.just("same"), st.integers(0, 2)), size=st.integers(1, 12))
def test_output_shape_of_params_matches_the_layer_forward(kernel, stride, dilation, padding, size):
    params = dict(kernel_size=kernel, stride=stride, dilation=dilation, padding=padding, out_channels=3)
    layer = nn.Conv2d(2, 3, kernel, stride, padding, dilation, rng=0)
    x = np.zeros((1, 2, size, size + 1), np.float32)
    try:
        expected = nn.output_shape(params, x.shape)
    except ValueError:
        with pytest.raises(ValueError):
            layer(x)
        return
    assert layer(x).shape == expected == nn.output_shape(layer, x.shape)
    if padding == "same":
        assert expected[2:] == (-(-size // stride), -(-(size + 1) // stride))


# ----------------------------------------------------------------------------------------------
# Losses

def test_softmax_cross_entropy_is_stable_and_its_gradient_matches_finite_differences():
    loss = nn.SoftmaxCrossEntropy()
    logits = _x((4, 5)) * 3
    labels = np.array([0, 4, 2, 2])
    value = loss(logits, labels)
    expected = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(4), labels])
    assert value == pytest.approx(expected, rel=1e-12)
    grad = loss.backward()
    np.testing.assert_allclose(grad, _numeric_gradient(lambda: loss(logits, labels), logits), atol=1e-8)
    big = np.array([[1e4, 0.0, -1e4]], np.float32)
    assert loss(big, [1]) == pytest.approx(1e4) and np.isfinite(loss.backward()).all()
    assert loss.backward().dtype == np.float32
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 3\)"):
        loss(big, [3])
    with pytest.raises(TypeError, match="integer"):
        loss(big, [1.0])


def test_mse_loss_and_gradient():
    loss = nn.MSELoss()
    pred, target = _x((3, 4)), _x((3, 4), seed=2)
    assert loss(pred, target) == pytest.approx(np.mean((pred - target) ** 2), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), _numeric_gradient(lambda: loss(pred, target), pred), atol=1e-8)
    with pytest.raises(ValueError, match="target: expected shape"):
        loss(pred, target[:2])


@needs_torch
def test_losses_match_torch():
    logits, labels = _x((6, 4)), np.array([3, 0, 1, 1, 2, 0])
    t_logits = torch.tensor(logits, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(labels))
    t_loss.backward()
    loss = nn.SoftmaxCrossEntropy()
    assert loss(logits, labels) == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), t_logits.grad.numpy(), rtol=1e-12, atol=1e-15)
    target = _x((6, 4), seed=5)
    t_pred = torch.tensor(logits, requires_grad=True)
    t_mse = torch.nn.functional.mse_loss(t_pred, torch.tensor(target))
    t_mse.backward()
    mse = nn.MSELoss()
    assert mse(logits, target) == pytest.approx(t_mse.item(), rel=1e-12)
    np.testing.assert_allclose(mse.backward(), t_pred.grad.numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------------------------
# Optimisers

def _run_optimizer(make, steps=4):
    """Parameters after `steps` updates with fixed gradients drawn per step."""
    params = [nn.Parameter(_x((3, 2), seed=10)), nn.Parameter(_x((4,), seed=11))]
    opt = make(params)
    for step in range(steps):
        opt.zero_grad()
        for k, p in enumerate(params):
            p.grad += _x(p.shape, seed=100 * step + k)
        opt.step()
    return [p.data for p in params]


def test_sgd_first_steps_by_hand():
    p = nn.Parameter(np.array([1.0]))
    opt = nn.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    p.grad[:] = 2.0
    opt.step()  # g = 2 + 0.5 * 1 = 2.5, buf = 2.5, p = 1 - 0.25
    assert p.data[0] == pytest.approx(0.75)
    opt.step()  # g = 2 + 0.375 = 2.375, buf = 0.9 * 2.5 + 2.375 = 4.625, p = 0.75 - 0.4625
    assert p.data[0] == pytest.approx(0.2875)
    with pytest.raises(ValueError, match="lr"):
        nn.SGD([p], lr=-1)
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        nn.Adam([p], betas=(0.9, 1.0))


@needs_torch
@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.1, betas=(0.5, 0.9), eps=1e-6)),
])
def test_optimizers_match_torch(name, kwargs):
    ours = _run_optimizer(lambda params: getattr(nn, name)(params, **kwargs))

    def make_torch(params):
        tensors = [torch.tensor(p.data, requires_grad=True) for p in params]
        opt = getattr(torch.optim, name)(tensors, **kwargs)

        class Adapter:  # feeds our fixed gradients to torch and copies its results back
            def zero_grad(self):
                for p in params:
                    p.grad.fill(0)

            def step(self):
                for t, p in zip(tensors, params):
                    t.grad = torch.tensor(p.grad)
                opt.step()
                for t, p in zip(tensors, params):
                    p.data[...] = t.detach().numpy()
        return Adapter()

    for a, b in zip(ours, _run_optimizer(make_torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------------------------
# A whole network against PyTorch

def _torch_copy(net):
    """The same network built from torch.nn layers with our weights."""
    layers = []
    for layer in net:
        if isinstance(layer, nn.Conv2d):
            t = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                (layer.padding[0], layer.padding[2]), layer.dilation, layer.groups,
                                layer.bias is not None, dtype=torch.float64)
        elif isinstance(layer, nn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
        elif isinstance(layer, nn.MaxPool2d):
            t = torch.nn.MaxPool2d(layer.kernel_size, layer.stride, (layer.padding[0], layer.padding[2]),
                                   layer.dilation, ceil_mode=layer.ceil_mode)
        elif isinstance(layer, nn.AvgPool2d):
            t = torch.nn.AvgPool2d(layer.kernel_size, layer.stride, (layer.padding[0], layer.padding[2]),
                                   layer.ceil_mode, layer.count_include_pad)
        else:
            t = {nn.ReLU: torch.nn.ReLU, nn.Tanh: torch.nn.Tanh, nn.Sigmoid: torch.nn.Sigmoid,
                 nn.Flatten: torch.nn.Flatten}[type(layer)]()
        for name, p in layer.named_parameters():
            getattr(t, name).data = torch.tensor(p.data)
        layers.append(t)
    return torch.nn.Sequential(*layers)


@needs_torch
def test_network_forward_backward_matches_torch():
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, rng=0, **F64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2), groups=2, rng=1, **F64),
        nn.Tanh(), nn.AvgPool2d(2, ceil_mode=True), nn.Flatten(),
        nn.Linear(8 * 2 * 2, 10, rng=2, **F64), nn.Sigmoid(), nn.Linear(10, 4, rng=3, **F64))
    reference = _torch_copy(net)
    x, labels = _x((5, 3, 12, 14)), np.array([0, 3, 1, 2, 3])
    loss = nn.SoftmaxCrossEntropy()
    value = loss(net(x), labels)
    net.zero_grad()
    grad_x = net.backward(loss.backward())

    t_x = torch.tensor(x, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(reference(t_x), torch.tensor(labels))
    t_loss.backward()
    assert value == pytest.approx(t_loss.item(), rel=1e-10)
    np.testing.assert_allclose(grad_x, t_x.grad.numpy(), rtol=1e-8, atol=1e-12)
    torch_params = dict(reference.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-8, atol=1e-12,
                                   err_msg=name)


def test_empty_batch_flows_through_forward_and_backward():
    net = _lenet(rng=0)
    y = net(np.zeros((0, 1, 32, 32), np.float32))
    assert y.shape == (0, 10)
    assert net.backward(y).shape == (0, 1, 32, 32)
    assert all(not p.grad.any() for p in net.parameters())
