"""Losses: calling one returns the scalar loss (a Python float); backward() then returns the
gradient of that loss w.r.t. the predictions (the logits), in their dtype."""
import numpy as np

from pyconv._args import as_float_array, check_shape


class _Loss:
    def __init__(self):
        self._grad = None

    def backward(self):
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before the loss was computed")
        return self._grad

    def __repr__(self):
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(_Loss):
    """mean_i( logsumexp(logits_i) - logits_i[labels_i] ) for logits (N, C) and integer labels
    (N,) in [0, C): torch.nn.CrossEntropyLoss with mean reduction. The log-sum-exp subtracts
    each row's max, so large logits do not overflow."""

    def __call__(self, logits, labels):
        logits = as_float_array(logits, "logits", ndim=2)
        labels = np.asarray(labels)
        n, c = logits.shape
        if labels.dtype.kind not in "iu":
            raise TypeError(f"labels: expected an integer array, got dtype {labels.dtype}")
        if labels.shape != (n,):
            raise ValueError(f"labels: expected shape ({n},) to match logits {logits.shape}, got {labels.shape}")
        if n == 0:
            raise ValueError("logits: the mean over an empty batch is undefined (got N = 0)")
        if labels.min() < 0 or labels.max() >= c:
            raise ValueError(f"labels: expected class indices in [0, {c}), got values in "
                             f"[{labels.min()}, {labels.max()}]")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_sum
        rows = np.arange(n)
        loss = -log_probs[rows, labels].mean(dtype=np.float64)
        grad = np.exp(log_probs)
        grad[rows, labels] -= 1
        grad /= n
        self._grad = grad
        return float(loss)


class MSELoss(_Loss):
    """mean((prediction - target)^2) over every element, as torch.nn.MSELoss."""

    def __call__(self, prediction, target):
        prediction = as_float_array(prediction, "prediction")
        target = as_float_array(target, "target", prediction.dtype)
        check_shape(target, prediction.shape, "target")
        if prediction.size == 0:
            raise ValueError("prediction: the mean over an empty array is undefined")
        diff = prediction - target
        self._grad = diff * np.asarray(2.0 / diff.size, dtype=diff.dtype)
        return float(np.mean(diff * diff, dtype=np.float64))
