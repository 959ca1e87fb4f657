"""The one table of benchmark cases, shared by the CLI (`python -m bench`) and the pytest-benchmark
suite (`bench/test_bench.py`), with each op's work count (FLOPs, or bytes for pooling).

A layer is a real network layer at a batch size chosen so the default suite runs in a few minutes on
2 cores; `quick_batch` is its size in `--quick` runs (None: left out of them). A case is one layer
and one op on it."""
import math
import re
from dataclasses import dataclass, replace
from typing import ClassVar, Optional, Tuple

CONV_OPS = ("conv2d", "conv2d_input", "conv2d_weight")
# max_pool2d returns indices (the target); max_pool2d_no_indices is its fast path.
POOL_OPS = ("max_pool2d", "max_pool2d_no_indices", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward")
INDEXED_POOL_OPS = ("max_pool2d", "max_pool2d_backward")
GEMM_OPS = ("gemm",)
# Bytes of one max-pool index (PyTorch's int64 format).
INDEX_BYTES = 8


def conv_output_size(size, kernel, stride, padding, dilation):
    """PyTorch's output length along one axis (floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvLayer:
    """A 2-D convolution: square stride / padding / dilation, NCHW input of `batch` images."""
    name: str
    batch: int
    in_channels: int
    out_channels: int
    size: Tuple[int, int]
    kernel: Tuple[int, int]
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = False
    quick_batch: Optional[int] = 1
    ops: ClassVar[Tuple[str, ...]] = CONV_OPS

    @property
    def output_size(self):
        return tuple(conv_output_size(s, k, self.stride, self.padding, self.dilation)
                     for s, k in zip(self.size, self.kernel))

    @property
    def input_shape(self):
        return (self.batch, self.in_channels) + tuple(self.size)

    @property
    def weight_shape(self):
        return (self.out_channels, self.in_channels // self.groups) + tuple(self.kernel)

    @property
    def output_shape(self):
        return (self.batch, self.out_channels) + self.output_size

    def flops(self):
        """2*N*Cout*Hout*Wout*Cin/g*kh*kw: the forward's count, used for every conv op (each
        backward does the same multiply-adds; the bias adds a negligible N*Cout*Hout*Wout)."""
        h_out, w_out = self.output_size
        kh, kw = self.kernel
        return 2 * self.batch * self.out_channels * h_out * w_out * (self.in_channels // self.groups) * kh * kw


@dataclass(frozen=True)
class PoolLayer:
    """A 2-D pooling layer (max and avg): square kernel / stride / padding, NCHW input of `batch` images."""
    name: str
    batch: int
    channels: int
    size: Tuple[int, int]
    kernel: int
    stride: int
    padding: int = 0
    quick_batch: Optional[int] = 1
    ops: ClassVar[Tuple[str, ...]] = POOL_OPS

    @property
    def output_size(self):
        return tuple(conv_output_size(s, self.kernel, self.stride, self.padding, 1) for s in self.size)

    @property
    def input_shape(self):
        return (self.batch, self.channels) + tuple(self.size)

    @property
    def output_shape(self):
        return (self.batch, self.channels) + self.output_size

    def bytes(self, op, itemsize):
        """Bytes of every array `op` touches, each counted once: a forward reads the input and
        writes the values (max_pool2d also int64 indices); a backward reads grad_output (max: and
        the indices) and writes grad_input. Forward and backward come to the same count."""
        per_output = itemsize + (INDEX_BYTES if op in INDEXED_POOL_OPS else 0)
        return math.prod(self.input_shape) * itemsize + math.prod(self.output_shape) * per_output


@dataclass(frozen=True)
class GemmLayer:
    """C (m x n) = A (m x k) @ B (k x n); `quick_batch` is 1 (in --quick runs) or None (left out)."""
    name: str
    m: int
    n: int
    k: int
    quick_batch: Optional[int] = None
    ops: ClassVar[Tuple[str, ...]] = GEMM_OPS

    def flops(self):
        """2*m*n*k."""
        return 2 * self.m * self.n * self.k


def with_batch(layer, batch):
    """The layer with another batch size (GEMMs have none and come back unchanged)."""
    return layer if isinstance(layer, GemmLayer) else replace(layer, batch=batch)


def square_gemm(size, quick=False):
    return GemmLayer(f"gemm_{size}", size, size, size, quick_batch=1 if quick else None)


RESNET18_128 = ConvLayer("resnet18_128", 8, 128, 128, (28, 28), (3, 3), padding=1)
LAYERS = (
    ConvLayer("lenet5_c1", 64, 1, 6, (32, 32), (5, 5), bias=True, quick_batch=16),
    ConvLayer("lenet5_c3", 64, 6, 16, (14, 14), (5, 5), bias=True, quick_batch=16),
    ConvLayer("resnet18_stem", 8, 3, 64, (224, 224), (7, 7), stride=2, padding=3),
    ConvLayer("resnet18_64", 8, 64, 64, (56, 56), (3, 3), padding=1),
    ConvLayer("resnet18_128_s2", 8, 64, 128, (56, 56), (3, 3), stride=2, padding=1),
    RESNET18_128,
    ConvLayer("resnet18_256_s2", 8, 128, 256, (28, 28), (3, 3), stride=2, padding=1),
    ConvLayer("resnet18_256", 8, 256, 256, (14, 14), (3, 3), padding=1),
    ConvLayer("resnet50_1x1", 8, 256, 64, (56, 56), (1, 1)),
    ConvLayer("vgg16_conv3_1", 1, 128, 256, (56, 56), (3, 3), padding=1, quick_batch=None),
    ConvLayer("mobilenet_dw_128", 8, 128, 128, (56, 56), (3, 3), padding=1, groups=128),
    PoolLayer("lenet5_s2", 64, 6, (28, 28), kernel=2, stride=2, quick_batch=16),
    PoolLayer("resnet18_pool", 8, 64, (112, 112), kernel=3, stride=2, padding=1),
    square_gemm(256, quick=True),
    square_gemm(512, quick=True),
    square_gemm(1024),
    square_gemm(2048),
)

# The memory target: peak resident memory of one forward pass on this layer within
# MEMORY_SLACK_BYTES of its input + weight + output.
MEMORY_LAYER = replace(RESNET18_128, name="resnet18_128_b32", batch=32)
MEMORY_SLACK_BYTES = 16 * 2 ** 20


@dataclass(frozen=True)
class Case:
    """One op on one layer: the unit the harness times, checks and reports."""
    layer: object
    op: str

    @property
    def name(self):
        return f"{self.layer.name}/{self.op}"

    @property
    def unit(self):
        """What `work` counts: 'flop' or 'byte'."""
        return "byte" if self.op in POOL_OPS else "flop"

    def work(self, itemsize):
        """FLOPs, or for pooling bytes with `itemsize`-byte floats."""
        return self.layer.bytes(self.op, itemsize) if self.unit == "byte" else self.layer.flops()

    def quick(self):
        """The case as `--quick` runs it, or None when --quick leaves it out."""
        if self.layer.quick_batch is None:
            return None
        return Case(with_batch(self.layer, self.layer.quick_batch), self.op)


CASES = tuple(Case(layer, op) for layer in LAYERS for op in layer.ops)


def select(pattern=None, quick=False, batch=None):
    """The cases whose name (`layer/op`) matches the regular expression `pattern` (re.search),
    in table order; quick-sized and without the ones --quick leaves out when `quick`; at batch
    size `batch` (GEMMs have none) when given."""
    regex = re.compile(pattern) if pattern else None
    chosen = []
    for case in CASES:
        if quick:
            case = case.quick()
            if case is None:
                continue
        if batch is not None:
            case = Case(with_batch(case.layer, batch), case.op)
        if regex is None or regex.search(case.name):
            chosen.append(case)
    return chosen
