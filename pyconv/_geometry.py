"""Named geometries: the fields of the C structs pyconv_conv_shape and pyconv_pool_shape
(pyconv/include/pyconv_kernels.h), by name and in the structs' order, which the glue's one
conversion (_conv.pyx / _pool.pyx `_shape`) relies on."""
from typing import NamedTuple

# The argument of the public functions each field comes from, for messages.
_ARGUMENT_OF = {
    "n": "input", "c_in": "input", "h_in": "input", "w_in": "input", "n_planes": "input",
    "c_out": "weight", "kh": "kernel_size", "kw": "kernel_size", "h_out": "padding",
    "w_out": "padding", "stride_h": "stride", "stride_w": "stride", "pad_top": "padding",
    "pad_left": "padding", "pad_h": "padding", "pad_w": "padding", "dil_h": "dilation",
    "dil_w": "dilation", "groups": "groups",
}


def check_int64(geometry, limit):
    """ValueError naming the argument when a field is beyond `limit`, so that the struct's
    int64 fields can hold it (the kernels check the rest of the geometry themselves)."""
    if max(geometry) <= limit:
        return
    for field, value in zip(geometry._fields, geometry):
        if value > limit:
            raise ValueError(f"{_ARGUMENT_OF[field]}: sizes up to {limit} supported, "
                             f"got {value} ({field})")


class ConvGeometry(NamedTuple):
    """One grouped 2-D convolution: input (n, c_in, h_in, w_in), weight (c_out, c_in / groups,
    kh, kw), output (n, c_out, h_out, w_out). Output pixel (oh, ow) reads input row
    oh * stride_h - pad_top + i * dil_h; bottom / right padding only shows in h_out / w_out."""
    n: int
    c_in: int
    h_in: int
    w_in: int
    c_out: int
    kh: int
    kw: int
    h_out: int
    w_out: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    dil_h: int
    dil_w: int
    groups: int

    @property
    def input_shape(self):
        return (self.n, self.c_in, self.h_in, self.w_in)

    @property
    def output_shape(self):
        return (self.n, self.c_out, self.h_out, self.w_out)

    @property
    def weight_shape(self):
        return (self.c_out, self.c_in // self.groups, self.kh, self.kw)


class PoolGeometry(NamedTuple):
    """Pooling of n_planes = N * C planes (h_in, w_in) -> (h_out, w_out); pad_h / pad_w on both
    sides (at most half the kernel, as in PyTorch)."""
    n_planes: int
    h_in: int
    w_in: int
    kh: int
    kw: int
    h_out: int
    w_out: int
    stride_h: int
    stride_w: int
    pad_h: int
    pad_w: int
    dil_h: int
    dil_w: int
