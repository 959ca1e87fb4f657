"""Pooling speed against PyTorch, side by side in one process (float32, NCHW).

    python3 bench/pool_speed.py [--threads 1,2] [--repeat 15] [--clock wall|cpu]

Calls alternate (pyconv, torch, pyconv, ...) so drift cancels; prints medians and the
pyconv/torch throughput ratio. torch is only a peer here; pyconv does not need it.
--clock cpu times process CPU time instead of wall time: steadier on a machine shared with
other jobs, meaningful at 1 thread only (several threads' CPU time adds up)."""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import pyconv

CASES = {  # name: (input shape, kernel, stride, padding)
    "lenet 2x2": ((64, 6, 28, 28), 2, 2, 0),
    "resnet 3x3 s2": ((32, 64, 112, 112), 3, 2, 1),
}


def ops(shape, k, s, p, threads):
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    xt = torch.from_numpy(x)
    y, ind = pyconv.max_pool2d(x, k, s, p, return_indices=True)
    yt, indt = F.max_pool2d(xt, k, s, p, return_indices=True)
    assert np.array_equal(ind, indt.numpy())
    g = np.random.default_rng(1).standard_normal(y.shape, dtype=np.float32)
    gt = torch.from_numpy(g)
    return {
        "max fwd+indices": (lambda: pyconv.max_pool2d(x, k, s, p, return_indices=True, n_threads=threads),
                            lambda: F.max_pool2d(xt, k, s, p, return_indices=True)),
        "max fwd": (lambda: pyconv.max_pool2d(x, k, s, p, n_threads=threads),
                    lambda: F.max_pool2d(xt, k, s, p)),
        "max bwd": (lambda: pyconv.max_pool2d_backward(g, ind, shape, n_threads=threads),
                    lambda: torch.ops.aten.max_pool2d_with_indices_backward(gt, xt, k, s, p, 1, False, indt)),
        "avg fwd": (lambda: pyconv.avg_pool2d(x, k, s, p, n_threads=threads),
                    lambda: F.avg_pool2d(xt, k, s, p)),
        "avg bwd": (lambda: pyconv.avg_pool2d_backward(g, shape, k, s, p, n_threads=threads),
                    lambda: torch.ops.aten.avg_pool2d_backward(gt, xt, [k, k], [s, s], [p, p], False, True, None)),
    }


def timed(fn, clock):
    t = clock()
    fn()
    return clock() - t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"{'case':15} {'op':16} {'thr':>3} {'pyconv ms':>10} {'torch ms':>10} {'GB/s in':>8} {'ratio':>6}")
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for name, (shape, k, s, p) in CASES.items():
            for op, (ours, theirs) in ops(shape, k, s, p, threads).items():
                ours(), theirs()
                a, b = [], []
                for _ in range(args.repeat):
                    a.append(timed(ours, clock))
                    b.append(timed(theirs, clock))
                ma, mb = statistics.median(a), statistics.median(b)
                gbs = np.prod(shape) * 4 / ma / 1e9
                print(f"{name:15} {op:16} {threads:3} {ma * 1e3:10.3f} {mb * 1e3:10.3f} {gbs:8.2f} {mb / ma:6.2f}")


if __name__ == "__main__":
    main()
