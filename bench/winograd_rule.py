"""The measurement behind pyconv.conv's auto rule for Winograd (AUTO_WINOGRAD_MIN_TILES,
AUTO_WINOGRAD_MIN_CHANNELS): time of algorithm="winograd" over algorithm="im2col" for the forward
pass of 3x3, stride-1, padding-1 layers, float32, 1 thread, by channels (C_in = C_out), image
side and batch; < 1 means Winograd is faster. Calls alternate; the minimum CPU time of each
(process_time: robust to other processes on a shared machine, as the calls are single-threaded).
The tiles column is N * ceil(H / 4) * ceil(W / 4), the count the rule looks at.

    python3 -m bench.winograd_rule [--repeats 7]"""
import argparse
import time

import numpy as np

import pyconv

CHANNELS = (8, 16, 32, 64, 128, 256, 512)
SIDES = (7, 14, 28, 56)
BATCHES = (1, 4, 16)
# skip layers above this many multiply-adds (they take seconds; the ratio is settled well before)
MAX_MACS = 4e9


def ratio(x, w, repeats):
    calls = {alg: (lambda a=alg: pyconv.conv2d(x, w, padding=1, algorithm=a, n_threads=1))
             for alg in ("winograd", "im2col")}
    times = {alg: [] for alg in calls}
    for call in calls.values():
        call()
    for _ in range(repeats):
        for alg, call in calls.items():
            start = time.process_time()
            call()
            times[alg].append(time.process_time() - start)
    return min(times["winograd"]) / min(times["im2col"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print("time winograd / im2col (forward, float32, 1 thread)")
    print(f"{'C':>4} {'side':>4} {'N':>3} {'tiles':>6} {'ratio':>6}")
    for c in CHANNELS:
        w = rng.standard_normal((c, c, 3, 3), dtype=np.float32)
        for side in SIDES:
            for n in BATCHES:
                if n * c * c * 9 * side * side > MAX_MACS:
                    continue
                x = rng.standard_normal((n, c, side, side), dtype=np.float32)
                tiles = n * (-(-side // 4)) ** 2
                print(f"{c:>4} {side:>4} {n:>3} {tiles:>6} {ratio(x, w, args.repeats):6.2f}",
                      flush=True)


if __name__ == "__main__":
    main()
