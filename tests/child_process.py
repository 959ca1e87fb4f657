"""Run pyconv calls in a child Python process, so a crash (segfault, abort, hang) of a kernel is
a test failure with the offending arguments, not the end of the pytest run.

`ChildPyconv().call(name, *args, **kwargs)` pickles the call of pyconv.<name> (or of
"module:function") to a long-lived worker that imports the same pyconv as this process, and returns an Outcome: the call's result summary, or the
exception's type and message. Arrays travel as `Layout(array, layout)`: the worker rebuilds the
memory layout (strided, Fortran-order, read-only, ...) that pickling would lose. The worker
also checks that the call left every argument array unchanged."""
import os
import pickle
import select
import struct
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

import pyconv

LAYOUTS = ("c", "fortran", "strided", "readonly", "bigendian", "list")


@dataclass(frozen=True)
class Layout:
    """An argument array to be presented to pyconv with the given memory layout."""
    array: np.ndarray
    layout: str = "c"

    def __repr__(self):
        return f"Layout({self.array.dtype}{list(self.array.shape)}, {self.layout!r})"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""       # exception type name when not ok
    message: str = ""     # exception message, or a summary of the result
    value: object = None  # the result (arrays, tuples of arrays) when ok and requested


class ChildCrashed(AssertionError):
    pass


# The worker's code: stdin/stdout carry length-prefixed pickles. Kept free of test imports so it
# runs against whichever pyconv the parent imported (in-place build or installed wheel).
_WORKER = r'''
import importlib, os, pickle, struct, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import pyconv

def materialize(value):
    if not (isinstance(value, tuple) and len(value) == 3 and value[0] == "__layout__"):
        return value
    _, arr, layout = value
    if layout == "fortran":
        return np.asfortranarray(arr)
    if layout == "strided" and arr.ndim:  # every other element of a buffer twice as wide
        wide = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
        wide[..., ::2] = arr
        return wide[..., ::2]
    if layout == "readonly":
        arr = np.array(arr)  # a copy, and an ndarray even when arr is a NumPy scalar (0-d complex)
        arr.flags.writeable = False
        return arr
    if layout == "bigendian":
        return arr.astype(arr.dtype.newbyteorder(">"))
    if layout == "list":
        return arr.tolist()
    return np.ascontiguousarray(arr)

def snapshot(value):
    return value.copy() if isinstance(value, np.ndarray) else None

def unchanged(before, after):
    return before is None or (before.shape == after.shape and before.tobytes() == after.tobytes())

# The channel gets its own descriptor; anything printed (show_config(), a runtime's warning)
# goes to stderr instead of corrupting it.
read, write = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
while True:
    header = read.read(8)
    if len(header) < 8:
        break
    name, args, kwargs, want_value = pickle.loads(read.read(struct.unpack("<Q", header)[0]))
    args = [materialize(a) for a in args]
    kwargs = {k: materialize(v) for k, v in kwargs.items()}
    before = [snapshot(a) for a in args] + [snapshot(v) for k, v in kwargs.items() if k != "out"]
    module, _, attr = name.rpartition(":")  # "fn" is pyconv.fn; "module:fn" for anything else
    try:
        result = getattr(importlib.import_module(module or "pyconv"), attr)(*args, **kwargs)
    except Exception as exc:
        reply = (False, type(exc).__name__, str(exc)[:2000], None)
    else:
        after = list(args) + [v for k, v in kwargs.items() if k != "out"]
        if not all(unchanged(b, a) for b, a in zip(before, after)):
            reply = (False, "ArgumentModified", "an argument array changed during the call", None)
        else:
            parts = result if isinstance(result, tuple) else (result,)
            summary = ", ".join(f"{type(p).__name__}{getattr(p, 'shape', '')}{getattr(p, 'dtype', '')}" for p in parts)
            reply = (True, "", summary, result if want_value else None)
    pyconv.set_num_threads(None)  # a fuzzed set_num_threads() must not leak into later calls
    data = pickle.dumps(reply)
    write.write(struct.pack("<Q", len(data)) + data)
    write.flush()
'''


def _wire(value):
    return ("__layout__", value.array, value.layout) if isinstance(value, Layout) else value


def _child_env():
    env = dict(os.environ)
    # Fail big allocations quickly instead of swapping: numpy then raises MemoryError.
    if "asan" in env.get("LD_PRELOAD", ""):
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":allocator_may_return_null=1:max_allocation_size_mb=4096"
    return env


def _limit_memory():
    try:
        import resource
    except ImportError:  # not on Windows
        return
    if "asan" not in os.environ.get("LD_PRELOAD", ""):  # ASan needs terabytes of address space
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


class ChildPyconv:
    """A worker process calling pyconv's public functions; restarted after a crash."""

    def __init__(self, timeout=120.0):
        self.timeout = timeout
        self.proc = None

    def _start(self):
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(pyconv.__file__)))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, package_parent], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=_child_env(),
            preexec_fn=_limit_memory if os.name == "posix" else None)

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
            self.proc = None

    def _read(self, n):
        data = b""
        while len(data) < n:
            if os.name == "posix":  # pipes cannot be waited on with a timeout elsewhere
                ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
                if not ready:
                    raise TimeoutError
            chunk = os.read(self.proc.stdout.fileno(), n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def call(self, name, *args, want_value=False, **kwargs):
        if self.proc is None:
            self._start()
        data = pickle.dumps((name, [_wire(a) for a in args], {k: _wire(v) for k, v in kwargs.items()},
                             want_value))
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
            size = struct.unpack("<Q", self._read(8))[0]
            ok, error, message, value = pickle.loads(self._read(size))
        except (EOFError, BrokenPipeError, TimeoutError) as exc:
            what = "timed out" if isinstance(exc, TimeoutError) else "died"
            self.proc.kill()
            code = self.proc.wait()
            self.proc = None
            raise ChildCrashed(f"pyconv.{name} {what} (exit status {code}) on args={args!r} "
                               f"kwargs={kwargs!r}") from None
        return Outcome(ok, error, message, value)
