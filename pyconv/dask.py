"""pyconv on dask arrays: convolution and pooling of arrays larger than memory, chunk by chunk.

    import pyconv.dask
    y = pyconv.dask.conv2d(x, w, b, padding=1)      # x: a dask array (N, C, H, W)
    p = pyconv.dask.max_pool2d(y, 2)
    p.compute()                                    # or da.store(p, ...), on any dask scheduler

The forward ops (conv2d, max_pool2d, avg_pool2d) accept chunks along the batch axis and the
spatial axes (and, for pooling, the channel axis). The output is chunked on the stride grid:
output row o belongs to the input chunk holding the first row of its window (o * stride -
pad_top), so an input chunk of fewer rows than the stride can own no output row, and its
neighbour's tile reads it as part of its halo. Each output tile is computed by one pyconv call
on the input rows its windows need (the halo: span = dilation * (kernel - 1) + 1 rows beyond
its first window start), gathered from however many input chunks hold them, so chunks of any
size, uneven or smaller than the halo, work without a rechunk. The tile's call uses the whole
array's padding, on a window that starts on the stride grid (a multiple of the stride), so its
windows are the whole call's windows shifted by whole outputs; the extra outputs at its edges
(those reaching the call's own padding) are dropped. The result equals one whole-array pyconv
call: bit for bit when only the batch axis is chunked (each chunk is the whole call on fewer
images), and within the float tolerance otherwise.

The gradients conv2d_input and conv2d_weight work on batch chunks: spatial and channel chunks
are first merged into whole planes (one image chunk per task); conv2d_weight sums the chunks'
partial gradients (a dask reduction, so not bit-identical to one call).

Weights and biases enter the graph once, as one key each (a NumPy array becomes a one-chunk
dask array; a dask array is rechunked to one chunk), never as a constant copied into every task,
so the scheduler's memory holds one copy whatever the number of tiles. Every task is a
module-level function of this module with its arguments, so graphs pickle to worker processes
(dask.distributed). n_threads is each task's pyconv thread count: 1 by default, since dask runs
one task per worker thread and more would oversubscribe the cores; give a worker's cores to
each task (n_threads = cores per worker) only on workers that run one task at a time
(threads_per_worker=1). Needs dask: pip install "pyconv[dask]"."""
import functools
import math

import numpy as np

import pyconv
from pyconv._args import as_pair, as_shape, conv_padding

try:
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as exc:
    raise ImportError('pyconv.dask needs dask: pip install "pyconv[dask]" (dask[array])') from exc

__all__ = ["avg_pool2d", "conv2d", "conv2d_input", "conv2d_weight", "max_pool2d"]


def _dask_input(value, name):
    """A 4-d dask array with known chunk sizes."""
    if not isinstance(value, da.Array):
        raise TypeError(f"{name}: expected a dask array (dask.array.Array), got {type(value).__name__}")
    if value.ndim != 4:
        raise ValueError(f"{name}: expected a 4-d (N, C, H, W) dask array, got {value.ndim}-d "
                         f"with shape {value.shape}")
    if any(math.isnan(size) for size in value.shape):
        raise ValueError(f"{name}: expected known chunk sizes, got shape {value.shape} "
                         "(call compute_chunk_sizes() first)")
    return value


def _one_block(value, name):
    """A weight-like operand as a one-chunk dask array and its single key (None stays None)."""
    if value is None:
        return None, None
    arr = value if isinstance(value, da.Array) else da.from_array(np.asarray(value), chunks=-1,
                                                                  name=f"{name}-" + tokenize(value))
    arr = arr.rechunk(arr.shape)
    return arr, (arr.name,) + (0,) * arr.ndim


def _zeros_like(arr):
    """A NumPy stand-in of a dask operand's shape and dtype for the validating call."""
    return None if arr is None else np.zeros(arr.shape, arr.dtype)


def _axis_tiles(in_chunks, out_size, kernel, stride, dilation, pad_before):
    """Output tiles along one spatial axis: [(o0, o1, r0, r1)], output rows o0..o1-1 computed
    from input rows r0..r1-1 by one call with the whole array's padding; r0 is a multiple of
    the stride, so the call's output j is the whole call's output j + r0 // stride."""
    span = dilation * (kernel - 1) + 1
    size = sum(in_chunks)
    starts = np.cumsum((0,) + tuple(in_chunks))[1:-1]
    # output o belongs to the chunk holding its window's first row o * stride - pad_before
    cuts = sorted({0, out_size} | {min(out_size, max(0, -(-(int(b) + pad_before) // stride)))
                                   for b in starts})
    tiles = []
    for o0, o1 in zip(cuts[:-1], cuts[1:]):
        if o0 == o1:
            continue
        r0 = stride * (max(0, o0 * stride - pad_before) // stride)
        r1 = min(size, max((o1 - 1) * stride - pad_before + span, r0 + span))
        if r1 - r0 < span:
            # at the far edge, or past it (convolution windows wholly in the bottom padding):
            # widen back by whole strides so the call gets one window's span of input rows
            # (or the whole axis), never an empty tile
            r0 = max(0, r0 - stride * -(-(span - (r1 - r0)) // stride))
        tiles.append((o0, o1, r0, r1))
    return tiles


def _pieces(in_chunks, r0, r1):
    """The input chunks overlapping rows r0..r1-1: [(chunk index, local start, local stop)]."""
    pieces, start = [], 0
    for index, size in enumerate(in_chunks):
        lo, hi = max(r0, start), min(r1, start + size)
        if lo < hi:
            pieces.append((index, lo - start, hi - start))
        start += size
    return pieces


def _forward_tile(op, kwargs, slices_h, slices_w, rows, cols, blocks, *operands):
    """One output tile: the input window gathered from its chunks, one pyconv call, the tile's
    rows and columns of the result."""
    parts = [[block[:, :, h0:h1, w0:w1] for block, (w0, w1) in zip(row, slices_w)]
             for row, (h0, h1) in zip(blocks, slices_h)]
    window = parts[0][0] if len(parts) == 1 and len(parts[0]) == 1 else np.block(parts)
    y = op(window, *operands, **kwargs)
    (j0, j1), (k0, k1) = rows, cols
    if (j0, j1, k0, k1) == (0, y.shape[2], 0, y.shape[3]):
        return y
    return np.ascontiguousarray(y[:, :, j0:j1, k0:k1])


def _windowed(op, x, operands, kwargs, meta, geometry, whole_channels):
    """The dask array of op applied tile by tile. meta: op's (validating) result on no images;
    geometry: per spatial axis (kernel, stride, dilation, pad_before); whole_channels: the op
    mixes channels (the input is merged into one channel chunk)."""
    if whole_channels:
        x = x.rechunk({1: -1})
    out_h, out_w = meta.shape[2:]
    channels = (meta.shape[1],) if whole_channels else x.chunks[1]
    tiles_h = _axis_tiles(x.chunks[2], out_h, *geometry[0])
    tiles_w = _axis_tiles(x.chunks[3], out_w, *geometry[1])
    keys = [key for _, key in operands]
    name = f"pyconv-{op.__name__}-" + tokenize(x.name, keys, kwargs)
    graph = {}
    for th, (o0, o1, r0, r1) in enumerate(tiles_h):
        pieces_h = _pieces(x.chunks[2], r0, r1)
        for tw, (q0, q1, c0, c1) in enumerate(tiles_w):
            pieces_w = _pieces(x.chunks[3], c0, c1)
            task = functools.partial(
                _forward_tile, op, kwargs, [p[1:] for p in pieces_h], [p[1:] for p in pieces_w],
                (o0 - r0 // geometry[0][1], o1 - r0 // geometry[0][1]),
                (q0 - c0 // geometry[1][1], q1 - c0 // geometry[1][1]))
            for b in range(x.numblocks[0]):
                for c in range(len(channels)):
                    blocks = [[(x.name, b, c, ih, iw) for iw, _, _ in pieces_w] for ih, _, _ in pieces_h]
                    graph[(name, b, c, th, tw)] = (task, blocks, *keys)
    dependencies = [x] + [a for a, _ in operands]
    chunks = (x.chunks[0], channels, tuple(o1 - o0 for o0, o1, _, _ in tiles_h),
              tuple(q1 - q0 for q0, q1, _, _ in tiles_w))
    return da.Array(HighLevelGraph.from_collections(name, graph, dependencies=dependencies),
                    name, chunks, meta=meta)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm="auto", n_threads=1):
    """pyconv.conv2d on a dask array input (N, C_in, H, W), chunked along N, H and W (channel
    chunks are merged); weight and bias are NumPy or dask arrays. A lazy (N, C_out, H_out,
    W_out) dask array."""
    x = _dask_input(input, "input")
    w, w_key = _one_block(weight, "weight")
    b, b_key = _one_block(bias, "bias")
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  algorithm=algorithm, n_threads=n_threads)
    operands = [(w, w_key)] + ([(b, b_key)] if b is not None else [])
    # validates every argument, with pyconv's messages, before anything is planned
    meta = pyconv.conv2d(np.empty((0,) + x.shape[1:], x.dtype), _zeros_like(w), _zeros_like(b), **kwargs)
    kernel, dil, strides = w.shape[2:], as_pair(dilation, "dilation"), as_pair(stride, "stride")
    top, _, left, _ = conv_padding(padding, kernel, dil, strides)
    geometry = [(kernel[0], strides[0], dil[0], top), (kernel[1], strides[1], dil[1], left)]
    return _windowed(pyconv.conv2d, x, operands, kwargs, meta, geometry, whole_channels=True)


def _pool_geometry(kernel_size, stride, padding, dilation):
    kernel = as_pair(kernel_size, "kernel_size")
    default = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernel if default else as_pair(stride, "stride")  # PyTorch's default: the kernel
    pads, dil = as_pair(padding, "padding"), as_pair(dilation, "dilation")
    return [(kernel[a], strides[a], dil[a], pads[a]) for a in (0, 1)]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, n_threads=1):
    """pyconv.max_pool2d on a dask array (N, C, H, W) chunked along any axis (without
    return_indices: a tile's argmax is local to its window)."""
    x = _dask_input(input, "input")
    kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                  ceil_mode=ceil_mode, n_threads=n_threads)
    meta = pyconv.max_pool2d(np.empty((0,) + x.shape[1:], x.dtype), **kwargs)
    return _windowed(pyconv.max_pool2d, x, [], kwargs, meta,
                     _pool_geometry(kernel_size, stride, padding, dilation), whole_channels=False)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, n_threads=1):
    """pyconv.avg_pool2d on a dask array (N, C, H, W) chunked along any axis."""
    x = _dask_input(input, "input")
    kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                  count_include_pad=count_include_pad, divisor_override=divisor_override,
                  n_threads=n_threads)
    meta = pyconv.avg_pool2d(np.empty((0,) + x.shape[1:], x.dtype), **kwargs)
    return _windowed(pyconv.avg_pool2d, x, [], kwargs, meta,
                     _pool_geometry(kernel_size, stride, padding, 1), whole_channels=False)


def _image_chunks(arr, batch_chunks):
    """arr rechunked into whole images, along batch_chunks."""
    return arr.rechunk((batch_chunks, -1, -1, -1))


def _per_batch_chunk(name, task, arrays, operands, out_chunks, meta):
    """The dask array of task(block of each of arrays, *operands), one task per batch chunk;
    out_chunks: the output's chunks (its first axis: one block per batch chunk)."""
    keys = [key for _, key in operands]
    name = f"pyconv-{name}-" + tokenize(task, [a.name for a in arrays], keys)
    graph = {(name, b) + (0,) * (len(out_chunks) - 1):
             (task, *[(a.name, b, 0, 0, 0) for a in arrays], *keys)
             for b in range(arrays[0].numblocks[0])}
    dependencies = list(arrays) + [a for a, _ in operands]
    return da.Array(HighLevelGraph.from_collections(name, graph, dependencies=dependencies),
                    name, out_chunks, meta=meta)


def _input_grad_block(input_size, kwargs, grad_output, weight):
    return pyconv.conv2d_input((grad_output.shape[0],) + input_size[1:], weight, grad_output, **kwargs)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 algorithm="auto", n_threads=1):
    """pyconv.conv2d_input with grad_output a dask array: one task per batch chunk of
    grad_output (its other axes merged). A lazy dask array of input_size."""
    gy = _dask_input(grad_output, "grad_output")
    input_size = as_shape(input_size, "input_size", 4)
    w, w_key = _one_block(weight, "weight")
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  algorithm=algorithm, n_threads=n_threads)
    if gy.shape[0] != input_size[0]:
        raise ValueError(f"grad_output: expected {input_size[0]} images (N of input_size), "
                         f"got shape {gy.shape}")
    meta = pyconv.conv2d_input((0,) + input_size[1:], _zeros_like(w),
                               np.empty((0,) + gy.shape[1:], gy.dtype), **kwargs)
    gy = _image_chunks(gy, gy.chunks[0])
    task = functools.partial(_input_grad_block, input_size, kwargs)
    return _per_batch_chunk("conv2d_input", task, [gy], [(w, w_key)],
                            (gy.chunks[0],) + tuple((s,) for s in input_size[1:]), meta)


def _weight_grad_block(weight_size, kwargs, input, grad_output):
    return pyconv.conv2d_weight(input, weight_size, grad_output, **kwargs)[np.newaxis]


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  algorithm="auto", n_threads=1):
    """pyconv.conv2d_weight with input and grad_output dask arrays: each batch chunk of input
    (grad_output follows its chunks) gives a partial gradient, and dask sums them. A lazy
    dask array of weight_size."""
    x = _dask_input(input, "input")
    gy = _dask_input(grad_output, "grad_output")
    weight_size = as_shape(weight_size, "weight_size", 4)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  algorithm=algorithm, n_threads=n_threads)
    if gy.shape[0] != x.shape[0]:
        raise ValueError(f"grad_output: expected {x.shape[0]} images (N of input), got shape {gy.shape}")
    meta = pyconv.conv2d_weight(np.empty((0,) + x.shape[1:], x.dtype), weight_size,
                                np.empty((0,) + gy.shape[1:], gy.dtype), **kwargs)
    x = _image_chunks(x, x.chunks[0])
    gy = _image_chunks(gy, x.chunks[0])
    task = functools.partial(_weight_grad_block, weight_size, kwargs)
    partial = _per_batch_chunk("conv2d_weight", task, [x, gy], [],
                               ((1,) * x.numblocks[0],) + tuple((s,) for s in weight_size),
                               meta[np.newaxis])
    return partial.sum(axis=0, dtype=meta.dtype)
