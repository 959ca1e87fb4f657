"""The network suite's convolution layers on one thread, pyconv against PyTorch, timed in thread
CPU time (time.thread_time): on a shared machine a process waiting for a core is not charged,
so single-thread comparisons stay steady when wall-clock ones do not. Say so when quoting them:
cache contention from the other processes still counts. Per layer, the median of --repeats
calls of each side, interleaved; totals weighted by each network's count of the layer.

    python -m bench.cpu_time [--network resnet50] [--batch 1] [--repeats 5]"""
import argparse
import time

import numpy as np

from bench import networks
from bench.cases import ConvLayer


def thread_time_median(call, repeats):
    call()
    times = []
    for _ in range(repeats):
        start = time.thread_time()
        call()
        times.append(time.thread_time() - start)
    return float(np.median(times))


def layer_calls(layer, mode, torch):
    """(pyconv call, torch call) for one convolution layer in one mode."""
    import pyconv
    rng = np.random.default_rng(0)
    x = rng.standard_normal(layer.input_shape).astype(np.float32)
    w = (rng.standard_normal(layer.weight_shape) * 0.05).astype(np.float32)
    gy = rng.standard_normal(layer.output_shape).astype(np.float32)
    kw = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)

    def pyconv_call():
        pyconv.conv2d(x, w, **kw, n_threads=1)
        if mode == "training":
            pyconv.conv2d_input(x.shape, w, gy, **kw, n_threads=1)
            pyconv.conv2d_weight(x, w.shape, gy, **kw, n_threads=1)

    tx = torch.from_numpy(x).requires_grad_(mode == "training")
    tw = torch.from_numpy(w).requires_grad_(mode == "training")
    tgy = torch.from_numpy(gy)

    def torch_call():
        out = torch.nn.functional.conv2d(tx, tw, **kw)
        if mode == "training":
            torch.autograd.grad(out, (tx, tw), tgy)
    return pyconv_call, torch_call


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="resnet50", choices=sorted(networks.NETWORKS))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    totals = {}
    for case in networks.select(batches=(args.batch,), network=args.network):
        if not isinstance(case.layer, ConvLayer):
            continue
        count = case.networks[args.network]
        pyconv_call, torch_call = layer_calls(case.layer, case.mode, torch)
        mine, theirs = thread_time_median(pyconv_call, args.repeats), thread_time_median(torch_call, args.repeats)
        total = totals.setdefault(case.mode, [0.0, 0.0])
        total[0] += count * mine
        total[1] += count * theirs
        print(f"{case.name:45s} x{count:<2d} pyconv {mine * 1e3:8.3f} ms  torch {theirs * 1e3:8.3f} ms  "
              f"torch/pyconv {theirs / mine:5.2f}")
    for mode, (mine, theirs) in totals.items():
        print(f"{args.network} batch {args.batch} {mode}: pyconv {mine * 1e3:.1f} ms, torch {theirs * 1e3:.1f} ms, "
              f"torch/pyconv {theirs / mine:.2f} (1 thread, thread CPU time)")


if __name__ == "__main__":
    main()
