"""pyconv.show_config(): what this build of pyconv is and how it will run."""
import platform
import sys

import numpy as np

from pyconv import _gemm
from pyconv._openmp_helpers import openmp_enabled
from pyconv._threads import get_num_threads


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
    }


def show_config():
    """Print version, compiler, OpenMP support, thread count and the SIMD kernel in use."""
    info = config()
    info["openmp"] = "yes" if info["openmp"] else "no (kernels run single-threaded)"
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}} : {value}")
