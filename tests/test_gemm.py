"""pyconv.gemm against pyconv.reference.gemm: shapes around the blocking edges, transposes,
alpha/beta, layouts, threads, both micro-kernels, validation."""
import os
import platform
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyconv
from pyconv import _gemm, reference

# Sizes around the micro-tiles (MR 4/6, NR 4/8/16), the cache blocks (MC 64..144, KC 256) and
# primes; NC (4080 / 4096) is reached by the n-only list below.
EDGE_SIZES = [0, 1, 2, 3, 5, 6, 7, 8, 9, 13, 15, 16, 17, 31, 33, 47, 71, 72, 73, 97,
              127, 128, 129, 143, 144, 145, 255, 256, 257, 263]
WIDE_SIZES = EDGE_SIZES + [4079, 4080, 4081, 4096, 4097]
MAX_WORK = 1_500_000  # m * n * k per example, to keep the suite fast


def operands(rng, m, n, k, dtype, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    return a, b, c


def assert_gemm_close(result, a, b, c, alpha, beta, trans_a, trans_b):
    """Elementwise error bound c * eps * sqrt(k) times the magnitude of the summed terms."""
    expected = reference.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    assert result.dtype == expected.dtype and result.shape == expected.shape
    op_a = np.abs(a.T if trans_a else a).astype(np.float64)
    op_b = np.abs(b.T if trans_b else b).astype(np.float64)
    k = op_a.shape[1]
    scale = abs(alpha) * (op_a @ op_b) + (abs(beta) * np.abs(c) if beta != 0 else 0)
    tol = 4 * np.finfo(result.dtype).eps * (np.sqrt(k) + 2) * scale
    err = np.abs(result.astype(np.float64) - expected.astype(np.float64))
    assert np.all(err <= tol), f"max error {err.max()} where the bound is {tol[err > tol].min()}"


@given(m=st.sampled_from(EDGE_SIZES), n=st.sampled_from(WIDE_SIZES), k=st.sampled_from(EDGE_SIZES),
       dtype=st.sampled_from([np.float32, np.float64]), trans_a=st.booleans(), trans_b=st.booleans(),
       alpha=st.sampled_from([1.0, -0.5, 2.5, 0.0]), beta=st.sampled_from([0.0, 1.0, -1.5]),
       n_threads=st.sampled_from([1, 2]), seed=st.integers(0, 2 ** 32 - 1))
def test_matches_reference(m, n, k, dtype, trans_a, trans_b, alpha, beta, n_threads, seed):
    if m * n * k > MAX_WORK:
        m = max(1, MAX_WORK // (n * max(k, 1)))
    a, b, c = operands(np.random.default_rng(seed), m, n, k, dtype, trans_a, trans_b)
    c_before = c.copy()
    result = pyconv.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b,
                         n_threads=n_threads)
    assert_gemm_close(result, a, b, c, alpha, beta, trans_a, trans_b)
    np.testing.assert_array_equal(c, c_before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_b_every_panel_tail(dtype):
    """A row-major B^T (the convolution's weights) is packed by the instruction set's register
    transpose: whole panels (n = 64 is a multiple of every NR) and a partial one (n = 70), for
    every depth up to past two transpose blocks, so every masked last block runs."""
    rng = np.random.default_rng(7)
    for n in (64, 70):
        for k in range(1, 41):
            a, b, c = operands(rng, 7, n, k, dtype, False, True)
            assert_gemm_close(pyconv.gemm(a, b, trans_b=True), a, b, c, 1.0, 0.0, False, True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, n, k", [(300, 520, 600), (5, 700, 300), (700, 3, 300), (1, 1, 1000)])
def test_beta_zero_ignores_nan_in_out_and_c(m, n, k, dtype):
    a, b, _ = operands(np.random.default_rng(1), m, n, k, dtype, False, False)
    nan = np.full((m, n), np.nan, dtype)
    out = nan.copy()
    result = pyconv.gemm(a, b, nan, alpha=1.5, beta=0.0, out=out)
    assert result is out and np.isfinite(out).all()
    assert_gemm_close(out, a, b, nan, 1.5, 0.0, False, False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_accumulation_into_c(dtype):
    a, b, c = operands(np.random.default_rng(2), 97, 300, 513, dtype, True, False)
    expected_c = c.copy()
    result = pyconv.gemm(a, b, c, alpha=-1.0, beta=0.5, trans_a=True, out=c)
    assert result is c
    assert_gemm_close(c, a, b, expected_c, -1.0, 0.5, True, False)


@pytest.mark.parametrize("m, n, k", [(0, 5, 3), (5, 0, 3), (4, 5, 0), (0, 0, 0)])
def test_empty_sizes(m, n, k):
    rng = np.random.default_rng(3)
    a, b, c = operands(rng, m, n, k, np.float64, False, False)
    np.testing.assert_array_equal(pyconv.gemm(a, b), np.zeros((m, n)))
    np.testing.assert_array_equal(pyconv.gemm(a, b, c, beta=2.0), 2.0 * c)


def test_alpha_zero_scales_c_only():
    a, b, c = operands(np.random.default_rng(4), 20, 30, 40, np.float32, False, False)
    a[0, 0] = np.inf  # alpha == 0 means op(a) @ op(b) is not computed (as in BLAS)
    np.testing.assert_array_equal(pyconv.gemm(a, b, c, alpha=0.0, beta=3.0), np.float32(3.0) * c)


def layouts(x):
    """The same matrix values in several memory layouts."""
    padded = np.zeros((x.shape[0], x.shape[1] + 5), x.dtype)
    padded[:, :x.shape[1]] = x
    every_other = np.zeros((x.shape[0] * 2, x.shape[1] * 2), x.dtype)
    every_other[::2, ::2] = x
    return {
        "C": x, "F": np.asfortranarray(x), "transposed view": np.ascontiguousarray(x.T).T,
        "row-padded view": padded[:, :x.shape[1]], "strided": every_other[::2, ::2],
        "reversed rows": np.ascontiguousarray(x[::-1])[::-1],
        "big-endian": x.astype(x.dtype.newbyteorder(">")), "list": x.tolist(),
    }


@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, True)])
@pytest.mark.parametrize("layout", list(layouts(np.zeros((1, 1)))))
def test_input_layouts(layout, trans_a, trans_b):
    a, b, _ = operands(np.random.default_rng(5), 37, 45, 29, np.float64, trans_a, trans_b)
    expected = pyconv.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    a_in, b_in = layouts(a)[layout], layouts(b)[layout]
    a_copy, b_copy = np.array(a_in), np.array(b_in)
    result = pyconv.gemm(a_in, b_in, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(result, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(np.asarray(a_in), a_copy)
    np.testing.assert_array_equal(np.asarray(b_in), b_copy)


def test_out_overlapping_an_input():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((50, 50))
    b = rng.standard_normal((50, 50))
    expected = a @ b
    result = pyconv.gemm(a, b, out=a)
    assert result is a
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_counts_agree_bitwise(dtype):
    for m, n, k in [(300, 257, 700), (7, 1000, 100), (1000, 7, 100), (145, 4097, 20)]:
        a, b, c = operands(np.random.default_rng(m), m, n, k, dtype, False, True)
        results = [pyconv.gemm(a, b, c, beta=0.5, trans_b=True, n_threads=t) for t in (1, 2, 3)]
        for r in results[1:]:
            np.testing.assert_array_equal(r, results[0])


def test_concurrent_python_threads():
    rng = np.random.default_rng(7)
    problems = [operands(rng, 200 + 10 * i, 150, 300, np.float32, i % 2 == 1, False) for i in range(4)]
    expected = [pyconv.gemm(a, b, trans_a=i % 2 == 1, n_threads=1) for i, (a, b, _) in enumerate(problems)]
    results, errors = {}, []

    def work(i):
        a, b, _ = problems[i]
        try:
            for _ in range(5):
                results[i] = pyconv.gemm(a, b, trans_a=i % 2 == 1, n_threads=2)
                np.testing.assert_array_equal(results[i], expected[i])
        except Exception as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(problems))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_denormal_mode_restored_in_caller():
    a = np.ones((64, 64), np.float32)
    pyconv.gemm(a, a, n_threads=1)
    tiny = np.array([1e-38], np.float32) * np.float32(1e-3)  # a float32 denormal
    assert tiny[0] != 0


ISA_OF_ARCH = {"reference": "reference", "avx2": "avx2+fma", "avx512": "avx512f",
               "avx512x12": "avx512f-12x32"}


def _cpu_vendor():
    with open("/proc/cpuinfo") as f:
        return next(line for line in f if line.startswith("vendor_id")).split(":")[1].strip()


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return set(next(line for line in f if line.startswith("flags")).split())
    except (OSError, StopIteration):
        pytest.skip("no /proc/cpuinfo")


def test_isa_matches_cpu():
    """The widest kernel the CPU runs, or the one PYCONV_ARCH forces when the CPU runs it."""
    if platform.machine().lower() in ("aarch64", "arm64"):
        runnable = ["reference", "neon"]  # NEON is part of every aarch64 CPU
    else:
        flags = _cpu_flags()
        runnable = ["reference"]
        if {"avx2", "fma"} <= flags and platform.machine() in ("x86_64", "AMD64"):
            runnable.append("avx2")
            if "avx512f" in flags:  # the vendor's AVX-512 kernel last: the default
                runnable += (["avx512", "avx512x12"] if _cpu_vendor() == "GenuineIntel"
                             else ["avx512x12", "avx512"])
    assert _gemm.archs() == tuple(runnable)
    forced = os.environ.get("PYCONV_ARCH")
    expected = forced if forced in runnable else runnable[-1]
    assert _gemm.arch() == expected
    assert _gemm.isa() == ISA_OF_ARCH[expected]


@pytest.mark.parametrize("arch", ["reference", "avx2", "avx512", "avx512x12", "bogus"])
def test_pyconv_arch_forces_a_kernel_the_cpu_runs(arch):
    """PYCONV_ARCH picks the micro-kernel at import (make test runs the whole suite under each
    one the CPU runs); a name the CPU cannot run warns and keeps the widest."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(pyconv.__file__)))
    env = dict(os.environ, PYCONV_ARCH=arch,
               PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    code = "import warnings; warnings.simplefilter('error'); import pyconv; from pyconv import _gemm; print(_gemm.isa())"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=package_root)
    if arch in _gemm.archs():
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip() == ISA_OF_ARCH[arch]
    else:
        assert proc.returncode != 0 and "PYCONV_ARCH" in proc.stderr and repr(arch) in proc.stderr


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(a=np.ones(3), b=np.ones((3, 3))), ValueError, ["a", "2-d"]),
    (dict(a=np.ones((2, 3)), b=np.ones((2, 3))), ValueError, ["b", "inner", "2x3", "2x3"]),
    (dict(a=np.ones((2, 3), int), b=np.ones((3, 3))), TypeError, ["a", "int64"]),
    (dict(a=np.ones((2, 3), complex), b=np.ones((3, 3))), TypeError, ["a", "complex"]),
    (dict(a=np.ones((2, 3)), b=np.ones((3, 3)), beta=1.0), ValueError, ["c", "None"]),
    (dict(a=np.ones((2, 3)), b=np.ones((3, 3)), c=np.ones((3, 2)), beta=1.0), ValueError, ["c", "(2, 3)", "(3, 2)"]),
    (dict(a=np.ones((2, 3)), b=np.ones((3, 3)), out=np.ones((2, 3), np.float32)), TypeError, ["out", "float32"]),
    (dict(a=np.ones((2, 3)), b=np.ones((3, 3)), out=np.ones((3, 2)).T), ValueError, ["out", "C-contiguous"]),
    (dict(a=np.ones((2, 3)), b=np.ones((3, 3)), alpha="2"), TypeError, ["alpha", "str"]),
    (dict(a=np.ones((2, 3)), b=np.ones((3, 3)), beta=1j), TypeError, ["beta", "complex"]),
    (dict(a=np.ones((2, 3)), b=np.ones((3, 3)), n_threads=0), ValueError, ["n_threads", "0"]),
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as info:
        pyconv.gemm(**kwargs)
    for word in words:
        assert word in str(info.value)
