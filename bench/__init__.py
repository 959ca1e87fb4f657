"""pyconv's benchmark harness: `python -m bench` (see docs/performance.md)."""
import os

# OpenBLAS reads its environment when NumPy first loads it, so this runs before any bench module
# imports NumPy. Its idle workers spin for 2**28 cycles (~0.1 s) after every call; in rounds that
# alternate implementations they hold the core the next library's 2-thread call needs (pyconv's
# 2-thread 512 GEMM ran slower than its 1-thread one). Under OMP_WAIT_POLICY=passive, where the
# harness lets no other pool spin (pyconv's, PyTorch's, ONNX Runtime's), they sleep at once too:
# 2**4 cycles, OpenBLAS's shortest timeout. A value the user set is kept.
if os.environ.get("OMP_WAIT_POLICY", "").lower() == "passive":
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
