"""The README's Python code blocks run as written, so they cannot drift from the library."""
import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def python_blocks():
    if not os.path.exists(README):  # the tests run from an installed wheel, without the README
        return []
    with open(README, encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.S | re.M)


@pytest.mark.skipif(not python_blocks(), reason="no README.md beside the tests")
@pytest.mark.parametrize("index", range(max(len(python_blocks()), 1)))
def test_readme_python_block_runs(index, capsys):
    exec(compile(python_blocks()[index], f"README.md python block {index}", "exec"), {})
