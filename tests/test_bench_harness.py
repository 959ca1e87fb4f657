"""The benchmark harness's own logic (bench/): the case table, work counts, the reference check,
timing helpers, the report, and one short `python -m bench --quick` run."""
import math
import os
import subprocess
import sys
import types

import numpy as np
import pytest

# bench/ is part of the source tree, not of the wheel (whose tests run without the sources).
pytest.importorskip("bench.cases", reason="the benchmark harness bench/ is not importable here")
from bench import cases, ops, report, timing  # noqa: E402
from bench.cases import Case, ConvLayer, GemmLayer, PoolLayer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_case_table_is_well_formed():
    names = [case.name for case in cases.CASES]
    assert len(names) == len(set(names))
    assert {case.op for case in cases.CASES} == set(cases.CONV_OPS + cases.POOL_OPS + cases.GEMM_OPS)
    for case in cases.CASES:
        layer = case.layer
        assert case.op in layer.ops
        assert case.work(4) > 0
        if isinstance(layer, ConvLayer):
            assert layer.in_channels % layer.groups == 0 and layer.out_channels % layer.groups == 0
            assert min(layer.output_size) >= 1
        if isinstance(layer, PoolLayer):
            assert min(layer.output_size) >= 1 and 2 * layer.padding <= layer.kernel
        quick = case.quick()
        if quick is not None:
            assert quick.name == case.name and getattr(quick.layer, "batch", 1) <= getattr(layer, "batch", 1)
    assert cases.MEMORY_LAYER.batch == 32 and cases.MEMORY_LAYER.in_channels == 128


def test_table_covers_the_issue_suite():
    layers = {layer.name: layer for layer in cases.LAYERS}
    assert layers["lenet5_c1"].batch == layers["lenet5_c3"].batch == 64
    stem = layers["resnet18_stem"]
    assert (stem.kernel, stem.stride, stem.padding, stem.size) == ((7, 7), 2, 3, (224, 224))
    convs = [layer for layer in cases.LAYERS if isinstance(layer, ConvLayer)]
    assert any(layer.groups == layer.in_channels == layer.out_channels > 1 for layer in convs)
    assert any(layer.kernel == (1, 1) for layer in convs)
    assert {(layer.in_channels, layer.stride) for layer in convs if layer.name.startswith("resnet18_") and
            layer.kernel == (3, 3)} >= {(64, 1), (128, 1), (256, 1), (64, 2), (128, 2)}
    assert {layer.m for layer in cases.LAYERS if isinstance(layer, GemmLayer)} == {256, 512, 1024, 2048}


def test_work_counts_by_hand():
    conv = ConvLayer("t", 2, 4, 6, (10, 8), (3, 3), stride=2, padding=1, groups=2)
    assert conv.output_size == (5, 4)
    assert Case(conv, "conv2d_weight").work(4) == 2 * 2 * 6 * 5 * 4 * 2 * 9
    pool = PoolLayer("p", 1, 1, (4, 4), kernel=2, stride=2)
    # 16 float32 inputs + 4 outputs of one float32 and one int64 each
    assert Case(pool, "max_pool2d").work(4) == 16 * 4 + 4 * 12
    assert Case(pool, "max_pool2d_backward").work(8) == 16 * 8 + 4 * 16
    assert Case(pool, "avg_pool2d").work(4) == Case(pool, "max_pool2d_no_indices").work(4) == 16 * 4 + 4 * 4
    assert Case(GemmLayer("g", 2, 3, 5), "gemm").work(4) == 60


def test_select_filters_and_quick():
    assert [c.name for c in cases.select("^lenet5_c1/")] == [f"lenet5_c1/{op}" for op in cases.CONV_OPS]
    quick = cases.select(quick=True)
    assert {c.name for c in quick} < {c.name for c in cases.CASES}
    assert all(c.layer.quick_batch is not None for c in quick)
    assert "gemm_2048/gemm" not in {c.name for c in quick}
    assert {getattr(c.layer, "batch", 32) for c in cases.select(batch=32)} == {32}


def test_reduction_length_by_hand():
    conv = ConvLayer("t", 3, 4, 6, (10, 8), (3, 2), padding=1, groups=2, bias=True)
    h_out, w_out = conv.output_size
    assert ops.reduction_length(Case(conv, "conv2d")) == 2 * 3 * 2 + 1
    assert ops.reduction_length(Case(conv, "conv2d_input")) == 3 * 3 * 2
    assert ops.reduction_length(Case(conv, "conv2d_weight")) == 3 * h_out * w_out
    pool = PoolLayer("p", 1, 1, (9, 9), kernel=3, stride=2)
    assert ops.reduction_length(Case(pool, "max_pool2d_backward")) == 4
    assert ops.reduction_length(Case(pool, "avg_pool2d")) == 9


def _fake_pyconv(error):
    """A stand-in pyconv whose gemm returns a @ b plus `error`."""
    def gemm(a, b, n_threads=None):
        return (a @ b + error).astype(a.dtype)
    return types.SimpleNamespace(gemm=gemm)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_check_accepts_rounding_and_flags_errors(dtype):
    reference = pytest.importorskip("pyconv.reference")
    case = Case(GemmLayer("g", 16, 24, 300), "gemm")
    assert ops.check(case, "pyconv", dtype, 1, pyconv=_fake_pyconv(0.0), reference=reference) == "ok"
    verdict = ops.check(case, "pyconv", dtype, 1, pyconv=_fake_pyconv(1e-2), reference=reference)
    assert verdict.startswith("MISMATCH") and "384 of 384 differ" in verdict
    nan = ops.check(case, "pyconv", dtype, 1, pyconv=_fake_pyconv(np.nan), reference=reference)
    assert nan.startswith("MISMATCH")


def test_interleaved_rounds_errors_and_ratios():
    def failing():
        raise RuntimeError("boom")
    times, errors = timing.interleaved({"a": lambda: None, "b": lambda: sum(range(1000)), "bad": failing}, 0.001)
    assert set(times) == {"a", "b"} and isinstance(errors["bad"], RuntimeError)
    assert timing.MIN_REPEATS <= len(times["a"]) == len(times["b"]) <= timing.MAX_REPEATS
    assert timing.paired_ratio([1.0, 2.0, None], [2.0, 6.0, 1.0]) == 2.5
    assert math.isnan(timing.paired_ratio([None], [1.0]))


def test_table_and_summary():
    rows = [{"case": "l/conv2d", "layer": "l", "op": "conv2d", "impl": "pyconv-auto", "threads": 1, "batch": 8,
             "unit": "flop", "median_s": 0.002, "rate": 50.0, "pct_peak": 55.0, "vs": {"torch": 2.0}, "check": "ok"},
            {"case": "m/conv2d", "layer": "m", "op": "conv2d", "impl": "pyconv-auto", "threads": 1, "batch": 8,
             "unit": "flop", "median_s": 0.004, "rate": 25.0, "pct_peak": 27.0, "vs": {"torch": 0.5}, "check": "ok"},
            {"case": "m/conv2d", "layer": "m", "op": "conv2d", "impl": "pyconv-direct", "threads": 1, "batch": 8,
             "unit": "flop", "error": "not implemented"}]
    text = report.table(rows)
    assert "l/conv2d" in text and "50.00" in text and "not implemented" in text
    (line,) = report.summary(rows, "torch")
    assert "geomean 1.00x over 2 layer(s), worst 0.50x (m)" in line
    assert report.geometric_mean([2.0, 8.0, math.nan]) == pytest.approx(4.0)


def test_cli_quick_run_prints_a_table():
    pytest.importorskip("pyconv._conv")
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--filter", "^lenet5_c1/", "--threads", "1",
                           "--budget", "0.02"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "% peak" in proc.stdout
    for op in cases.CONV_OPS:
        assert f"lenet5_c1/{op}" in proc.stdout


def test_cli_rejects_bad_arguments():
    for bad in (["--threads", "0"], ["--filter", "("], ["--impl", "tensorflow"], ["--batch", "0"]):
        proc = subprocess.run([sys.executable, "-m", "bench", *bad], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2 and bad[0] in proc.stderr
