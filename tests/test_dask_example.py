"""python -m pyconv.examples.dask_batch on a tiny batch (skipped without dask)."""
import numpy as np
import pytest

pytest.importorskip("dask.array")

from pyconv.examples import dask_batch  # noqa: E402


def test_dask_batch_matches_one_call(capsys):
    timings, results = dask_batch.main(["--batch", "10", "--chunk", "3", "--size", "8", "--filters", "4"])
    assert "dask results match one whole-batch call" in capsys.readouterr().out
    assert set(timings) == {"dask, 1 worker(s)", "dask, 2 worker(s)", "one pyconv call"}
    assert results[1].shape == (10, 4)
    np.testing.assert_array_equal(results[1], results[2])  # chunks are independent: same result


def test_chunks_must_split_the_batch_axis_only():
    import dask.array as da
    images = da.zeros((4, 3, 8, 8), chunks=(2, 1, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="images: expected chunks along the batch axis only"):
        dask_batch.batch_features(images, np.zeros((2, 3, 3, 3), np.float32), np.zeros(2, np.float32))
