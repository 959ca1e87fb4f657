"""python -m pyconv.examples.dask_large_image --small: a 2-process LocalCluster convolves and
pools a memory-mapped image tile by tile and checks tiles against direct pyconv calls
(skipped without dask.distributed)."""
import pytest

pytest.importorskip("dask.distributed")

from pyconv.examples import dask_large_image  # noqa: E402


def test_large_image_example_small(capsys, tmp_path):
    peaks = dask_large_image.main(["--small", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "3 output tiles match direct pyconv calls" in out
    assert len(peaks) == 2 and all(peak > 0 for peak in peaks.values())
    assert out.count("peak RSS") == 2
