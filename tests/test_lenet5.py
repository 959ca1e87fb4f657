"""The LeNet-5 example, in a tiny version (one epoch on a subset of the digits)."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from pyconv.examples import lenet5  # noqa: E402


def test_lenet5_example_runs_and_writes_png(tmp_path, capsys):
    out = tmp_path / "lenet5.png"
    history = lenet5.main(["--epochs", "2", "--subset", "250", "--batch-size", "40", "--out", str(out)])
    assert out.stat().st_size > 10_000
    assert len(history["test_acc"]) == 2 and history["train_loss"][1] < history["train_loss"][0]
    assert history["test_acc"][-1] > 0.5  # 10 classes: chance is 0.1
    text = capsys.readouterr().out
    assert "Total parameters: 61,706" in text and "test acc" in text


def test_digits_are_upsampled_to_32x32_and_standardised():
    x_train, y_train, x_test, y_test = lenet5.load_digits_32x32(subset=200)
    assert x_train.shape == (160, 1, 32, 32) and x_test.shape == (40, 1, 32, 32)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert abs(x_train.mean()) < 1e-5 and abs(x_train.std() - 1) < 1e-4
    assert np.all(x_train[:, :, :4] == x_train[0, 0, 0, 0])  # the zero border, standardised
