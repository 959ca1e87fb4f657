"""The measurement behind PYCONV_AUTO_DIRECT_MAX_FILTERS (kernels/conv/select.c): time of algorithm="im2col" over
algorithm="direct" for the forward pass, per filter count, on small stride-1 (and one stride-2)
layers, float32, 1 thread; < 1 means im2col is faster. Calls alternate; medians.

    python3 -m bench.auto_rule [--repeats 15]"""
import argparse
import time

import numpy as np

import pyconv

# (batch, input channels, image side, kernel side, stride); padding keeps the size ("same")
LAYERS = [(64, 1, 32, 5, 1), (16, 3, 64, 3, 1), (16, 16, 32, 3, 1), (16, 64, 16, 3, 1),
          (16, 3, 64, 3, 2)]
FILTERS = (1, 2, 3, 4, 6, 8, 16, 32)


def ratio(x, w, stride, repeats):
    calls = {alg: (lambda a=alg: pyconv.conv2d(x, w, stride=stride, padding=w.shape[-1] // 2,
                                                algorithm=a, n_threads=1))
             for alg in ("im2col", "direct")}
    times = {alg: [] for alg in calls}
    for alg, call in calls.items():
        call()
    for _ in range(repeats):
        for alg, call in calls.items():
            start = time.perf_counter()
            call()
            times[alg].append(time.perf_counter() - start)
    return np.median(times["im2col"]) / np.median(times["direct"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print("time im2col / direct, by filter count:", " ".join(f"{f:>5}" for f in FILTERS))
    for n, c_in, side, k, stride in LAYERS:
        x = rng.standard_normal((n, c_in, side, side), dtype=np.float32)
        row = [ratio(x, rng.standard_normal((f, c_in, k, k), dtype=np.float32), stride,
                     args.repeats) for f in FILTERS]
        print(f"N={n:<3} C_in={c_in:<3} {side}x{side} {k}x{k} stride {stride}:".ljust(39),
              " ".join(f"{r:5.2f}" for r in row))


if __name__ == "__main__":
    main()
