#!/usr/bin/env bash
# Install the built wheel (dist/wheelhouse/, from `make wheel`) into a fresh virtual environment
# and run the test suite against it from outside the source tree, so the source pyconv/ cannot be
# imported: once with the run-time dispatched kernels, once with PYCONV_ARCH=reference.
# Usage: tools/test_wheel.sh [PYTHON] [pytest args...]
set -euo pipefail
python=${1:-python3}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
wheels=("$root"/dist/wheelhouse/pyconv-*.whl)
if [ ${#wheels[@]} -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
    echo "expected exactly one wheel in dist/wheelhouse/ (run make wheel), found: ${wheels[*]}" >&2
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
py=$work/venv/bin/python
# Cython and setuptools: tests/test_cython_api.py builds an extension against the installed .pxd
"$py" -m pip install -q "${wheels[0]}[test]" Cython setuptools
# The tests, the benchmark harness they import (python -m puts the directory on sys.path) and
# the pytest settings; the package sources stay behind.
cp -r "$root/tests" "$root/bench" "$root/pyproject.toml" "$work/"
cd "$work"
for arch in dispatched reference; do
    # "dispatched": PYCONV_ARCH unset, so the kernels are chosen by CPU detection.
    run=(env -u PYCONV_ARCH)
    [ "$arch" = reference ] && run=(env PYCONV_ARCH=reference)
    echo "=== installed wheel, kernels: $arch"
    "${run[@]}" "$py" -c "
import pyconv, sys
assert pyconv.__file__.startswith(sys.prefix), 'pyconv imported from ' + pyconv.__file__
pyconv.show_config()"
    "${run[@]}" "$py" -m pytest -p no:cacheprovider "$@"
done
