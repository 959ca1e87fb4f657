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
from bench import cases, network_suite, networks, ops, report, timing  # noqa: E402
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
    for bad in (["--threads", "0"], ["--filter", "("], ["--impl", "tensorflow"], ["--batch", "0"],
                ["--suite", "networks", "--impl", "pyconv-direct"], ["--suite", "all"]):
        proc = subprocess.run([sys.executable, "-m", "bench", *bad], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2 and bad[0] in proc.stderr


# ---- the network suite ------------------------------------------------------------------------

def _convs(net):
    return [layer for layer in networks.NETWORKS[net] if isinstance(layer, ConvLayer)]


def test_network_layers_follow_the_architectures():
    resnet50 = _convs("resnet50")
    assert len(resnet50) == 53 and sum(".downsample." in layer.name for layer in resnet50) == 4
    assert resnet50[-1].output_shape == (1, 2048, 7, 7)
    assert len(_convs("resnet18")) == 20 and _convs("resnet18")[-1].output_shape == (1, 512, 7, 7)
    mobilenet = _convs("mobilenet_v2")
    assert len(mobilenet) == 52
    depthwise = [layer for layer in mobilenet if layer.groups > 1]
    assert len(depthwise) == 17 and all(layer.groups == layer.in_channels == layer.out_channels for layer in depthwise)
    assert {(layer.in_channels, layer.size[0], layer.stride) for layer in depthwise} == {
        (32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1), (192, 28, 2), (384, 14, 1),
        (576, 14, 1), (576, 14, 2), (960, 7, 1)}
    assert mobilenet[-1].output_shape == (1, 1280, 7, 7)
    vgg = networks.NETWORKS["vgg16"]
    assert len(_convs("vgg16")) == 13 and all(layer.bias for layer in _convs("vgg16"))
    pools = [layer for layer in vgg if isinstance(layer, PoolLayer)]
    assert len(pools) == 5 and all(p.kind == "max" and (p.kernel, p.stride) == (2, 2) for p in pools)
    assert pools[-1].output_shape == (1, 512, 7, 7)
    stem, maxpool = networks.NETWORKS["resnet18"][:2]
    assert (stem.kernel, stem.stride, stem.padding, maxpool.output_size) == ((7, 7), 2, 3, (56, 56))
    for net, layers in networks.NETWORKS.items():
        for layer in layers:
            assert min(layer.output_size) >= 1, (net, layer)


@pytest.mark.parametrize("net, published_gmacs", [("resnet18", 1.81), ("resnet50", 4.09), ("mobilenet_v2", 0.30),
                                                  ("vgg16", 15.35)])
def test_network_multiply_adds_match_published_counts(net, published_gmacs):
    """torchvision's published GMACs (its FLOPS column counts multiply-adds), less the small
    fully connected classifiers, which the suite leaves out (VGG-16's are 0.12 GMACs)."""
    gmacs = sum(networks.macs(layer) for layer in networks.NETWORKS[net]) / 1e9
    assert gmacs == pytest.approx(published_gmacs, rel=0.01)


def test_network_cases_are_distinct_shapes_weighted_by_count():
    distinct = networks.distinct_layers()
    keys = [networks.shape_key(layer) for layer, _ in distinct]
    assert len(keys) == len(set(keys))
    for net, layers in networks.NETWORKS.items():
        assert sum(dict(counts).get(net, 0) for _, counts in distinct) == len(layers)
    weighted = sum(networks.macs(layer) * dict(counts).get("resnet50", 0) for layer, counts in distinct)
    assert weighted == sum(map(networks.macs, networks.NETWORKS["resnet50"]))
    chosen = networks.select("^resnet18\\.conv1/", batches=(1, 32))
    assert [(c.name, c.layer.batch) for c in chosen] == [
        ("resnet18.conv1/inference", 1), ("resnet18.conv1/training", 1),
        ("resnet18.conv1/inference", 32), ("resnet18.conv1/training", 32)]
    assert chosen[0].networks == {"resnet18": 1, "resnet50": 1}
    assert chosen[0].ops == ("conv2d",) and chosen[1].ops == cases.CONV_OPS
    pool = networks.select("^resnet18\\.maxpool/training", batches=(1,))[0]
    assert pool.ops == ("max_pool2d", "max_pool2d_backward")
    # one network: every layer it has, whatever network the shape is named after, counted for it alone
    resnet50 = networks.select(batches=(1,), network="resnet50")
    assert {net for case in resnet50 for net in case.networks} == {"resnet50"}
    inference = [case for case in resnet50 if case.mode == "inference"]
    assert sum(case.networks["resnet50"] for case in inference) == len(networks.NETWORKS["resnet50"])
    assert any(case.name.startswith("resnet18.") for case in inference)


def _network_row(case, mode, times, vs, networks_counts, batch=1):
    return {"case": f"{case}/{mode}", "layer": case, "mode": mode, "batch": batch, "threads": 1,
            "networks": networks_counts, "times": times, "vs": vs, "errors": {}, "check": "ok"}


NETWORK_ROWS = [
    _network_row("a", "inference", {"pyconv": 0.002, "torch": 0.004}, {"torch": 2.0}, {"n1": 3, "n2": 1}),
    _network_row("b", "inference", {"pyconv": 0.010, "torch": 0.005, "onnxruntime": 0.004},
                 {"torch": 0.5, "onnxruntime": 0.4}, {"n1": 1})]


def test_network_totals_and_table():
    sums = network_suite.totals(NETWORK_ROWS)
    assert sums[1, 1, "n1", "inference"] == pytest.approx({"pyconv": 0.016, "torch": 0.017})
    assert sums[1, 1, "n2", "inference"] == pytest.approx({"pyconv": 0.002, "torch": 0.004})
    table = report.network_table(NETWORK_ROWS).splitlines()
    assert table[2].startswith("b/inference") and table[3].startswith("a/inference")
    totals = report.network_totals(sums)
    assert "1.06" in totals and "2.00" in totals


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="matplotlib's import aborts under a preloaded ASan (make sanitize)")
def test_network_plot(tmp_path):
    pytest.importorskip("matplotlib")
    report.plot_networks(network_suite.totals(NETWORK_ROWS), str(tmp_path / "totals.png"))
    assert (tmp_path / "totals.png").stat().st_size > 0


@pytest.mark.parametrize("name", ["conv", "depthwise_bias", "max", "avg"])
def test_onnx_models_compute_the_layer(name):
    """The one-node ONNX models the suite times give pyconv's (and so PyTorch's) results."""
    pyconv = pytest.importorskip("pyconv")
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    layer = {"conv": ConvLayer("c", 2, 3, 4, (9, 8), (3, 3), stride=2, padding=1),
             "depthwise_bias": ConvLayer("d", 1, 4, 4, (7, 7), (3, 3), padding=1, groups=4, bias=True),
             "max": networks.MaxPool("m", 2, 3, (9, 9), kernel=3, stride=2, padding=1),
             "avg": networks.AvgPool("a", 2, 3, (7, 7), kernel=7, stride=7)}[name]
    mode = networks.NetworkCase(layer, "inference", (("n", 1),))
    arrays = ops.network_inputs(mode, "float32")
    got = ops.bind_network(mode, "onnxruntime", arrays, 1, onnxruntime=onnxruntime)()[0]
    expected = ops.bind_network(mode, "pyconv", arrays, 1, pyconv=pyconv)()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_network_training_call_runs_every_op():
    pyconv = pytest.importorskip("pyconv")
    layer = ConvLayer("c", 2, 3, 4, (6, 6), (3, 3), padding=1)
    case = networks.NetworkCase(layer, "training", (("n", 1),))
    y, gx, gw = ops.bind_network(case, "pyconv", ops.network_inputs(case, "float64"), 1, pyconv=pyconv)()
    assert (y.shape, gx.shape, gw.shape) == (layer.output_shape, layer.input_shape, layer.weight_shape)


def test_cli_networks_quick_run():
    pytest.importorskip("pyconv._conv")
    proc = subprocess.run([sys.executable, "-m", "bench", "--suite", "networks", "--quick", "--threads", "1",
                           "--filter", "^mobilenet_v2\\.(features\\.18\\.0|avgpool)/", "--budget", "0.01"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for case in ("features.18.0/inference", "features.18.0/training", "avgpool/inference", "avgpool/training"):
        assert f"mobilenet_v2.{case}" in proc.stdout
    assert "Network totals" in proc.stdout and "mobilenet_v2  training" in proc.stdout
