"""pyconv.torch.convert(model, fuse=True): eval-mode BatchNorm folded into the convolution,
the residual add and the activation fused into its output stage; the fused model computes what
the torch model computes, and refuses what would change it."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import pyconv.torch as pt  # noqa: E402

nn = torch.nn


class BasicBlock(nn.Module):
    """ResNet's block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: x + bn(conv1x1(relu6(bn(dw(relu6(bn(conv1x1(x))))))))."""

    def __init__(self, c, expand):
        super().__init__()
        hidden = c * expand
        self.body = nn.Sequential(
            nn.Conv2d(c, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


def randomize_batch_norms(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


MODELS = {
    "resnet": lambda: nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.BatchNorm2d(8), nn.ReLU(),
                                    BasicBlock(8, 8, 1), BasicBlock(8, 16, 2), nn.MaxPool2d(2)),
    "mobilenet": lambda: nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.SiLU(),
                                       InvertedResidual(8, 3), nn.Conv2d(8, 4, 1), nn.Sigmoid()),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_fused_model_computes_what_torch_computes(name, dtype):
    torch.manual_seed(0)
    model = randomize_batch_norms(MODELS[name](), 1).to(dtype).eval()
    x = torch.randn(2, 3, 16, 16, dtype=dtype)
    with torch.no_grad():
        expected = model(x)
        fused = pt.convert(model, fuse=True)
        got = fused(x)
    kinds = [type(m).__name__ for m in fused.modules()]
    assert "BatchNorm2d" not in kinds
    assert kinds.count("FusedConv2d") >= 4
    tol = 1e-4 if dtype == torch.float32 else 1e-11
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=tol, atol=tol)
    # the original model is left as it was
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_resnet_block_fuses_the_shortcut_add_and_relu():
    block = randomize_batch_norms(BasicBlock(4, 4, 1), 2).eval()
    fused = pt.convert(block, fuse=True)
    calls = [n for n in fused.graph.nodes if n.op in ("call_module", "call_function")]
    assert [n.target for n in calls] == ["conv1_fused", "conv2_fused"]
    assert fused.conv2_fused.activation == "relu" and len(calls[1].args) == 2


def test_training_mode_batch_norm_is_refused():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    with pytest.raises(ValueError, match="training mode.*eval"):
        pt.convert(model, fuse=True)


def test_fused_layers_are_inference_only():
    fused = pt.convert(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval(), fuse=True)
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    with pytest.raises(RuntimeError, match="inference-only"):
        fused(x)
    with torch.no_grad():
        assert fused(x).shape == (1, 4, 6, 6)


def test_fused_weight_is_packed_again_after_it_changes():
    """The fused layer packs its weight once; an in-place change (load_state_dict, copy_), a new
    tensor or a new dtype is seen, and the result follows the weight."""
    model = nn.Sequential(nn.Conv2d(3, 40, 3, padding=1), nn.ReLU()).eval()
    fused = pt.convert(model, fuse=True)
    layer = next(m for m in fused.modules() if isinstance(m, pt.FusedConv2d))
    x = torch.randn(1, 3, 7, 7)

    def expected():
        return torch.relu(torch.nn.functional.conv2d(x.to(layer.weight.dtype), layer.weight, layer.bias,
                                                     padding=1))
    with torch.no_grad():
        np.testing.assert_allclose(fused(x).numpy(), expected().numpy(), rtol=1e-5, atol=1e-5)
        first = layer._packed_weight()
        assert layer._packed_weight() is first  # packed once
        layer.weight.mul_(-2)
        np.testing.assert_allclose(fused(x).numpy(), expected().numpy(), rtol=1e-5, atol=1e-5)
        layer.load_state_dict({"weight": torch.randn_like(layer.weight), "bias": layer.bias})
        np.testing.assert_allclose(fused(x).numpy(), expected().numpy(), rtol=1e-5, atol=1e-5)
        layer.weight = torch.randn_like(layer.weight)
        np.testing.assert_allclose(fused(x).numpy(), expected().numpy(), rtol=1e-5, atol=1e-5)
        fused.double()
        x = x.double()
        np.testing.assert_allclose(fused(x).numpy(), expected().numpy(), rtol=1e-12, atol=1e-12)
        assert layer._packed_weight().dtype == np.float64
