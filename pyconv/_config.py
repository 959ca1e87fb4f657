"""pyconv.show_config(): what this build of pyconv is and how it will run."""
import os
import platform
import sys
import warnings

import numpy as np

from pyconv import _gemm
from pyconv._openmp_helpers import openmp_enabled
from pyconv._threads import get_num_threads

_forced_arch = os.environ.get("PYCONV_ARCH")
if _forced_arch and _forced_arch not in _gemm.archs():
    warnings.warn(f"PYCONV_ARCH: expected one of {_gemm.archs()} (the micro-kernels this CPU runs), "
                  f"got {_forced_arch!r}; using {_gemm.isa()}", RuntimeWarning, stacklevel=2)


def config():
    """The build and run-time facts show_config() prints, as a dict."""
    from pyconv import __version__
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "compiler": _gemm.compiler(),
        "openmp": openmp_enabled(),
        "threads": get_num_threads(),
        "simd": _gemm.isa(),
        "simd kernels": " ".join(_gemm.archs()),
    }


def show_config():
    """Print version, compiler, OpenMP support, thread count, the SIMD kernel in use and the
    ones this CPU could run (PYCONV_ARCH=<name> forces one of them)."""
    info = config()
    info["openmp"] = "yes" if info["openmp"] else "no (kernels run single-threaded)"
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}} : {value}")
