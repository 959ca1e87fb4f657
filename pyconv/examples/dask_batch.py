"""A batch too big to hold at once, convolved in parallel with Dask threads.

    python -m pyconv.examples.dask_batch [--batch 1024] [--chunk 64] [--no-check]

The input batch is a dask array generated chunk by chunk; dask.array.map_blocks runs
pyconv.conv2d + ReLU + global average pooling on each chunk of the batch axis, so only a few
chunks (and the small feature matrix) are ever in memory. The kernels release the GIL, so
dask's threaded scheduler runs chunks truly in parallel: each kernel call is single-threaded
(n_threads=1) and the parallelism comes from dask's workers. With the default (small) size
the example also computes the whole batch in one pyconv call and checks both agree.
Needs dask (pip install "pyconv[dask]")."""
import argparse
import time

import numpy as np

import pyconv

try:
    import dask
    import dask.array as da
except ImportError as exc:
    raise ImportError('pyconv.examples.dask_batch needs dask: pip install "dask[array]"') from exc


def features(images, weight, bias, n_threads):
    """conv 3x3 'same' -> ReLU -> mean over the image: (N, C, H, W) -> (N, C_out)."""
    y = pyconv.conv2d(images, weight, bias, padding=1, n_threads=n_threads)
    np.maximum(y, 0, out=y)
    return y.mean(axis=(2, 3))


def batch_features(images, weight, bias):
    """The features of a dask batch, one single-threaded pyconv call per chunk of the batch axis."""
    if images.numblocks[1:] != (1, 1, 1):
        raise ValueError(f"images: expected chunks along the batch axis only, got chunks {images.chunks}")
    return da.map_blocks(features, images, weight, bias, 1, drop_axis=[2, 3],
                         chunks=(images.chunks[0], (weight.shape[0],)), dtype=images.dtype)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=1024, help="images in the batch (default 1024)")
    parser.add_argument("--chunk", type=int, default=64, help="images per dask chunk (default 64)")
    parser.add_argument("--size", type=int, default=48, help="image height and width (default 48)")
    parser.add_argument("--channels", type=int, default=3, help="input channels (default 3)")
    parser.add_argument("--filters", type=int, default=32, help="output channels (default 32)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the single-call comparison (which materializes the whole batch)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    weight = rng.standard_normal((args.filters, args.channels, 3, 3)).astype(np.float32) / 3.0
    bias = rng.standard_normal(args.filters).astype(np.float32)
    images = da.random.default_rng(1).standard_normal(
        (args.batch, args.channels, args.size, args.size), chunks=(args.chunk, -1, -1, -1), dtype=np.float32)
    lazy = batch_features(images, weight, bias)
    gib = images.nbytes / 2 ** 30
    print(f"batch {images.shape} float32 ({gib:.2f} GiB), {images.numblocks[0]} chunks of {args.chunk}; "
          f"conv {args.filters}@3x3 -> ReLU -> mean; pyconv {pyconv.__version__}")

    timings = {}
    results = {}
    for workers in (1, 2):
        results[workers], timings[f"dask, {workers} worker(s)"] = timed(
            lambda: lazy.compute(scheduler="threads", num_workers=workers))
    if not args.no_check:
        whole = images.compute()
        single, timings["one pyconv call"] = timed(
            lambda: features(whole, weight, bias, pyconv.get_num_threads()))
        for workers, result in results.items():
            np.testing.assert_allclose(result, single, rtol=1e-4, atol=1e-5,
                                       err_msg=f"dask with {workers} worker(s) differs from one call")
        print("dask results match one whole-batch call")
    base = timings["dask, 1 worker(s)"]
    print("(the dask timings include generating the chunks; the single call's input exists already)")
    for name, seconds in timings.items():
        print(f"{name:>18}: {seconds:7.3f} s  ({base / seconds:4.2f}x vs 1 dask worker)")
    return timings, results


if __name__ == "__main__":
    main()
