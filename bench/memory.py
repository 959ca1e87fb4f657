"""Peak resident memory of one convolution forward pass, measured in a fresh subprocess.

`python -m bench.memory IMPL THREADS DTYPE` (IMPL: pyconv-auto / pyconv-direct / pyconv-im2col /
torch) prints one JSON object. The child imports everything and runs a small warm-up call (so
libraries, the OpenMP pool and thread stacks are already resident), resets the kernel's high-water
mark (/proc/self/clear_refs), then allocates the input and weight, runs the forward pass on
MEMORY_LAYER and reads the high-water mark: peak - resident-before is what the pass costs,
input + weight + output included."""
import json
import os
import resource
import subprocess
import sys

import numpy as np

from bench.cases import MEMORY_LAYER, Case, with_batch
from bench.ops import bind, make_inputs, optional_module

TIMEOUT_S = 300


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _reset_high_water_mark():
    """True when the kernel's peak-RSS counter could be reset (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _run(impl, n_threads, dtype):
    torch = optional_module("torch") if impl == "torch" else None
    pyconv = optional_module("pyconv")
    if torch is not None:
        torch.set_num_threads(n_threads)
    case = Case(MEMORY_LAYER, "conv2d")
    tiny = Case(with_batch(MEMORY_LAYER, 1), "conv2d")
    bind(tiny, impl, make_inputs(tiny, dtype), n_threads, pyconv=pyconv, torch=torch)()
    resettable = _reset_high_water_mark()
    before_kib = _status_kib("VmRSS") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    arrays = make_inputs(case, dtype)
    result = bind(case, impl, arrays, n_threads, pyconv=pyconv, torch=torch)()
    peak_kib = _status_kib("VmHWM") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    array_bytes = sum(a.nbytes for a in arrays.values()) + np.asarray(result).nbytes
    return {"impl": impl, "threads": n_threads, "dtype": dtype, "layer": MEMORY_LAYER.name,
            "peak_bytes": (peak_kib - before_kib) * 1024, "array_bytes": array_bytes,
            "method": "VmHWM after clear_refs" if resettable else "ru_maxrss delta (may under-report)"}


def measure(impl, n_threads, dtype):
    """Run the measurement in a fresh interpreter; returns its dict, or {'error': message}."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.memory", impl, str(n_threads), dtype],
                              capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=root)
    except subprocess.TimeoutExpired:
        return {"impl": impl, "error": f"timed out after {TIMEOUT_S} s"}
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}").splitlines()
        return {"impl": impl, "error": lines[-1]}
    return json.loads(proc.stdout)


if __name__ == "__main__":
    impl_arg, threads_arg, dtype_arg = sys.argv[1:4]
    print(json.dumps(_run(impl_arg, int(threads_arg), dtype_arg)))
