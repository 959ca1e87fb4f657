"""pyconv's benchmark harness: `python -m bench` (see docs/performance.md)."""
import os


def workers_sleep():
    """Whether OMP_WAIT_POLICY=passive asks for idle workers that sleep between calls: the harness
    then lets no thread pool spin (pyconv's and PyTorch's OpenMP, ONNX Runtime's, OpenBLAS's), or
    a spinning worker holds the core the next implementation's call needs."""
    return os.environ.get("OMP_WAIT_POLICY", "").lower() == "passive"


# OpenBLAS reads its environment when NumPy first loads it, so this runs before any bench module
# imports NumPy. Its idle workers spin for 2**28 cycles (~0.1 s) after every call (pyconv's
# 2-thread 512 GEMM ran slower than its 1-thread one); 2**4 cycles is OpenBLAS's shortest
# timeout. A value the user set is kept.
if workers_sleep():
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
