"""The case tables as a pytest-benchmark suite: `make bench-pytest` (not part of `make test`).

Every case x implementation (the reference left out: `python -m bench` times it on small batches)
at pyconv.get_num_threads() threads, PyTorch, ONNX Runtime and NumPy's BLAS set to the same count.
Ops that pyconv does not implement yet are skipped. The network cases (bench/networks.py) are
those of `python -m bench --suite networks`."""
import functools

import pytest

from bench import networks
from bench.cases import CASES
from bench.ops import (bind, bind_network, implementations, make_inputs, network_implementations, network_inputs,
                       optional_module)
from bench.timing import blas_threads

pyconv = pytest.importorskip("pyconv")
torch = optional_module("torch")
onnxruntime = optional_module("onnxruntime") if optional_module("onnx") is not None else None
DTYPE = "float32"


@functools.lru_cache(maxsize=2)
def inputs(case):
    return make_inputs(case, DTYPE, reference=optional_module("pyconv.reference"), torch=torch)


@pytest.mark.parametrize("case, impl", [
    pytest.param(case, impl, id=f"{case.name}-{impl}")
    for case in CASES for impl in implementations(case, torch is not None, with_reference=False)])
def test_case(benchmark, case, impl):
    n_threads = pyconv.get_num_threads()
    if torch is not None:
        torch.set_num_threads(n_threads)
    call = bind(case, impl, inputs(case), n_threads, pyconv=pyconv, torch=torch)
    with blas_threads(n_threads):
        try:
            call()
        except NotImplementedError:
            pytest.skip(f"{impl} does not implement {case.op} yet")
        benchmark.group = case.name
        benchmark.extra_info.update(impl=impl, threads=n_threads, unit=case.unit, work=case.work(4))
        benchmark(call)


@functools.lru_cache(maxsize=1)
def network_arrays(case):
    return network_inputs(case, DTYPE, reference=optional_module("pyconv.reference"), torch=torch)


@pytest.mark.parametrize("case, impl", [
    pytest.param(case, impl, id=f"{case.name}-batch{case.layer.batch}-{impl}")
    for case in networks.select()
    for impl in network_implementations(case, torch is not None, onnxruntime is not None)])
def test_network_case(benchmark, case, impl):
    n_threads = pyconv.get_num_threads()
    if torch is not None:
        torch.set_num_threads(n_threads)
    call = bind_network(case, impl, network_arrays(case), n_threads, pyconv=pyconv, torch=torch,
                        onnxruntime=onnxruntime)
    with blas_threads(n_threads):
        benchmark.group = f"{case.name} batch {case.layer.batch}"
        benchmark.extra_info.update(impl=impl, threads=n_threads, networks=case.networks)
        benchmark(call)
