"""`python -m bench.depthwise_vs_torch`: pyconv's depthwise kernels against PyTorch on every
depthwise layer of MobileNetV2 (bench/networks.py), per op (conv2d, conv2d_input, conv2d_weight),
as paired ratios t(torch) / t(pyconv) (> 1: pyconv faster). On a shared machine one run's ratio
moves by 10-20 %: the whole table is measured --runs times, interleaved, and each line gives the
median of the runs' ratios and their range."""
import argparse
import statistics
from dataclasses import replace

from bench import networks, timing
from bench.cases import CONV_OPS, Case
from bench.ops import bind, make_inputs, optional_module


def depthwise_layers():
    layers = [layer for layer, _ in networks.distinct_layers()
              if getattr(layer, "groups", 1) > 1 and layer.name.startswith("mobilenet_v2.")]
    return sorted(layers, key=lambda layer: (-layer.size[0], layer.in_channels, layer.stride))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.depthwise_vs_torch", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="1,32", help="comma-separated batch sizes (default 1,32)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--runs", type=int, default=3, help="measurements of the whole table (default 3)")
    parser.add_argument("--budget", type=float, default=0.3, help="timing budget per op and run, seconds")
    args = parser.parse_args(argv)
    torch, pyconv = optional_module("torch"), optional_module("pyconv")
    if torch is None or pyconv is None:
        parser.error("needs pyconv (built) and torch")
    batches, threads = [int(b) for b in args.batch.split(",")], [int(t) for t in args.threads.split(",")]
    keys = [(layer, batch, n, op) for batch in batches for n in threads for layer in depthwise_layers()
            for op in CONV_OPS]
    ratios, times = {key: [] for key in keys}, {key: [] for key in keys}
    for _ in range(args.runs):
        for layer, batch, n, op in keys:
            case = Case(replace(layer, batch=batch), op)
            arrays = make_inputs(case, "float32", torch=torch)
            torch.set_num_threads(n)
            calls = {impl: bind(case, impl, arrays, n, pyconv=pyconv, torch=torch) for impl in ("pyconv-auto", "torch")}
            samples, _ = timing.interleaved(calls, args.budget)
            ratios[layer, batch, n, op].append(timing.paired_ratio(samples["pyconv-auto"], samples["torch"]))
            times[layer, batch, n, op].append((timing.median_time(samples["pyconv-auto"]),
                                               timing.median_time(samples["torch"])))
    print(f"{'layer':<34} {'N':>3} {'thr':>3} {'op':<14} {'pyconv ms':>10} {'torch ms':>9}  xtorch (median of "
          f"{args.runs} runs) [range]")
    for key in keys:
        layer, batch, n, op = key
        ours = statistics.median(t for t, _ in times[key]) * 1e3
        theirs = statistics.median(t for _, t in times[key]) * 1e3
        name = f"{layer.name[len('mobilenet_v2.'):]} {layer.in_channels}@{layer.size[0]} s{layer.stride}"
        print(f"{name:<34} {batch:>3} {n:>3} {op:<14} {ours:>10.3f} {theirs:>9.3f}  {statistics.median(ratios[key]):.2f} "
              f"[{min(ratios[key]):.2f}-{max(ratios[key]):.2f}]")
    worst = min(keys, key=lambda key: statistics.median(ratios[key]))
    print(f"worst median ratio: {statistics.median(ratios[worst]):.2f} ({worst[0].name}, batch {worst[1]}, "
          f"{worst[2]} thr, {worst[3]})")


if __name__ == "__main__":
    main()
