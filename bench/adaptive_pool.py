"""Adaptive pooling (a ResNet / MobileNet head and the general case) against PyTorch's CPU kernels.

    python3 -m bench.adaptive_pool [--threads 1] [--repeats 30]

Per case, the median time of pyconv.adaptive_avg_pool2d / adaptive_max_pool2d (indices
included) and of torch.nn.functional's, measured alternately in one process, float32, and their
ratio (< 1: pyconv is faster). Needs torch."""
import argparse
import timeit

import numpy as np

CASES = [  # (input shape, output size): global heads, a dividing and a general case
    ((32, 512, 7, 7), 1), ((32, 2048, 7, 7), 1), ((8, 256, 56, 56), 1),
    ((8, 64, 56, 56), 7), ((8, 64, 56, 56), (5, 5)), ((8, 256, 14, 14), (3, 3)),
]


def median_ms(fn, repeats):
    return 1e3 * float(np.median(timeit.repeat(fn, number=1, repeat=repeats)))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.adaptive_pool", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    import torch

    import pyconv
    torch.set_num_threads(args.threads)
    pyconv.set_num_threads(args.threads)
    print(f"{'input':>20} {'output':>7} {'op':>4} {'pyconv ms':>10} {'torch ms':>9} {'pyconv/torch':>13}")
    for shape, size in CASES:
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        tx = torch.from_numpy(x)
        for op, ours, theirs in [
                ("avg", lambda: pyconv.adaptive_avg_pool2d(x, size),
                 lambda: torch.nn.functional.adaptive_avg_pool2d(tx, size)),
                ("max", lambda: pyconv.adaptive_max_pool2d(x, size, True),
                 lambda: torch.nn.functional.adaptive_max_pool2d(tx, size, True))]:
            ours(), theirs()
            t_ours, t_theirs = median_ms(ours, args.repeats), median_ms(theirs, args.repeats)
            print(f"{str(shape):>20} {str(size):>7} {op:>4} {t_ours:10.3f} {t_theirs:9.3f} {t_ours / t_theirs:13.2f}")


if __name__ == "__main__":
    main()
