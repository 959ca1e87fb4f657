"""The measurements behind the auto rules for Winograd (kernels/conv/select.c, docs/winograd.md):
time of algorithm="winograd" over algorithm="im2col" (auto's choice otherwise) for 3x3, stride-1,
padding-1 layers, float32, by channels (C_in = C_out), image side and batch; < 1 means Winograd
is faster. --op conv2d (PYCONV_AUTO_WINOGRAD_MIN_TILE_CHANNELS): 1 thread, wall clock.
--op conv2d_weight (PYCONV_AUTO_WINOGRAD_WEIGHT_MIN_TILES): 1 thread in thread CPU time
(time.thread_time: steady on a shared machine) and 2 threads in wall clock. --threads sets the
thread counts instead (1 thread then in thread CPU time, more in wall clock), and --op
conv2d_input measures the input gradient; --sides, --batches and --channels pick the layers
(e.g. the fused kernel's rule, PYCONV_AUTO_WINOGRAD_FUSED_FEW_TILES_CHANNELS:
--op conv2d_input --threads 1,2 --sides 7,14 --batches 1,2 --channels 32,64,128,256,512).
Calls alternate in rounds (bench.timing); the median over rounds of the two calls' time ratio.
The tiles column is N * ceil(H / 4) * ceil(W / 4), the count the rules look at.

    python3 -m bench.winograd_rule [--op conv2d] [--budget 0.5] [--threads 1,2] [--sides 7,14]
                                   [--batches 1,2] [--channels 64,128]"""
import argparse
import time

import numpy as np

import pyconv
from bench import timing

CHANNELS = (8, 16, 32, 64, 128, 256, 512)
SIDES = (7, 14, 28, 56)
BATCHES = (1, 4, 16)
# skip layers above this many multiply-adds (they take seconds; the ratio is settled well before)
MAX_MACS = 4e9
# per op: (threads, clock) of each column
SETTINGS = {"conv2d": [(1, time.perf_counter)],
            "conv2d_input": [(1, time.thread_time), (2, time.perf_counter)],
            "conv2d_weight": [(1, time.thread_time), (2, time.perf_counter)]}


def op_call(op, x, w, gy, algorithm, n_threads):
    if op == "conv2d":
        return lambda: pyconv.conv2d(x, w, padding=1, algorithm=algorithm, n_threads=n_threads)
    if op == "conv2d_input":
        return lambda: pyconv.conv2d_input(x.shape, w, gy, padding=1, algorithm=algorithm,
                                           n_threads=n_threads)
    return lambda: pyconv.conv2d_weight(x, w.shape, gy, padding=1, algorithm=algorithm,
                                        n_threads=n_threads)


def ratio(op, x, w, gy, n_threads, clock, budget):
    """Time winograd / im2col: the median over interleaved rounds (bench.timing)."""
    calls = {alg: op_call(op, x, w, gy, alg, n_threads) for alg in ("winograd", "im2col")}
    times, _ = timing.interleaved(calls, budget, clock=clock)
    return 1 / timing.paired_ratio(times["winograd"], times["im2col"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--op", default="conv2d", choices=sorted(SETTINGS))
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per layer")
    parser.add_argument("--threads", default=None, help="thread counts, e.g. 1,2")
    parser.add_argument("--sides", default=",".join(map(str, SIDES)))
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--channels", default=",".join(map(str, CHANNELS)))
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    settings = SETTINGS[args.op] if args.threads is None else [
        (t, time.thread_time if t == 1 else time.perf_counter)
        for t in (int(v) for v in args.threads.split(","))]
    ints = lambda text: [int(v) for v in text.split(",")]
    columns = " ".join(f"{f'{t} thr':>6}" for t, _ in settings)
    print(f"time winograd / im2col ({args.op}, float32)")
    print(f"{'C':>4} {'side':>4} {'N':>3} {'tiles':>6} {columns}")
    for c in ints(args.channels):
        w = rng.standard_normal((c, c, 3, 3), dtype=np.float32)
        for side in ints(args.sides):
            for n in ints(args.batches):
                if n * c * c * 9 * side * side > MAX_MACS:
                    continue
                x = rng.standard_normal((n, c, side, side), dtype=np.float32)
                gy = rng.standard_normal((n, c, side, side), dtype=np.float32)
                tiles = n * (-(-side // 4)) ** 2
                ratios = " ".join(f"{ratio(args.op, x, w, gy, t, clock, args.budget):6.2f}"
                                  for t, clock in settings)
                print(f"{c:>4} {side:>4} {n:>3} {tiles:>6} {ratios}", flush=True)


if __name__ == "__main__":
    main()
