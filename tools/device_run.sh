#!/bin/bash
# Issue 10's many-core figures in one run (six files in OUT_DIR), for a lent machine with Python,
# numpy and torch but no network: the GEMM per core and at every core against torch.mm, unpinned and pinned, for each
# micro-kernel the CPU runs; ResNet-50's conv + pool layers at batch 32, 1 and all threads,
# against PyTorch and ONNX Runtime; the tests against the wheel. Usage, from the repository root:
#     bash tools/device_run.sh WHEEL OUT_DIR
# WHEEL: pyconv built here for that machine's Python (make wheel PYTHON=python3.12). Installed
# into a scratch directory, without dependencies; bench/ and tests/ run from a copy, so the
# source tree's pyconv/ cannot shadow the wheel. Every harness run sleeps its idle workers
# (OMP_WAIT_POLICY=passive): three libraries' spinning thread pools share the cores otherwise.
set -u
wheel=$1 out=$2
mkdir -p "$out"
start=$(date +%s)
stamp() { echo "== $(( $(date +%s) - start )) s: $*" | tee -a "$out/log.txt"; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/pyconv_site "$wheel" || exit 1
run=$(mktemp -d) && cp -r bench tests "$run/" && cd "$run" || exit 1
export PYTHONPATH=/tmp/pyconv_site PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=passive
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cores=$(nproc)
{ lscpu; python3 -c "import pyconv; pyconv.show_config()"; python3 -c "import torch; print(torch.__version__)"; } \
    > "$out/facts.txt" 2>&1
for arch in $(python3 -c "from pyconv import _gemm; print(*_gemm.archs()[1:])"); do
    echo "PYCONV_ARCH=$arch, pinned" >> "$out/gemm.txt"
    PYCONV_ARCH=$arch OMP_PROC_BIND=close OMP_PLACES=cores python3 -m bench.gemm_vs_numpy --peer torch \
        --threads 1 --repeats 5 >> "$out/gemm.txt" 2>&1
done
stamp "gemm, 1 thread"
for bind in unpinned spread; do
    echo "default micro-kernel, $bind" >> "$out/gemm.txt"
    env $([ $bind = spread ] && echo OMP_PROC_BIND=spread OMP_PLACES=cores) python3 -m bench.gemm_vs_numpy \
        --peer torch --threads 2,4,8,$cores --sizes 1024,2048,4096 --repeats 5 >> "$out/gemm.txt" 2>&1
done
stamp "gemm, 2 to $cores threads"
python3 -m bench --suite networks --network resnet50 --batch 32 --threads 1,$cores --no-check --budget 0.1 \
    --json "$out/resnet50_b32.json" > "$out/resnet50_b32.txt" 2>&1
stamp "resnet50, batch 32"
python3 -m pytest tests -q -m "not slow" -p no:cacheprovider --ignore=tests/test_bench_harness.py \
    > "$out/pytest.txt" 2>&1
stamp "pytest rc $?"
