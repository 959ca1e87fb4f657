"""The Winograd speed targets (docs/winograd.md): float32 3x3 stride-1 ResNet and VGG layers,
forward, input and weight gradients, batches 1-32, 1 and 2 threads: algorithm="winograd" and
"im2col" against PyTorch, and the forward against ONNX Runtime when it is installed (`pip install
onnx onnxruntime`; a one-node model with the weights as initializers, bench.ops.onnx_call), side
by side in one run; "packed/ort" compares the forward with the weights packed once too
(pyconv.PackedWeight, as pyconv.torch and the network suite run inference) with ONNX Runtime.
Calls alternate in rotated rounds (bench.timing.interleaved); a ratio is the median over
rounds of torch's time / pyconv's (> 1: pyconv faster). One thread is timed in thread CPU time (time.thread_time: a call waiting for a
core of a shared machine is not charged; both libraries run one-thread calls on the calling
thread), two threads in wall-clock time. --estimator min takes the ratio of the fastest calls
instead (robust when other processes preempt one of two threads waiting at a barrier). Effective GFLOP/s count the direct convolution's
2 * N * C_out * H * W * C_in * 9 FLOPs; "x GEMM" is that rate over pyconv.gemm's on 1024 x 1024
float32 matrices at the same thread count and clock, measured at the start (the roof no
algorithm doing all the multiplications passes: above 1, Winograd's fewer multiplications show).

    python3 -m bench.winograd_speed [--threads 1,2] [--budget 1.0] [--filter REGEX] [--batch 1,8,32]
                                    [--ops conv2d,conv2d_input,conv2d_weight] [--estimator min]"""
import argparse
import math
import re
import time

import numpy as np

import pyconv
from bench import timing
from bench.cases import ConvLayer
from bench.ops import onnx_call, optional_module

GEMM_SIZE = 1024
# (name, C_in, C_out, side); every layer at every batch
LAYERS = [("resnet_64", 64, 64, 56), ("resnet_128", 128, 128, 28), ("resnet_256", 256, 256, 14),
          ("resnet_512", 512, 512, 7), ("vgg_conv3_1", 128, 256, 56), ("vgg_conv4_2", 512, 512, 28),
          ("vgg_conv5_1", 512, 512, 14)]
BATCHES = (1, 8, 32)
# the largest layers only at batch 1 and 8 (seconds per call otherwise)
MAX_MACS = 4e10


def calls(torch, onnxruntime, op, x, w, gy, n_threads):
    t_x, t_w, t_gy = (torch.from_numpy(a) for a in (x, w, gy))
    peers = {}
    if op == "conv2d":
        pyconv_call = lambda a: lambda: pyconv.conv2d(x, w, padding=1, algorithm=a, n_threads=n_threads)
        torch_call = lambda: torch.nn.functional.conv2d(t_x, t_w, padding=1)
        if onnxruntime is not None:
            layer = ConvLayer("layer", x.shape[0], x.shape[1], w.shape[0], x.shape[2:], (3, 3), padding=1)
            peers["onnxruntime"] = onnx_call(onnxruntime, layer, {"input": x, "weight": w}, n_threads)
            packed = pyconv.PackedWeight(w)
            peers["packed"] = lambda: pyconv.conv2d(x, packed, padding=1, algorithm="winograd",
                                                    n_threads=n_threads)
    elif op == "conv2d_weight":
        pyconv_call = lambda a: lambda: pyconv.conv2d_weight(x, w.shape, gy, padding=1, algorithm=a,
                                                             n_threads=n_threads)
        torch_call = lambda: torch.nn.grad.conv2d_weight(t_x, w.shape, t_gy, padding=1)
    else:
        pyconv_call = lambda a: lambda: pyconv.conv2d_input(x.shape, w, gy, padding=1, algorithm=a,
                                                            n_threads=n_threads)
        torch_call = lambda: torch.nn.grad.conv2d_input(x.shape, t_w, t_gy, padding=1)
    return {"winograd": pyconv_call("winograd"), "im2col": pyconv_call("im2col"), "torch": torch_call,
            **peers}


def gemm_rate(n_threads, clock):
    """GFLOP/s of pyconv.gemm on GEMM_SIZE-square float32 matrices: the best of 5 calls."""
    a = np.random.default_rng(1).standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    pyconv.gemm(a, a, n_threads=n_threads)
    best = math.inf
    for _ in range(5):
        start = clock()
        pyconv.gemm(a, a, n_threads=n_threads)
        best = min(best, clock() - start)
    return 2 * GEMM_SIZE ** 3 / best / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--budget", type=float, default=1.0)
    parser.add_argument("--filter", default=None, metavar="REGEX", help="layer name, e.g. resnet")
    parser.add_argument("--batch", default=",".join(map(str, BATCHES)), help="batch sizes, e.g. 1,8")
    parser.add_argument("--ops", default="conv2d,conv2d_input,conv2d_weight")
    parser.add_argument("--estimator", default="median", choices=("median", "min"))
    args = parser.parse_args(argv)
    torch = optional_module("torch")
    if torch is None:
        raise SystemExit("bench.winograd_speed compares with PyTorch, which does not import here")
    onnxruntime = optional_module("onnxruntime") if optional_module("onnx") is not None else None
    rng = np.random.default_rng(0)
    clocks = {n_threads: time.thread_time if n_threads == 1 else time.perf_counter
              for n_threads in (int(t) for t in args.threads.split(","))}
    gemm = {n_threads: gemm_rate(n_threads, clock) for n_threads, clock in clocks.items()}
    print("pyconv.gemm " + ", ".join(f"{t} thread(s): {r:.1f} GFLOP/s" for t, r in gemm.items()))
    print(f"{'layer':12} {'N':>3} {'op':13} {'thr':>3} {'wino GF/s':>9} {'x GEMM':>6} "
          f"{'wino/torch':>10} {'im2col/torch':>12} {'wino/im2col':>11} {'wino/ort':>8} "
          f"{'packed/ort':>10}")
    for name, c_in, c_out, side in LAYERS:
        if args.filter and not re.search(args.filter, name):
            continue
        w = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32)
        for n in (int(b) for b in args.batch.split(",")):
            macs = n * c_in * c_out * 9 * side * side
            if macs > MAX_MACS:
                continue
            x = rng.standard_normal((n, c_in, side, side), dtype=np.float32)
            gy = rng.standard_normal((n, c_out, side, side), dtype=np.float32)
            for op in args.ops.split(","):
                for n_threads in (int(t) for t in args.threads.split(",")):
                    torch.set_num_threads(n_threads)
                    times, errors = timing.interleaved(calls(torch, onnxruntime, op, x, w, gy, n_threads),
                                                       args.budget, clock=clocks[n_threads])
                    if errors:
                        raise SystemExit(f"{name} {op}: {errors}")
                    if args.estimator == "min":
                        best = {k: min(t for t in v if t is not None) for k, v in times.items()}
                        ratio = lambda ours, theirs: best[theirs] / best[ours]
                        rate = 2 * macs / best["winograd"] / 1e9
                    else:
                        ratio = lambda ours, theirs: timing.paired_ratio(times[ours], times[theirs])
                        rate = 2 * macs / timing.median_time(times["winograd"]) / 1e9
                    print(f"{name:12} {n:>3} {op:13} {n_threads:>3} {rate:9.1f} "
                          f"{rate / gemm[n_threads]:6.2f} "
                          f"{ratio('winograd', 'torch'):10.2f} {ratio('im2col', 'torch'):12.2f} "
                          f"{ratio('winograd', 'im2col'):11.2f} "
                          + (f"{ratio('winograd', 'onnxruntime'):8.2f} "
                             f"{ratio('packed', 'onnxruntime'):10.2f}"
                             if "onnxruntime" in times else f"{'-':>8} {'-':>10}"),
                          flush=True)


if __name__ == "__main__":
    main()
