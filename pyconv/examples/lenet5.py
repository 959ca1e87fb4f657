"""Train LeNet-5 with pyconv.nn on scikit-learn's handwritten digits.

    python -m pyconv.examples.lenet5 [--epochs 20] [--batch-size 32] [--lr 0.002] [--seed 0]
                                     [--activation relu|tanh] [--pool max|avg] [--threads N]
                                     [--subset N] [--out lenet5_digits.png]

The data are the 1,797 8x8 digit images shipped inside scikit-learn (load_digits, no download),
upsampled 3x (nearest neighbour) to 24x24 and zero-padded to LeNet's 32x32 input, as LeCun et
al. (1998) centred 20x20 MNIST digits in a 32x32 field. A stratified 20% is held out for
testing. The network is LeNet-5: conv 6@5x5 -> pool 2 -> conv 16@5x5 -> pool 2 -> fc 120 ->
fc 84 -> fc 10, trained with Adam (learning rate annealed by a cosine) on the softmax
cross-entropy. Each epoch prints the loss, the accuracies and the time; at the end a PNG shows
the curves, the learned first-layer filters and the feature maps of one test digit.

scikit-learn and matplotlib are optional extras: pip install "pyconv[examples]"."""
import argparse
import importlib
import math
import sys
import time

import numpy as np

import pyconv
import pyconv.nn as nn
from pyconv.nn.init import as_generator

CLASSES = 10


def _require(module, package):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SystemExit(f"pyconv.examples.lenet5 needs {package}, which is not installed; "
                         f"install the examples extra: pip install \"pyconv[examples]\"") from None


def load_digits_32x32(test_fraction=0.2, seed=0, subset=None):
    """(x_train, y_train, x_test, y_test): float32 images (N, 1, 32, 32) standardised with the
    training set's mean and std, int64 labels. subset keeps that many images (for quick runs)."""
    return load_digits(3, 4, test_fraction, seed, subset)


def load_digits(upsample, pad, test_fraction=0.2, seed=0, subset=None):
    """The digits upsampled (nearest neighbour) by `upsample`, zero-padded by `pad` on each side,
    split (stratified) and standardised with the training set's mean and std: (x_train, y_train,
    x_test, y_test), float32 images (N, 1, 8 * upsample + 2 * pad, ...) and int64 labels."""
    datasets = _require("sklearn.datasets", "scikit-learn")
    model_selection = _require("sklearn.model_selection", "scikit-learn")
    digits = datasets.load_digits()
    images, labels = digits.images.astype(np.float32), digits.target.astype(np.int64)
    if subset is not None:
        images, labels = images[:subset], labels[:subset]
    images = np.kron(images, np.ones((1, upsample, upsample), np.float32))
    images = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))[:, None]
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def lenet5(activation="relu", pool="max", rng=None):
    """LeNet-5 for 1x32x32 inputs and 10 classes (2,416 + 156 conv and 59,134 fc parameters)."""
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    pooling = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[pool]
    rng = as_generator(rng)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, rng=rng), act(), pooling(2),
        nn.Conv2d(6, 16, 5, rng=rng), act(), pooling(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120, rng=rng), act(),
        nn.Linear(120, 84, rng=rng), act(),
        nn.Linear(84, CLASSES, rng=rng))


def _progress(prefix, done, total, loss, width=30):
    """A one-line progress bar on a terminal's stderr (nothing when stderr is a file or pipe)."""
    if not sys.stderr.isatty():
        return
    filled = width * done // total
    sys.stderr.write(f"\r{prefix} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} loss {loss:.4f}")
    if done == total:
        sys.stderr.write("\r" + " " * (len(prefix) + width + 30) + "\r")
    sys.stderr.flush()


def evaluate(model, loss_fn, x, y, batch_size=256):
    """(mean loss, accuracy) of the model in eval mode."""
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        labels = y[start:start + batch_size]
        total_loss += loss_fn(logits, labels) * len(labels)
        correct += int((logits.argmax(axis=1) == labels).sum())
    model.train()
    return total_loss / len(x), correct / len(x)


def train(model, data, epochs, batch_size, lr, seed, log=print):
    """Adam on shuffled mini-batches, the learning rate annealed from lr towards 0 by a cosine
    over the epochs (so the last epochs settle instead of oscillating); returns the history."""
    x_train, y_train, x_test, y_test = data
    loss_fn = nn.SoftmaxCrossEntropy()
    optimizer = nn.Adam(model.parameters(), lr=lr)
    shuffle = np.random.default_rng(seed)
    history = {key: [] for key in ("train_loss", "train_acc", "test_loss", "test_acc", "seconds")}
    n_batches = -(-len(x_train) // batch_size)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        optimizer.lr = lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
        order = shuffle.permutation(len(x_train))
        running, correct = 0.0, 0
        for b in range(n_batches):
            batch = order[b * batch_size:(b + 1) * batch_size]
            logits = model(x_train[batch])
            loss = loss_fn(logits, y_train[batch])
            optimizer.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
            running += loss * len(batch)
            correct += int((logits.argmax(axis=1) == y_train[batch]).sum())
            _progress(f"epoch {epoch:2d}/{epochs}", b + 1, n_batches, loss)
        test_loss, test_acc = evaluate(model, loss_fn, x_test, y_test)
        seconds = time.perf_counter() - start
        for key, value in zip(history, (running / len(x_train), correct / len(x_train), test_loss, test_acc,
                                        seconds)):
            history[key].append(value)
        log(f"epoch {epoch:2d}/{epochs}  train loss {history['train_loss'][-1]:.4f}  "
            f"train acc {history['train_acc'][-1]:6.2%}  test loss {test_loss:.4f}  "
            f"test acc {test_acc:6.2%}  {seconds:5.2f} s")
    return history


def plot(model, history, image, label, path, first_stage, second_stage, name="LeNet-5"):
    """One PNG: loss and accuracy curves, the first layer's filters (model[0]'s weight), and the
    feature maps of one test digit after first_stage and then second_stage (slices of model)."""
    matplotlib = _require("matplotlib", "matplotlib")
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")
    model.eval()
    first = first_stage(image[None])[0]
    second = second_stage(first[None])[0]
    predicted = int(model(image[None]).argmax())
    epochs = np.arange(1, len(history["train_loss"]) + 1)

    fig = plt.figure(figsize=(12, 10), layout="constrained")
    top, filters, maps1, maps2 = fig.subfigures(4, 1, height_ratios=[2.2, 1, 1, 1.6])
    ax_loss, ax_acc = top.subplots(1, 2)
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_loss.plot(epochs, history["test_loss"], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    ax_acc.plot(epochs, 100 * np.array(history["train_acc"]), "o-", label="train")
    ax_acc.plot(epochs, 100 * np.array(history["test_acc"]), "s-", label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"Accuracy (test: {history['test_acc'][-1]:.2%})")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()

    def show_grid(subfig, arrays, titles, suptitle, cmap, rows=1, symmetric=False):
        axes = np.atleast_1d(subfig.subplots(rows, -(-len(arrays) // rows))).ravel()
        for ax in axes[len(arrays):]:
            ax.axis("off")
        for ax, arr, title in zip(axes, arrays, titles):
            limit = np.abs(arr).max() if symmetric else None
            ax.imshow(arr, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit)
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        subfig.suptitle(suptitle, fontsize=10)

    weights = model[0].weight.data[:, 0]
    kh, kw = weights.shape[1:]
    show_grid(filters, list(weights), [f"filter {k}" for k in range(len(weights))],
              f"{name}: learned first-layer filters (conv {len(weights)}@{kh}x{kw}; red > 0 > blue)", "RdBu_r",
              symmetric=True)
    show_grid(maps1, [image[0]] + list(first),
              [f"input: {label} (predicted {predicted})"] + [f"map {k}" for k in range(len(first))],
              f"Test digit and its first-stage feature maps ({first.shape[1]}x{first.shape[2]})", "gray",
              rows=1 if len(first) <= 8 else 2)
    show_grid(maps2, list(second), [f"map {k}" for k in range(len(second))],
              f"Second-stage feature maps ({second.shape[1]}x{second.shape[2]})", "gray", rows=2)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    model.train()


def parse_arguments(argv, prog, doc, epochs, lr, out, add_model_arguments=None):
    """The command line shared by the digit examples: --epochs, --batch-size, --lr, --seed,
    the model's own options (add_model_arguments(parser)), --subset, --threads, --out. Applies
    --threads; returns the parsed arguments."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=lr, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the split, the initialisation and the shuffling")
    if add_model_arguments is not None:
        add_model_arguments(parser)
    parser.add_argument("--subset", type=int, default=None,
                        help="use only this many images (quick checks)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for pyconv's kernels (default: pyconv.get_num_threads())")
    parser.add_argument("--out", default=out, help="PNG to write; '' for none")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")
    if args.threads is not None:
        pyconv.set_num_threads(args.threads)
    return args


def run(model, data, args, title, stages, name):
    """Print the model, train it, report the held-out accuracy and, unless --out is '', write the
    PNG with the feature maps after stages = (first_stage, second_stage); returns the history."""
    start = time.perf_counter()
    print(f"{title} on {len(data[0])} training / {len(data[2])} test digits, {pyconv.get_num_threads()} thread(s)")
    model.summary(data[0].shape[1:])
    history = train(model, data, args.epochs, args.batch_size, args.lr, args.seed)
    print(f"test accuracy {history['test_acc'][-1]:.2%} after {args.epochs} epochs, "
          f"{time.perf_counter() - start:.1f} s in all")
    if args.out:
        x_test, y_test = data[2], data[3]
        plot(model, history, x_test[0], int(y_test[0]), args.out, *stages, name=name)
        print(f"wrote {args.out}")
    return history


def main(argv=None):
    def model_arguments(parser):
        parser.add_argument("--activation", choices=["relu", "tanh"], default="relu")
        parser.add_argument("--pool", choices=["max", "avg"], default="max")

    args = parse_arguments(argv, "python -m pyconv.examples.lenet5", __doc__, 20, 2e-3, "lenet5_digits.png",
                           model_arguments)
    data = load_digits_32x32(seed=args.seed, subset=args.subset)
    model = lenet5(args.activation, args.pool, rng=args.seed)
    return run(model, data, args, f"LeNet-5 ({args.activation}, {args.pool} pooling)", (model[:2], model[2:5]),
               "LeNet-5")


if __name__ == "__main__":
    main()
