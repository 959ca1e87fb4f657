"""The residual-network example, in a tiny version (two epochs on a subset of the digits)."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from pyconv.examples import resnet_digits  # noqa: E402


def test_resnet_digits_example_runs_and_writes_png(tmp_path, capsys):
    out = tmp_path / "resnet.png"
    history = resnet_digits.main(["--epochs", "2", "--subset", "200", "--batch-size", "25", "--width", "4",
                                  "--threads", "1", "--out", str(out)])
    assert out.stat().st_size > 10_000
    assert len(history["test_acc"]) == 2 and history["train_loss"][1] < history["train_loss"][0]
    text = capsys.readouterr().out
    assert "BatchNorm2d" in text and "Residual" in text and "test acc" in text


def test_digits_are_upsampled_to_16x16_and_standardised():
    x_train, y_train, x_test, y_test = resnet_digits.load_digits_16x16(subset=200)
    assert x_train.shape == (160, 1, 16, 16) and x_test.shape == (40, 1, 16, 16)
    assert x_train.dtype == np.float32 and y_test.dtype == np.int64
    assert abs(x_train.mean()) < 1e-5 and abs(x_train.std() - 1) < 1e-4
