"""Turning result rows into the printed table, the summary lines, and the optional plot."""
import math
from collections import defaultdict

from bench.ops import is_pyconv

PEERS = ("torch", "numpy")
UNIT_LABEL = {"flop": "GFLOP/s", "byte": "GB/s"}


def geometric_mean(values):
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else math.nan


def _fmt(value, spec, empty=""):
    return empty if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def peers_in(rows):
    """The peers some pyconv row of `rows` has a speed ratio against."""
    return [p for p in PEERS if any(p in row.get("vs", {}) for row in rows)]


def table(rows):
    """The result table as text: one line per case x thread count x implementation, with a ratio
    column per peer."""
    peers = peers_in(rows)
    header = ["case", "impl", "thr", "N", "time ms", "rate", "unit", "% peak"] + [f"x{p}" for p in peers] + ["check"]
    lines = [header]
    for row in rows:
        if row.get("error"):
            cells = [row["case"], row["impl"], str(row["threads"]), _fmt(row.get("batch"), "d"),
                     "", "", "", ""] + [""] * len(peers) + [row["error"]]
        else:
            cells = [row["case"], row["impl"], str(row["threads"]), _fmt(row.get("batch"), "d"),
                     _fmt(row["median_s"] * 1e3, ".3f"), _fmt(row["rate"], ".2f"), UNIT_LABEL[row["unit"]],
                     _fmt(row["pct_peak"], ".0f")]
            cells += [_fmt(row["vs"].get(p), ".2f") for p in peers]
            cells.append(row.get("check") or "")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    text = []
    for i, line in enumerate(lines):
        text.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1])
        if i == 0:
            text.append("-" * (sum(widths) + 2 * len(widths) + len("check")))
    return "\n".join(line.rstrip() for line in text)


def summary(rows, peer):
    """Lines: per thread count, op and pyconv implementation, the geometric mean over layers of
    the speed ratio pyconv/`peer` and the worst layer; 'best' takes each layer's fastest pyconv
    implementation (shown when an op has several)."""
    ratios = defaultdict(dict)  # (threads, op, impl) -> {layer: ratio}
    for row in rows:
        ratio = row.get("vs", {}).get(peer)
        if is_pyconv(row["impl"]) and ratio is not None:
            ratios[row["threads"], row["op"], row["impl"]][row["layer"]] = ratio
    for (threads, op, impl), by_layer in list(ratios.items()):
        if sum(key[:2] == (threads, op) for key in ratios) > 1:
            best = ratios[threads, op, "best"]
            for layer, ratio in by_layer.items():
                best[layer] = max(best.get(layer, 0.0), ratio)
    op_order = {op: i for i, op in enumerate(dict.fromkeys(row["op"] for row in rows))}
    lines = []
    for (threads, op, impl), by_layer in sorted(ratios.items(),
                                                key=lambda kv: (kv[0][0], op_order[kv[0][1]], kv[0][2] == "best")):
        worst = min(by_layer, key=by_layer.get)
        lines.append(f"{threads} thr  {op:<22} {impl:<14} pyconv/{peer}: geomean "
                     f"{geometric_mean(by_layer.values()):.2f}x over {len(by_layer)} layer(s), "
                     f"worst {by_layer[worst]:.2f}x ({worst})")
    return lines


def plot(rows, path):
    """GFLOP/s (GB/s for pooling) per layer per implementation at the largest thread count, one
    panel per op, and a thread-scaling panel when several thread counts ran. Needs matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    good = [r for r in rows if not r.get("error")]
    threads = sorted({r["threads"] for r in good})
    ops = list(dict.fromkeys(r["op"] for r in good))
    panels = len(ops) + (len(threads) > 1)
    cols = min(3, panels) or 1
    nrows = math.ceil(panels / cols) or 1
    fig, axes = plt.subplots(nrows, cols, figsize=(6 * cols, 4.2 * nrows), squeeze=False)
    axes = axes.ravel()
    for ax, op in zip(axes, ops):
        subset = [r for r in good if r["op"] == op and r["threads"] == threads[-1]]
        layers = list(dict.fromkeys(r["layer"] for r in subset))
        impls = list(dict.fromkeys(r["impl"] for r in subset))
        width = 0.8 / max(1, len(impls))
        for j, impl in enumerate(impls):
            rate = {r["layer"]: r["rate"] for r in subset if r["impl"] == impl}
            ax.bar([i + j * width for i in range(len(layers))], [rate.get(l, 0.0) for l in layers],
                   width, label=impl)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(layers))])
        ax.set_xticklabels(layers, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel(UNIT_LABEL[subset[0]["unit"]] if subset else "")
        ax.set_title(f"{op} ({threads[-1]} thread{'s' if threads[-1] > 1 else ''})")
        ax.legend(fontsize=6)
    if len(threads) > 1:
        ax = axes[len(ops)]
        for impl in dict.fromkeys(r["impl"] for r in good):
            base = {r["case"]: r["rate"] for r in good if r["impl"] == impl and r["threads"] == threads[0]}
            speedups = [geometric_mean([r["rate"] / base[r["case"]] for r in good
                                        if r["impl"] == impl and r["threads"] == t and base.get(r["case"])])
                        for t in threads]
            ax.plot(threads, speedups, marker="o", label=impl)
        ax.set_xlabel("threads")
        ax.set_ylabel(f"speed-up over {threads[0]} thread(s), geomean over cases")
        ax.set_title("thread scaling")
        ax.legend(fontsize=6)
    for ax in axes[panels:]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---- the network suite ----------------------------------------------------------------------

NETWORK_PEERS = ("torch", "onnxruntime")


def _aligned(lines):
    """Lines of cells as text, columns left-aligned, a rule under the first."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "-" * len(text[0]))
    return "\n".join(text)


def _loss(row):
    """The row's worst speed ratio against any peer (rows without one sort last)."""
    return min(row["vs"].values(), default=math.inf)


def network_table(rows):
    """One line per network case x thread count, the worst pyconv/peer ratio first."""
    peers = [p for p in NETWORK_PEERS if any(p in row["times"] for row in rows)]
    header = ["case", "N", "thr", "networks (count)", "pyconv ms"]
    for peer in peers:
        header += [f"{peer} ms", f"x{peer}"]
    lines = [header + ["check"]]
    for row in sorted(rows, key=_loss):
        cells = [row["case"], str(row["batch"]), str(row["threads"]),
                 " ".join(f"{net}x{n}" for net, n in row["networks"].items()),
                 _fmt(row["times"].get("pyconv", math.nan) * 1e3, ".3f")]
        for peer in peers:
            cells += [_fmt(row["times"].get(peer, math.nan) * 1e3, ".3f"), _fmt(row["vs"].get(peer), ".2f")]
        notes = [row.get("check", "")] + [f"{impl}: {e}" for impl, e in row["errors"].items()]
        lines.append(cells + ["; ".join(n for n in notes if n)])
    return _aligned(lines)


def network_totals(sums):
    """network_suite.totals as text: per batch, thread count, network and mode, the summed times
    and pyconv's speed relative to each peer (peer total / pyconv total)."""
    peers = [p for p in NETWORK_PEERS if any(p in by_impl for by_impl in sums.values())]
    header = ["N", "thr", "network", "mode", "pyconv ms"]
    for peer in peers:
        header += [f"{peer} ms", f"x{peer}"]
    lines = [header]
    for (batch, threads, net, mode), by_impl in sorted(sums.items()):
        ours = by_impl.get("pyconv")
        cells = [str(batch), str(threads), net, mode, _fmt(None if ours is None else ours * 1e3, ".1f")]
        for peer in peers:
            theirs = by_impl.get(peer)
            cells += [_fmt(None if theirs is None else theirs * 1e3, ".1f"),
                      _fmt(theirs / ours if ours and theirs else None, ".2f")]
        lines.append(cells)
    return ("Network totals: each distinct layer's median time x its count, summed; x<peer> = peer total / "
            "pyconv total (>1: pyconv faster)\n" + _aligned(lines))


def plot_networks(sums, path):
    """Bars of each network's summed time per implementation, one panel per batch size and
    thread count, inference and training side by side. Needs matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(batch, threads) for batch, threads, _, _ in sums})
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (batch, threads) in zip(axes[0], panels):
        groups = sorted((net, mode) for b, t, net, mode in sums if (b, t) == (batch, threads))
        impls = [i for i in ("pyconv",) + NETWORK_PEERS if any(i in sums[(batch, threads) + g] for g in groups)]
        width = 0.8 / max(1, len(impls))
        for j, impl in enumerate(impls):
            ax.bar([i + j * width for i in range(len(groups))],
                   [sums[(batch, threads) + g].get(impl, 0.0) * 1e3 for g in groups], width, label=impl)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))])
        ax.set_xticklabels([f"{net}\n{mode}" for net, mode in groups], rotation=45, ha="right", fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("summed conv + pool time, ms")
        ax.set_title(f"batch {batch}, {threads} thread{'s' if threads > 1 else ''}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
