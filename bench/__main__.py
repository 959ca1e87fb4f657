"""`python -m bench`: time pyconv against the NumPy reference and PyTorch on real network layers.

`--suite networks` times whole networks instead (every conv and pool layer of ResNet-18/50,
MobileNetV2 and VGG-16; bench/networks.py) against PyTorch and ONNX Runtime. See
docs/performance.md for what each column means. Exit status: 0 when every pyconv result matched
the reference (ops not implemented yet are reported, not failures), 1 when one mismatched or raised,
2 on bad arguments or when pyconv does not import."""
import argparse
import datetime
import json
import math
import os
import platform
import re
import sys

import numpy as np

from bench import cases as case_table
from bench import memory, network_suite, networks, report, timing
from bench.ops import (IMPLEMENTATIONS, NETWORK_IMPLEMENTATIONS, PYCONV_ALGORITHMS, bind, check, check_case,
                       implementations, is_pyconv, make_inputs, optional_module)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="layers", choices=("layers", "networks"),
                        help="layers: the layer table of bench/cases.py (default); networks: every conv and pool "
                             "layer of ResNet-18, ResNet-50, MobileNetV2 and VGG-16 at 224x224, summed per network")
    parser.add_argument("--threads", default=None,
                        help="comma-separated thread counts, e.g. 1,2 (default: pyconv.get_num_threads())")
    parser.add_argument("--filter", default=None, metavar="REGEX",
                        help="only cases whose 'layer/op' name matches (re.search), e.g. lenet or conv2d_input; "
                             "the memory measurement runs when 'memory' matches")
    parser.add_argument("--network", default=None, choices=sorted(networks.NETWORKS),
                        help="networks: only this network's layers, also those named after another network "
                             "with the same shape (--filter selects by name, and would leave those out)")
    parser.add_argument("--impl", default=None,
                        help="comma-separated implementations to run (pyconv-direct, pyconv-im2col, pyconv-winograd, "
                             "pyconv-auto, pyconv, reference, torch, numpy; networks: pyconv, torch, onnxruntime); "
                             "default: all available")
    parser.add_argument("--quick", action="store_true",
                        help="small batches, small GEMMs, short timing budget: well under a minute (networks: "
                             "batch 1, fewer rounds, under about two minutes on two cores)")
    parser.add_argument("--batch", type=int, default=None, metavar="N",
                        help="batch size of every convolution and pooling case (default: the case table's; "
                             "networks: 1 and 32)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="timing budget per case and thread count (default 1.0; 0.15 with --quick; "
                             "networks: 0.5, 0.05 with --quick)")
    parser.add_argument("--no-reference", action="store_true",
                        help="do not time pyconv.reference (pyconv is still checked against it)")
    parser.add_argument("--no-check", action="store_true",
                        help="networks: do not check pyconv's results against pyconv.reference")
    parser.add_argument("--json", metavar="OUT", help="write every result, with the machine facts, to OUT")
    parser.add_argument("--plot", metavar="OUT.png", help="draw GFLOP/s per layer and thread scaling (networks: "
                                                          "each network's summed time per implementation; matplotlib)")
    args = parser.parse_args(argv)
    try:
        args.threads = None if args.threads is None else [int(t) for t in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads: expected comma-separated positive ints, got {args.threads!r}")
    if args.threads is not None and (not args.threads or min(args.threads) < 1):
        parser.error(f"--threads: expected comma-separated positive ints, got {args.threads}")
    if args.batch is not None and args.batch < 1:
        parser.error(f"--batch: expected a positive int, got {args.batch}")
    args.batches = [args.batch] if args.batch else [1] if args.quick else list(networks.BATCHES)
    try:
        if args.suite == "networks":
            args.cases = networks.select(args.filter, batches=args.batches, network=args.network)
        else:
            args.cases = case_table.select(args.filter, quick=args.quick, batch=args.batch)
    except re.error as error:
        parser.error(f"--filter: not a regular expression ({error}): {args.filter!r}")
    if args.network is not None and args.suite != "networks":
        parser.error("--network: only with --suite networks")
    known = NETWORK_IMPLEMENTATIONS if args.suite == "networks" else IMPLEMENTATIONS
    args.impls = None if args.impl is None else set(args.impl.split(","))
    if args.impls is not None and not args.impls <= set(known):
        parser.error(f"--impl: expected names from {', '.join(known)}, got {args.impl!r}")
    args.min_repeats = network_suite.QUICK_MIN_REPEATS if args.quick else timing.MIN_REPEATS
    if args.budget is None:
        args.budget = (0.05 if args.quick else 0.5) if args.suite == "networks" else 0.15 if args.quick else 1.0
    if args.budget < 0:
        parser.error(f"--budget: expected seconds >= 0, got {args.budget}")
    if args.plot and optional_module("matplotlib") is None:
        parser.error("--plot needs matplotlib: pip install matplotlib")
    return args


class Progress:
    """tqdm on stderr when installed, else a one-line counter on stderr."""

    def __init__(self, total):
        tqdm = optional_module("tqdm")
        self.bar = tqdm.tqdm(total=total, file=sys.stderr, unit="case", dynamic_ncols=True) if tqdm else None
        self.total, self.done = total, 0

    def step(self, label):
        self.done += 1
        if self.bar is not None:
            self.bar.set_description_str(label[:40])
            self.bar.update(1)
        else:
            print(f"\r[{self.done}/{self.total}] {label[:60]:<60}", end="", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.total:
            print(file=sys.stderr)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(pyconv, torch, dtype):
    from pyconv._config import config
    facts = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "command": " ".join(["python -m bench"] + sys.argv[1:]),
             "cpu": f"{cpu_model()}, {os.cpu_count()} logical cores",
             "platform": platform.platform(), "dtype": dtype,
             "pyconv": config(), "torch": torch.__version__ if torch else "not installed",
             "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
             "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT", "unset")}
    blas = optional_module("threadpoolctl")
    if blas is not None:
        info = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads by default)"
                for i in blas.threadpool_info() if i["user_api"] == "blas"]
        facts["numpy_blas"] = "; ".join(info) or "unknown"
    return facts


def _one_line(error):
    return f"{type(error).__name__}: {error}".splitlines()[0][:160]


def _checks(case, impls, args, n_threads, modules):
    """{pyconv impl: check verdict}, each checked once against the reference."""
    verdicts = {}
    for impl in filter(is_pyconv, impls):
        if modules["reference"] is None:
            verdicts[impl] = "not checked: pyconv.reference missing"
            continue
        try:
            verdicts[impl] = check(case, impl, args.dtype, n_threads, pyconv=modules["pyconv"],
                                   reference=modules["reference"])
        except Exception as error:  # reported in the row; the timing may raise it again
            verdicts[impl] = f"check raised {_one_line(error)}"
    return verdicts


def _time(case, impls, inputs, n_threads, args, modules):
    """({impl: per-round seconds}, {impl: exception}) for `case` at `n_threads` threads.

    The reference runs on the check batch (it is plain NumPy, and can be slow), in its own timing
    loop that may stop after one timed call; the others run on the full case, interleaved."""
    pyconv, reference, torch = modules["pyconv"], modules["reference"], modules["torch"]
    if torch is not None:
        torch.set_num_threads(n_threads)
    with timing.blas_threads(n_threads):
        calls = {impl: bind(case, impl, inputs[case], n_threads, pyconv=pyconv, torch=torch)
                 for impl in impls if impl != "reference"}
        times, errors = timing.interleaved(calls, args.budget)
        if "reference" in impls:
            small = check_case(case)
            call = bind(small, "reference", inputs[small], n_threads, reference=reference)
            ref_times, ref_errors = timing.interleaved({"reference": call}, args.budget, min_repeats=1)
            times.update(ref_times)
            errors.update(ref_errors)
    return times, errors


def _row(case, impl, n_threads, args, times, errors, checks):
    """One result row (a dict; see docs/performance.md for the fields)."""
    timed = check_case(case) if impl == "reference" else case
    row = {"case": case.name, "layer": case.layer.name, "op": case.op, "impl": impl, "threads": n_threads,
           "dtype": args.dtype, "unit": case.unit, "batch": getattr(timed.layer, "batch", None)}
    if impl in errors:
        unavailable = isinstance(errors[impl], NotImplementedError)
        row["error"] = "not implemented" if unavailable else f"ERROR {_one_line(errors[impl])}"
        row["failed"] = is_pyconv(impl) and not unavailable
        return row
    work = timed.work(np.dtype(args.dtype).itemsize)
    median = timing.median_time(times[impl])
    row.update(median_s=median, samples=times[impl], work=work, rate=work / median / 1e9, vs={})
    if is_pyconv(impl):
        ratios = {p: timing.paired_ratio(times[impl], times[p]) for p in report.PEERS if p in times}
        row["vs"] = {p: r for p, r in ratios.items() if math.isfinite(r)}
        row["check"] = checks[impl]
        row["failed"] = not checks[impl].startswith(("ok", "not checked"))
    return row


def run_case(case, threads, args, modules, progress):
    """Result rows of one case at every thread count; pyconv is checked first, at the most threads."""
    reference, torch = modules["reference"], modules["torch"]
    impls = [i for i in implementations(case, torch is not None, with_reference=reference is not None)
             if (args.impls is None or i in args.impls) and not (i == "reference" and args.no_reference)]
    try:
        inputs = {c: make_inputs(c, args.dtype, reference=reference, torch=torch) for c in (case, check_case(case))}
    except Exception as error:  # every implementation's row reports it
        inputs, checks, setup_errors = None, {}, dict.fromkeys(impls, error)
    else:
        checks = _checks(case, impls, args, max(threads), modules)
    rows = []
    for n_threads in threads:
        times, errors = ({}, setup_errors) if inputs is None else _time(case, impls, inputs, n_threads, args, modules)
        rows += [_row(case, impl, n_threads, args, times, errors, checks) for impl in impls]
        progress.step(f"{case.name} {n_threads}t")
    return rows


def measure_peaks(threads, dtype, quick):
    bandwidth = timing.copy_bandwidth()
    return {t: {"flop": timing.matmul_peak(t, dtype, quick), "byte": bandwidth} for t in threads}


def memory_rows(args, threads, torch_available):
    """The memory measurement for pyconv-auto (every algorithm unless --quick) and PyTorch."""
    impls = ["pyconv-auto"] if args.quick else [f"pyconv-{a}" for a in PYCONV_ALGORITHMS]
    if torch_available:
        impls.append("torch")
    impls = [i for i in impls if args.impls is None or i in args.impls]
    return [memory.measure(impl, threads, args.dtype) for impl in impls]


def print_memory(results):
    layer = case_table.MEMORY_LAYER
    slack = case_table.MEMORY_SLACK_BYTES
    print(f"\nPeak resident memory of one forward pass, {layer.name} "
          f"({layer.in_channels}->{layer.out_channels}, {layer.size[0]}x{layer.size[1]}, batch {layer.batch}), "
          f"in a fresh process; target: within {slack >> 20} MiB of input + weight + output")
    for r in results:
        if "error" in r:
            print(f"  {r['impl']:<14} error: {r['error']}")
            continue
        extra = r["peak_bytes"] - r["array_bytes"]
        verdict = "within target" if extra <= slack else "OVER target"
        print(f"  {r['impl']:<14} {r['threads']} thr  peak {r['peak_bytes'] / 2**20:8.1f} MiB, arrays "
              f"{r['array_bytes'] / 2**20:.1f} MiB, extra {extra / 2**20:+.1f} MiB: {verdict}  [{r['method']}]")


def print_header(facts, checked):
    cfg = facts["pyconv"]
    print(f"pyconv benchmark  {facts['date']}  {facts['cpu']}  {facts['platform']}")
    print(f"pyconv {cfg['version']} ({cfg['simd']}, OpenMP {'yes' if cfg['openmp'] else 'no'}, {cfg['compiler']}); "
          f"numpy {np.__version__} ({facts.get('numpy_blas', 'BLAS unknown')}); torch {facts['torch']}; "
          f"{facts['dtype']}")
    if timing.blas_threads_controllable():
        print("NumPy's BLAS (reference, numpy rows, peak) runs at each row's thread count (threadpoolctl).")
    else:
        print("NumPy's BLAS thread count cannot change in-process without threadpoolctl: the reference, numpy "
              "rows and the peak run at BLAS's default for every thread count.")
    if facts["omp_wait_policy"] == "unset":
        print("OMP_WAIT_POLICY unset: idle workers of every thread pool here (pyconv's, PyTorch's, ONNX "
              "Runtime's) spin between calls and share the cores, so multi-thread rows can measure that (on a "
              "16-core Xeon pyconv's ResNet-50 took as long at 16 threads as at 1): for multi-thread figures set "
              "OMP_WAIT_POLICY=passive before Python starts (docs/performance.md, \"Threads\").")
    else:
        print(f"OMP_WAIT_POLICY={facts['omp_wait_policy']}, "
              f"OPENBLAS_THREAD_TIMEOUT={facts['openblas_thread_timeout']} (bench/__init__.py)")
    if not checked:
        print("WARNING: pyconv.reference does not import: pyconv results are NOT checked.")


def networks_main(args, modules, facts):
    """--suite networks: run, print, write the JSON and the plot; the exit status."""
    ort = modules["onnxruntime"]
    facts["onnxruntime"] = ort.__version__ if ort else "not installed (pip install onnx onnxruntime)"
    print(f"onnxruntime {facts['onnxruntime']}; every implementation at the row's thread count (PyTorch: "
          f"set_num_threads, ONNX Runtime: intra_op_num_threads)\n")
    rows, sums, status = network_suite.run(args, modules, Progress)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": facts, "results": rows,
                       "totals": [{"batch": b, "threads": t, "network": n, "mode": m, "seconds": s}
                                  for (b, t, n, m), s in sorted(sums.items())]}, out, indent=1, default=str)
    if args.plot:
        report.plot_networks(sums, args.plot)
    return status


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    pyconv = optional_module("pyconv")
    if pyconv is None or optional_module("pyconv._conv") is None:
        print("pyconv does not import (build it first: make inplace)", file=sys.stderr)
        return 2
    reference = optional_module("pyconv.reference")
    torch = optional_module("torch")
    if args.impls is not None and "torch" not in args.impls:
        torch = None
    threads = args.threads or [pyconv.get_num_threads()]
    facts = machine_facts(pyconv, torch, args.dtype)
    print_header(facts, reference is not None)
    if args.suite == "networks":
        args.threads = threads
        # ONNX Runtime runs models the onnx package builds: both, or neither
        ort = optional_module("onnxruntime") if optional_module("onnx") is not None else None
        if args.impls is not None and "onnxruntime" not in args.impls:
            ort = None
        return networks_main(args, {"pyconv": pyconv, "reference": reference, "torch": torch, "onnxruntime": ort},
                             facts)
    peaks = measure_peaks(threads, args.dtype, args.quick) if args.cases else {}
    modules = {"pyconv": pyconv, "reference": reference, "torch": torch}
    progress = Progress(len(args.cases) * len(threads))
    rows = []
    try:
        for case in args.cases:
            rows += run_case(case, threads, args, modules, progress)
    finally:
        progress.close()
    if rows:
        # Peaks measured again after the cases: on a shared machine the best of both is the peak.
        for t, again in measure_peaks(threads, args.dtype, args.quick).items():
            for unit in again:
                peaks[t][unit] = max(peaks[t][unit], again[unit])
        for row in rows:
            if "rate" in row:
                row["pct_peak"] = 100 * row["rate"] / peaks[row["threads"]][row["unit"]]
        sizes = "/".join(map(str, timing.PEAK_GEMM_SIZES_QUICK if args.quick else timing.PEAK_GEMM_SIZES))
        facts["peaks"] = {"method": f"fastest numpy.matmul {args.dtype} call, square {sizes}, best of 3 per size, "
                                    "measured before and after the cases (GFLOP/s); best of 2x5 single-thread "
                                    "numpy copies of 64 MiB, bytes read + written (GB/s)", **peaks}
        for t in peaks:
            print(f"peak at {t} thread(s): numpy.matmul {args.dtype} (square {sizes}): {peaks[t]['flop']:.1f} "
                  f"GFLOP/s; single-thread numpy copy: {peaks[t]['byte']:.1f} GB/s")
        print()
        print(report.table(rows))
    for peer in report.peers_in(rows):
        lines = report.summary(rows, peer)
        if lines:
            print(f"\nSummary: speed of pyconv relative to {peer} (>1: pyconv faster), medians of paired calls")
            print("\n".join(lines))
    memory_results = []
    if not args.filter or re.search(args.filter, "memory"):
        memory_results = memory_rows(args, max(threads), torch is not None)
        print_memory(memory_results)
    failed = [r for r in rows if r.get("failed")]
    if failed:
        print(f"\n{len(failed)} pyconv result(s) FAILED{' (first 10)' if len(failed) > 10 else ''}:")
        for r in failed[:10]:
            print(f"  {r['case']} {r['impl']} {r['threads']} thr: {r.get('error') or r.get('check')}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": facts, "results": rows, "memory": memory_results}, out, indent=1, default=str)
    if args.plot:
        report.plot(rows, args.plot)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
