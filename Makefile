# pyconv developer commands. PYTHON picks the interpreter (a venv's python, say).
PYTHON ?= python3
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install develop inplace test test-quick bench bench-pytest demo wheel sanitize clean

## install: build and install pyconv with the benchmark extras into $(PYTHON)'s environment
install:
	$(PYTHON) -m pip install ".[bench]"

## develop: editable install with the test extras (compiled extensions land in pyconv/)
develop:
	$(PYTHON) -m pip install -e ".[test]"

## inplace: rebuild the extensions in place after editing kernels/ or *.pyx (fast dev loop)
inplace:
	$(PYTHON) setup.py -q build_ext --inplace -j 2

## test: install (editable) and run the whole test suite
test: develop
	$(PYTHON) -m pytest $(PYTEST_ARGS)

## test-quick: the suite against the in-place build, without slow tests
test-quick: inplace
	$(PYTHON) -m pytest -m "not slow" $(PYTEST_ARGS)

## bench: install (editable: `python -m bench` run here imports this directory's pyconv, so its
## extensions must be built in place) and run the benchmark harness; BENCH_ARGS="--threads 1,2" etc.
bench:
	$(PYTHON) -m pip install -e ".[bench]"
	$(PYTHON) -m bench $(BENCH_ARGS)

## bench-pytest: the same case table as a pytest-benchmark suite (not part of make test)
bench-pytest:
	$(PYTHON) -m pip install -e ".[test,bench]"
	$(PYTHON) -m pytest bench/test_bench.py --benchmark-only $(PYTEST_ARGS)

## demo: train LeNet-5 on scikit-learn's handwritten digits
demo:
	$(PYTHON) -m pip install ".[examples]"
	$(PYTHON) -m pyconv.examples.lenet5

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis .benchmarks
	rm -f pyconv/*.so pyconv/*.pyd pyconv/_*.c
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
