"""The measurement behind the auto rule for Winograd (PYCONV_AUTO_WINOGRAD_MIN_TILE_CHANNELS,
time of algorithm="winograd" over algorithm="im2col" for the forward pass of 3x3, stride-1,
padding-1 layers, float32, 1 thread, by channels (C_in = C_out), image side and batch; < 1 means
Winograd is faster. Calls alternate in rounds (bench.timing); the
median over rounds of the two calls' time ratio. The tiles column is N * ceil(H / 4) *
ceil(W / 4), the count the rule looks at.

    python3 -m bench.winograd_rule [--budget 0.5]"""
import argparse

import numpy as np

import pyconv
from bench import timing

CHANNELS = (8, 16, 32, 64, 128, 256, 512)
SIDES = (7, 14, 28, 56)
BATCHES = (1, 4, 16)
# skip layers above this many multiply-adds (they take seconds; the ratio is settled well before)
MAX_MACS = 4e9


def ratio(x, w, budget):
    """Time winograd / im2col: the median over interleaved rounds (bench.timing)."""
    calls = {alg: (lambda a=alg: pyconv.conv2d(x, w, padding=1, algorithm=a, n_threads=1))
             for alg in ("winograd", "im2col")}
    times, _ = timing.interleaved(calls, budget)
    return 1 / timing.paired_ratio(times["winograd"], times["im2col"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per layer")
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
                print(f"{c:>4} {side:>4} {n:>3} {tiles:>6} {ratio(x, w, args.budget):6.2f}",
                      flush=True)


if __name__ == "__main__":
    main()
