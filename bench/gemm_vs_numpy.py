"""pyconv.gemm vs numpy.matmul (or torch.mm), GFLOP/s on square matrices, one subprocess per
thread count.

    python3 bench/gemm_vs_numpy.py [--threads 1,2] [--sizes 256,512,1024,2048]
                                   [--dtype float32] [--repeats 9] [--peer numpy|torch]
    (or python3 -m bench.gemm_vs_numpy ...)

`--peer torch` compares with PyTorch's CPU matmul (MKL on x86-64 builds): issue 10's per-core
GEMM target on Intel. numpy's BLAS reads its thread count at import, so each thread count runs
in a fresh process with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS set before
numpy is imported.
Blocks of calls alternate between the two libraries so drift on a shared machine hits both;
each block starts after a pause of SETTLE_S and one untimed call, so the other library's idle
worker threads, which busy-wait for a while after each call, have gone to sleep; medians."""
import argparse
import json
import os
import subprocess
import sys
import time

SETTLE_S = 0.2


def peer_matmul(peer, n_threads):
    """bind(a, b, out): a call that writes a @ b into out with the peer library at n_threads."""
    import numpy as np
    if peer == "numpy":
        return lambda a, b, out: lambda: np.matmul(a, b, out=out)
    import torch
    torch.set_num_threads(n_threads)

    def bind(a, b, out):
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        return lambda: torch.mm(ta, tb, out=tout)
    return bind


def worker(sizes, dtype, repeats, n_threads, peer):
    import numpy as np

    import pyconv
    bind_peer = peer_matmul(peer, n_threads)

    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        a = rng.standard_normal((size, size)).astype(dtype)
        b = rng.standard_normal((size, size)).astype(dtype)
        out_p = np.empty((size, size), dtype)
        out_n = np.empty((size, size), dtype)
        expected = a.astype(np.float64) @ b.astype(np.float64)
        pyconv.gemm(a, b, out=out_p, n_threads=n_threads)
        error = float(np.abs(out_p - expected).max() / np.abs(expected).max())
        peer_call = bind_peer(a, b, out_n)
        peer_call()
        calls = max(3, int(2e9 / (2.0 * size ** 3)))  # at least 2 GFLOP and 3 calls per block
        run = {"pyconv": lambda: pyconv.gemm(a, b, out=out_p, n_threads=n_threads),
               "peer": peer_call}
        times = {name: [] for name in run}
        for r in range(repeats):
            for name in (list(run) if r % 2 == 0 else list(run)[::-1]):
                # Idle worker threads busy-wait after a call (OpenBLAS's for ~0.1 s): a block
                # right after the other library's would share the cores with them.
                time.sleep(SETTLE_S)
                run[name]()
                t0 = time.perf_counter()
                for _ in range(calls):
                    run[name]()
                times[name].append((time.perf_counter() - t0) / calls)
        flop = 2.0 * size ** 3
        gflops = {name: flop / sorted(ts)[len(ts) // 2] / 1e9 for name, ts in times.items()}
        rows.append({"size": size, "threads": n_threads, "pyconv": gflops["pyconv"],
                     "peer": gflops["peer"], "ratio": gflops["pyconv"] / gflops["peer"],
                     "rel_error": error})
    print(json.dumps(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--sizes", default="256,512,1024,2048")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--peer", default="numpy", choices=["numpy", "torch"])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker is not None:
        worker(sizes, args.dtype, args.repeats, args.worker, args.peer)
        return
    print(f"{'size':>6} {'threads':>7} {'pyconv GF/s':>12} {args.peer + ' GF/s':>11} {'ratio':>6} {'rel.err':>8}")
    for n_threads in (int(t) for t in args.threads.split(",")):
        env = dict(os.environ)
        # The worker imports pyconv from this checkout (the in-place build) when not installed.
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(n_threads)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(n_threads),
               "--sizes", args.sizes, "--dtype", args.dtype, "--repeats", str(args.repeats),
               "--peer", args.peer]
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        for row in json.loads(out.strip().splitlines()[-1]):
            print(f"{row['size']:>6} {row['threads']:>7} {row['pyconv']:>12.1f} {row['peer']:>11.1f} "
                  f"{row['ratio']:>6.2f} {row['rel_error']:>8.1e}")


if __name__ == "__main__":
    main()
