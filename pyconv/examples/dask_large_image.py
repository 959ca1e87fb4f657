"""One image larger than a memory budget, convolved and pooled tile by tile on a 2-process
dask.distributed cluster.

    python -m pyconv.examples.dask_large_image [--budget-gib 4] [--tile 1024] [--small] [--dir DIR]

The image (1, C, H, W) float32, sized to exceed --budget-gib, is written to a .npy file block
by block (so it never exists in memory), read back as a dask array whose chunks are --tile x
--tile pieces the workers load from the file (memory-mapped, one block at a time), and run through
pyconv.dask.conv2d (3x3, 'same') -> ReLU -> pyconv.dask.max_pool2d (2x2); the result is
stored into a second .npy file, again block by block. The two workers (one process and one
thread each, each task one pyconv thread) get half the budget each as their dask memory
limit; each worker's peak resident memory (VmHWM) is printed against it. A few output
tiles (the corners and the middle) are then recomputed directly: pyconv.conv2d and
pyconv.max_pool2d on the input rows and columns they need, read from the file, must agree.
--small runs a 1 x 3 x 301 x 257 image in 64-pixel tiles, well under the budget (seconds; the
tests use it).
Needs dask.distributed (pip install "pyconv[dask]")."""
import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

import pyconv

try:
    import dask.array as da
    from dask.distributed import Client, LocalCluster
except ImportError as exc:
    raise ImportError('pyconv.examples.dask_large_image needs dask.distributed: '
                      'pip install "pyconv[dask]"') from exc

import pyconv.dask  # noqa: E402  (after the friendlier message above)

WORKERS = 2


class NpyFile:
    """A .npy file as an array-like that pickles as its path: each read (by a worker) maps the
    file, copies the requested block out and unmaps it, so neither the graph nor a worker
    holds more than the blocks in use."""

    def __init__(self, path):
        self.path = path
        header = np.load(path, mmap_mode="r")
        self.shape, self.dtype, self.ndim = header.shape, header.dtype, header.ndim

    def __getitem__(self, index):
        return np.array(np.load(self.path, mmap_mode="r")[index])

    def __setitem__(self, index, value):
        out = np.load(self.path, mmap_mode="r+")
        out[index] = value
        out.flush()


def write_image(path, shape, tile):
    """A float32 image of the given shape in a new .npy file, written a block of rows at a time
    from a seeded generator (values in [-1, 1)) with plain writes: this process never maps the
    file, so its own memory stays small too."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                "shape": shape})
        rng = np.random.default_rng(0)
        for plane in range(shape[0] * shape[1]):
            for top in range(0, shape[2], tile):
                rows = min(tile, shape[2] - top)
                f.write(rng.uniform(-1, 1, (rows, shape[3])).astype(np.float32).tobytes())


def pipeline(images, weight, bias):
    """conv 3x3 'same' + bias -> ReLU -> 2x2 max pooling, lazily on a dask array."""
    y = da.maximum(pyconv.dask.conv2d(images, weight, bias, padding="same"), 0)
    return pyconv.dask.max_pool2d(y, 2)


def direct_tile(image, weight, bias, rows, cols):
    """Output rows x cols of the pipeline from direct pyconv calls on the input window they
    need: pooled row r reads conv rows 2r, 2r+1, which read input rows 2r-1 .. 2r+2."""
    (r0, r1), (c0, c1) = rows, cols
    h, w = image.shape[2:]
    top, bottom, left, right = 2 * r0 - 1, 2 * r1 + 1, 2 * c0 - 1, 2 * c1 + 1
    window = np.array(image[:, :, max(top, 0):min(bottom, h), max(left, 0):min(right, w)])
    # the whole image's zero padding where the window passes its edge
    window = np.pad(window, ((0, 0), (0, 0), (max(-top, 0), max(bottom - h, 0)),
                             (max(-left, 0), max(right - w, 0))))
    y = np.maximum(pyconv.conv2d(window, weight, bias), 0)
    return pyconv.max_pool2d(y, 2)


def worker_peak_rss():
    """This process's peak resident memory in bytes. Linux: VmHWM, the peak of this process's
    own address space (ru_maxrss would include the parent's peak, inherited through fork and
    exec); macOS: ru_maxrss (in bytes there); Windows: the peak working set (psutil, which
    dask.distributed depends on)."""
    if sys.platform == "win32":
        import psutil
        return psutil.Process().memory_info().peak_wset
    if sys.platform == "darwin":
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-gib", type=float, default=4.0,
                        help="memory budget the image exceeds, split between the 2 workers (default 4)")
    parser.add_argument("--channels", type=int, default=3, help="image channels (default 3)")
    parser.add_argument("--filters", type=int, default=8, help="output channels (default 8)")
    parser.add_argument("--tile", type=int, default=1024, help="chunk height and width (default 1024)")
    parser.add_argument("--small", action="store_true",
                        help="a 1 x 3 x 301 x 257 image in 64-pixel tiles, for a test")
    parser.add_argument("--dir", default=None,
                        help="where the .npy files go (default: a temporary directory)")
    args = parser.parse_args(argv)

    if args.small:
        shape, tile, budget = (1, 3, 301, 257), 64, 2 ** 30
    else:
        budget = int(args.budget_gib * 2 ** 30)
        # the smallest square image over the budget, in whole tiles
        side = math.ceil(math.sqrt(budget / (4 * args.channels)) / args.tile + 1e-9) * args.tile
        shape, tile = (1, args.channels, side, side), args.tile
    rng = np.random.default_rng(1)
    weight = rng.uniform(-1, 1, (args.filters, shape[1], 3, 3)).astype(np.float32) / 3
    bias = rng.uniform(-0.1, 0.1, args.filters).astype(np.float32)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        in_path, out_path = os.path.join(tmp, "image.npy"), os.path.join(tmp, "pooled.npy")
        start = time.perf_counter()
        write_image(in_path, shape, tile)
        print(f"image {shape} float32: {np.prod(shape) * 4 / 2 ** 30:.3f} GiB on disk "
              f"({in_path}), budget {budget / 2 ** 30:.3f} GiB; "
              f"written in {time.perf_counter() - start:.1f} s"
              + (" (--small: a quick functional run, under the budget)" if args.small else ""))
        image = NpyFile(in_path)
        images = da.from_array(image, chunks=(1, -1, tile, tile), asarray=False, fancy=False)
        lazy = pipeline(images, weight, bias)
        # the output file at its full size (sparse until written), for the workers to fill
        np.lib.format.open_memmap(out_path, mode="w+", dtype=lazy.dtype, shape=lazy.shape).flush()

        with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                          memory_limit=budget // WORKERS, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            start = time.perf_counter()
            da.store(lazy, NpyFile(out_path), lock=False, scheduler=client)
            seconds = time.perf_counter() - start
            peaks = client.run(worker_peak_rss)
        print(f"conv {args.filters}@3x3 -> ReLU -> 2x2 max pool: {lazy.shape} in {lazy.npartitions} tiles "
              f"on {WORKERS} worker processes, {seconds:.1f} s")
        for address, peak in sorted(peaks.items()):
            print(f"  worker {address}: peak RSS {peak / 2 ** 20:.0f} MiB "
                  f"(memory limit {budget // WORKERS / 2 ** 20:.0f} MiB)")

        pooled = NpyFile(out_path)
        h_out, w_out = lazy.shape[2:]
        t = tile // 2
        checks = [((0, min(t, h_out)), (0, min(t, w_out))),
                  ((max(h_out - t, 0), h_out), (max(w_out - t, 0), w_out)),
                  ((h_out // 2 - t // 2, h_out // 2 + t // 2), (w_out // 3, min(w_out // 3 + t, w_out)))]
        for rows, cols in checks:
            want = direct_tile(image, weight, bias, rows, cols)
            got = pooled[:, :, rows[0]:rows[1], cols[0]:cols[1]]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                       err_msg=f"output rows {rows}, columns {cols}")
        print(f"{len(checks)} output tiles match direct pyconv calls")
        return peaks


if __name__ == "__main__":
    main()
