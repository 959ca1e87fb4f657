"""The network suite's case table: every convolution and pooling layer of ResNet-18, ResNet-50,
MobileNetV2 and VGG-16 on 224x224 images, derived from each architecture's description (the
stages, blocks and expansions of torchvision's definitions; torchvision itself is not needed).

Each distinct layer shape is one case per mode, timed once and weighted by how often each
network has it: "inference" is the forward pass, "training" the forward pass and both
gradients (convolution: conv2d, conv2d_input, conv2d_weight; pooling: forward with indices
and backward). Layer names are torchvision's module names of the shape's first occurrence.
Global average pools are counted where the network applies one (ResNet's avgpool,
MobileNetV2's adaptive_avg_pool2d); VGG-16's adaptive average pool is the identity at 224x224
and left out, as are the fully connected classifiers."""
import re
from collections import Counter
from dataclasses import dataclass, fields, replace
from typing import Tuple

from bench.cases import ConvLayer, PoolLayer, conv_output_size

IMAGE_SIZE = 224
BATCHES = (1, 32)
MODES = ("inference", "training")
CONV_MODE_OPS = {"inference": ("conv2d",), "training": ("conv2d", "conv2d_input", "conv2d_weight")}
POOL_MODE_OPS = {
    "max": {"inference": ("max_pool2d_no_indices",), "training": ("max_pool2d", "max_pool2d_backward")},
    "avg": {"inference": ("avg_pool2d",), "training": ("avg_pool2d", "avg_pool2d_backward")},
}


@dataclass(frozen=True)
class MaxPool(PoolLayer):
    """A max-pooling layer (PoolLayer times every pool op; a network layer is one kind)."""
    kind = "max"


@dataclass(frozen=True)
class AvgPool(PoolLayer):
    kind = "avg"


class _Network:
    """Collects one network's layers in order while following its channels and image size."""

    def __init__(self):
        self.layers = []

    def conv(self, name, c_in, c_out, size, kernel, stride=1, groups=1, bias=False):
        """Append a k x k convolution with torchvision's padding (k - 1) // 2; its output size."""
        padding = (kernel - 1) // 2
        self.layers.append(ConvLayer(name, 1, c_in, c_out, (size, size), (kernel, kernel), stride=stride,
                                     padding=padding, groups=groups, bias=bias))
        return conv_output_size(size, kernel, stride, padding, 1)

    def pool(self, cls, name, channels, size, kernel, stride, padding=0):
        self.layers.append(cls(name, 1, channels, (size, size), kernel=kernel, stride=stride, padding=padding))
        return conv_output_size(size, kernel, stride, padding, 1)


def resnet(blocks, bottleneck):
    """torchvision's ResNet: a 7x7 stride-2 stem and 3x3 max pool, four stages of 64-512 planes
    (stride 2 from the second), basic blocks (two 3x3) or bottlenecks (1x1, 3x3 carrying the
    stride, 1x1 to 4x the planes), a 1x1 downsample convolution where a block changes the stride
    or the channel count, and a global average pool."""
    expansion = 4 if bottleneck else 1
    net = _Network()
    size = net.conv("conv1", 3, 64, IMAGE_SIZE, 7, stride=2)
    size = net.pool(MaxPool, "maxpool", 64, size, 3, 2, padding=1)
    channels = 64
    for stage, (planes, n_blocks) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
        for block in range(n_blocks):
            stride = 2 if stage > 1 and block == 0 else 1
            prefix = f"layer{stage}.{block}"
            if bottleneck:
                net.conv(f"{prefix}.conv1", channels, planes, size, 1)
                out = net.conv(f"{prefix}.conv2", planes, planes, size, 3, stride=stride)
                net.conv(f"{prefix}.conv3", planes, planes * expansion, out, 1)
            else:
                out = net.conv(f"{prefix}.conv1", channels, planes, size, 3, stride=stride)
                net.conv(f"{prefix}.conv2", planes, planes, out, 3)
            if stride != 1 or channels != planes * expansion:
                net.conv(f"{prefix}.downsample.0", channels, planes * expansion, size, 1, stride=stride)
            channels, size = planes * expansion, out
    net.pool(AvgPool, "avgpool", channels, size, size, size)
    return net.layers


# MobileNetV2's inverted-residual stages: (expansion t, output channels c, blocks n, first stride s)
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2():
    """torchvision's MobileNetV2 (width 1.0): a 3x3 stride-2 stem to 32 channels, inverted
    residual blocks (1x1 expansion to t x the input channels when t > 1, 3x3 depthwise carrying
    the stride, 1x1 projection), a 1x1 convolution to 1280 channels and a global average pool."""
    net = _Network()
    size = net.conv("features.0.0", 3, 32, IMAGE_SIZE, 3, stride=2)
    channels, index = 32, 1
    for t, c, n, s in MOBILENET_V2_STAGES:
        for block in range(n):
            stride = s if block == 0 else 1
            hidden = channels * t
            prefix, sub = f"features.{index}.conv", 0
            if t != 1:
                net.conv(f"{prefix}.0.0", channels, hidden, size, 1)
                sub = 1
            out = net.conv(f"{prefix}.{sub}.0", hidden, hidden, size, 3, stride=stride, groups=hidden)
            net.conv(f"{prefix}.{sub + 1}", hidden, c, out, 1)
            channels, size, index = c, out, index + 1
    net.conv(f"features.{index}.0", channels, 1280, size, 1)
    net.pool(AvgPool, "avgpool", 1280, size, size, size)
    return net.layers


# VGG-16 (configuration "D"): 3x3 convolutions (with bias) of these widths, "M" a 2x2 max pool
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16():
    """torchvision's VGG-16: 13 3x3 convolutions with bias and 5 2x2 stride-2 max pools."""
    net = _Network()
    channels, size = 3, IMAGE_SIZE
    for index, item in enumerate(VGG16_CONFIG):
        # torchvision's features: each conv is followed by a ReLU module, which takes an index
        name = f"features.{sum(2 if v != 'M' else 1 for v in VGG16_CONFIG[:index])}"
        if item == "M":
            size = net.pool(MaxPool, name, channels, size, 2, 2)
        else:
            net.conv(name, channels, item, size, 3, bias=True)
            channels = item
    return net.layers


NETWORKS = {"resnet18": resnet((2, 2, 2, 2), bottleneck=False), "resnet50": resnet((3, 4, 6, 3), bottleneck=True),
            "mobilenet_v2": mobilenet_v2(), "vgg16": vgg16()}


def shape_key(layer):
    """What makes two layers the same case: every field but the name (and the batch)."""
    return (type(layer),) + tuple(getattr(layer, f.name) for f in fields(layer) if f.name not in ("name", "batch"))


def macs(layer):
    """Multiply-adds of a convolution's forward pass at the layer's batch (0 for pooling)."""
    return layer.flops() // 2 if isinstance(layer, ConvLayer) else 0


@dataclass(frozen=True)
class NetworkCase:
    """One distinct layer shape (named after its first occurrence, at a batch size) in one mode,
    with how many times each network has it."""
    layer: object
    mode: str
    counts: Tuple[Tuple[str, int], ...]

    @property
    def name(self):
        return f"{self.layer.name}/{self.mode}"

    @property
    def ops(self):
        """The pyconv / PyTorch ops one call of this case runs, in order."""
        if isinstance(self.layer, ConvLayer):
            return CONV_MODE_OPS[self.mode]
        return POOL_MODE_OPS[self.layer.kind][self.mode]

    @property
    def networks(self):
        return dict(self.counts)


def distinct_layers():
    """[(layer named 'network.module' of its first occurrence, ((network, count), ...))], in
    network order, each shape once."""
    counts, first = {}, {}
    for net, layers in NETWORKS.items():
        for key, n in Counter(shape_key(layer) for layer in layers).items():
            counts.setdefault(key, Counter())[net] += n
        for layer in layers:
            first.setdefault(shape_key(layer), replace(layer, name=f"{net}.{layer.name}"))
    return [(first[key], tuple(counts[key].items())) for key in first]


def select(pattern=None, batches=BATCHES, network=None):
    """The network cases whose name ('network.module/mode') matches the regular expression
    `pattern` (re.search), for each batch size in `batches`; with `network`, only the layers that
    network has (also those named after another network with the same shape), counted for it
    alone, so that its totals are whole."""
    regex = re.compile(pattern) if pattern else None
    chosen = []
    for batch in batches:
        for layer, counts in distinct_layers():
            if network is not None:
                counts = tuple((net, n) for net, n in counts if net == network)
                if not counts:
                    continue
            for mode in MODES:
                case = NetworkCase(replace(layer, batch=batch), mode, counts)
                if regex is None or regex.search(case.name):
                    chosen.append(case)
    return chosen
