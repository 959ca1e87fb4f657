"""`python -m bench --suite networks`: whole networks (bench/networks.py), layer by layer, pyconv
against PyTorch and ONNX Runtime at the same thread count, summed per network."""
import math

from bench import report, timing
from bench.cases import CONV_OPS, Case
from bench.ops import bind_network, check, check_case, network_implementations, network_inputs

# --quick: fewer timed rounds per case (the default is timing.MIN_REPEATS)
QUICK_MIN_REPEATS = 2


def _checks(case, args, n_threads, modules, verdicts):
    """pyconv's verdict on the case's ops against the reference (each op of a shape once, cached
    in `verdicts`): 'ok' or the first problem."""
    if modules["reference"] is None:
        return "not checked: pyconv.reference missing"
    for op in case.ops:
        small = check_case(Case(case.layer, op))
        key = (small.layer, op)
        if key not in verdicts:
            impl = "pyconv-auto" if op in CONV_OPS else "pyconv"
            try:
                verdicts[key] = check(small, impl, args.dtype, n_threads, pyconv=modules["pyconv"],
                                      reference=modules["reference"])
            except Exception as error:  # reported in the row
                verdicts[key] = f"check raised {type(error).__name__}: {error}".splitlines()[0][:160]
        if verdicts[key] != "ok":
            return f"{op}: {verdicts[key]}"
    return "ok"


def run_case(case, threads, args, modules, verdicts):
    """Result rows of one network case, one per thread count (a dict; see report.network_table)."""
    impls = [i for i in network_implementations(case, modules["torch"] is not None,
                                                modules["onnxruntime"] is not None)
             if args.impls is None or i in args.impls]
    base = {"case": case.name, "layer": case.layer.name, "mode": case.mode, "batch": case.layer.batch,
            "networks": case.networks, "dtype": args.dtype}
    try:
        arrays = network_inputs(case, args.dtype, reference=modules["reference"], torch=modules["torch"])
    except Exception as error:  # every thread count's row reports it
        return [dict(base, threads=t, times={}, vs={}, errors={"setup": repr(error)}, failed=True) for t in threads]
    verdict = _checks(case, args, max(threads), modules, verdicts) if not args.no_check else "not checked"
    rows = []
    for n_threads in threads:
        if modules["torch"] is not None:
            modules["torch"].set_num_threads(n_threads)
        calls, errors = {}, {}
        for impl in impls:
            try:
                calls[impl] = bind_network(case, impl, arrays, n_threads, pyconv=modules["pyconv"],
                                           torch=modules["torch"], onnxruntime=modules["onnxruntime"])
            except Exception as error:  # a peer that cannot build this model: reported, skipped
                errors[impl] = error
        with timing.blas_threads(n_threads):
            samples, call_errors = timing.interleaved(calls, args.budget, min_repeats=args.min_repeats)
        errors.update(call_errors)
        times = {impl: timing.median_time(s) for impl, s in samples.items()}
        vs = {}
        if "pyconv" in samples:
            vs = {p: timing.paired_ratio(samples["pyconv"], samples[p]) for p in samples if p != "pyconv"}
            vs = {p: r for p, r in vs.items() if math.isfinite(r)}
        rows.append(dict(base, threads=n_threads, times=times, vs=vs, check=verdict,
                         errors={impl: f"{type(e).__name__}: {e}".splitlines()[0][:160] for impl, e in errors.items()},
                         failed="pyconv" in errors or not verdict.startswith(("ok", "not checked"))))
    return rows


def totals(rows):
    """Per (batch, threads, network, mode): {impl: summed seconds (count x median per layer)} for
    the implementations that ran every layer of that network and mode."""
    groups = {}
    for row in rows:
        for net, count in row["networks"].items():
            groups.setdefault((row["batch"], row["threads"], net, row["mode"]), []).append((row, count))
    result = {}
    for key, members in groups.items():
        impls = set.intersection(*(set(row["times"]) for row, _ in members))
        result[key] = {impl: sum(row["times"][impl] * count for row, count in members) for impl in impls}
    return result


def run(args, modules, progress_cls):
    """Time every selected case; print the per-layer table and the totals; 1 when pyconv failed."""
    cases = args.cases
    threads = args.threads
    progress = progress_cls(len(cases))
    rows, verdicts = [], {}
    try:
        for case in cases:
            rows += run_case(case, threads, args, modules, verdicts)
            progress.step(case.name)
    finally:
        progress.close()
    sums = totals(rows)
    print(report.network_table(rows))
    print()
    print(report.network_totals(sums))
    failed = [r for r in rows if r.get("failed")]
    if failed:
        print(f"\n{len(failed)} pyconv result(s) FAILED{' (first 10)' if len(failed) > 10 else ''}:")
        for r in failed[:10]:
            print(f"  {r['case']} batch {r['batch']} {r['threads']} thr: "
                  f"{r['errors'].get('pyconv') or r['errors'].get('setup') or r['check']}")
    return rows, sums, 1 if failed else 0
