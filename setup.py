"""Build pyconv's compiled kernels.

All C sources under kernels/ go into one static library that exactly one extension module,
pyconv.cython_kernels, links: a process holds one copy of the kernels (one GEMM dispatch
table, one set of per-thread arenas), and the other modules reach them through its Cython API
(docs/architecture.md). OpenMP is probed by compiling a small program; without
it the build still succeeds and the kernels run single-threaded. Environment switches:
  PYCONV_DEBUG=1     -O0 -g and Cython bounds checks on
  PYCONV_NO_OPENMP=1 build without OpenMP even where the compiler has it
  PYCONV_SANITIZE=1  AddressSanitizer + UndefinedBehaviorSanitizer
"""
import glob
import os
import subprocess
import sys
import sysconfig
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_clib import build_clib
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
KERNELS = "kernels"
PUBLIC_INCLUDE = os.path.join("pyconv", "include")  # pyconv_kernels.h, also for cimporters
KERNEL_LIB = "pyconv_kernels"
KERNEL_MODULE = "pyconv.cython_kernels"
DEBUG = os.environ.get("PYCONV_DEBUG") == "1"
SANITIZE = os.environ.get("PYCONV_SANITIZE") == "1"
IS_MSVC = sys.platform == "win32"


def _compiler_command():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return cc.split()


def _env_flags(*names):
    """Flags from the environment that the extension build honours too (e.g. where libomp lives
    on macOS), so the OpenMP probe sees what the real build will see."""
    return [flag for name in names for flag in os.environ.get(name, "").split()]


def _openmp_flags():
    """(compile flags, link flags) that make OpenMP work, or ([], []) when it does not."""
    if os.environ.get("PYCONV_NO_OPENMP") == "1":
        return [], []
    if IS_MSVC:
        return ["/openmp"], []
    candidates = [["-fopenmp"]]
    if sys.platform == "darwin":
        candidates.append(["-Xpreprocessor", "-fopenmp"])
    program = (
        "#include <omp.h>\n#include <stdio.h>\n"
        "int main(void) { int n = 0;\n#pragma omp parallel reduction(+:n)\n n += 1;\n"
        " printf(\"%d\\n\", n > 0 && omp_get_max_threads() > 0); return 0; }\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write(program)
        for flags in candidates:
            link = flags if flags == ["-fopenmp"] else ["-lomp"]
            try:
                subprocess.run(_compiler_command() + _env_flags("CPPFLAGS", "CFLAGS") + flags
                               + [src, "-o", exe] + _env_flags("LDFLAGS") + link,
                               check=True, capture_output=True)
                out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
            except (OSError, subprocess.CalledProcessError):
                continue
            if out.strip() == "1":
                return flags, link
    print("pyconv: OpenMP not available; building single-threaded kernels", file=sys.stderr)
    return [], []


OMP_COMPILE, OMP_LINK = _openmp_flags()

if IS_MSVC:
    C_FLAGS = ["/O2"] + OMP_COMPILE
    LINK_FLAGS = []
else:
    # -fno-trapping-math: no code here reads or traps on floating-point exception flags, and
    # without it GCC keeps a computation behind the select that guards its inputs (an
    # activation's clamped range, conv/epilogue_t.h) rather than vectorize it; results are the
    # same bits (no reassociation, unlike -ffast-math)
    C_FLAGS = (["-O0", "-g"] if DEBUG else ["-O3"]) + [
        "-std=gnu11", "-fno-strict-aliasing", "-fno-trapping-math", "-Wall",
        "-Wno-unknown-pragmas", "-Wno-unused-function",
    ] + OMP_COMPILE
    LINK_FLAGS = list(OMP_LINK)
    if SANITIZE:
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
        C_FLAGS += san
        LINK_FLAGS += san

COMPILER_NAME = _compiler_command()[0] if not IS_MSVC else "msvc"
MACROS = [
    ("PYCONV_COMPILER", '"%s"' % os.path.basename(COMPILER_NAME)),
    ("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
]

kernel_sources = sorted(glob.glob(os.path.join(KERNELS, "**", "*.c"), recursive=True))
kernel_headers = sorted(glob.glob(os.path.join(KERNELS, "**", "*.h"), recursive=True))
kernel_headers.append(os.path.join(PUBLIC_INCLUDE, "pyconv_kernels.h"))
kernel_lib = (KERNEL_LIB, {
    "sources": kernel_sources,
    "include_dirs": [KERNELS, PUBLIC_INCLUDE],
    "macros": MACROS,
    "cflags": C_FLAGS,
    "obj_deps": {"": kernel_headers},
})


class BuildClib(build_clib):
    """Archive the kernel library afresh: `ar` only adds members, so the object of a deleted or
    renamed source would stay in the archive and clash at link time."""

    def build_libraries(self, libraries):
        for name, _ in libraries:
            stale = os.path.join(self.build_clib, self.compiler.library_filename(name))
            if os.path.exists(stale):
                os.remove(stale)
        super().build_libraries(libraries)


class BuildExt(build_ext):
    """Build the kernel library first (build_ext --inplace skips build_clib), then link it into
    pyconv.cython_kernels only (build_ext would link it into every extension), and OpenMP into
    every extension."""

    def run(self):
        self.run_command("build_clib")
        build_dir = self.get_finalized_command("build_clib").build_clib
        for ext in self.extensions:
            if ext.name == KERNEL_MODULE:
                ext.libraries = [KERNEL_LIB]
                ext.library_dirs = [build_dir]
        libraries, self.distribution.libraries = self.distribution.libraries, None
        try:
            super().run()
        finally:
            self.distribution.libraries = libraries

    def build_extension(self, ext):
        ext.extra_link_args = list(ext.extra_link_args) + LINK_FLAGS
        super().build_extension(ext)


def extension(name):
    return Extension(
        f"pyconv.{name}",
        sources=[os.path.join("pyconv", f"{name}.pyx")],
        # rebuild when the kernels change (build_ext only looks at these dates)
        depends=kernel_sources + kernel_headers,
        include_dirs=[PUBLIC_INCLUDE, numpy.get_include()],
        define_macros=MACROS,
        extra_compile_args=[f for f in C_FLAGS if f != "-std=gnu11"],
    )


EXTENSIONS = ["_openmp_helpers", "_gemm", "_conv", "_pool", "cython_kernels"]

setup(
    libraries=[kernel_lib],
    ext_modules=cythonize(
        [extension(name) for name in EXTENSIONS],
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG,
            "wraparound": False,
            "initializedcheck": DEBUG,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
    cmdclass={"build_clib": BuildClib, "build_ext": BuildExt},
)
