"""make test-aarch64 (the NEON GEMM micro-kernel cross-compiled and run under QEMU, see
docs/arm.md), where this machine has the cross compiler and QEMU; skipped elsewhere."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
@pytest.mark.skipif("PYCONV_ARCH" in os.environ,
                    reason="independent of this machine's kernel: runs once, in the dispatched run")
@pytest.mark.skipif(not os.path.isfile(os.path.join(ROOT, "tests", "c", "test_aarch64.c")),
                    reason="needs the source tree")
@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None or shutil.which("qemu-aarch64") is None
                    or shutil.which("make") is None,
                    reason="needs make, gcc-aarch64-linux-gnu and qemu-user")
def test_neon_kernel_under_qemu():
    run = subprocess.run(["make", "-s", "test-aarch64"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stdout[-3000:] + run.stderr[-3000:]
