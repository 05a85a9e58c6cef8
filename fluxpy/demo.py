"""``fluxpy demo``: the story of the Flux docs, told on scikit-learn's handwritten digits.

Three models learn to read the 8×8 images of ``sklearn.datasets.load_digits`` (bundled, no download),
each a step further along the seeds:

1. the seeds' linear regression *by hand*: global weights ``W`` and ``b``, ``predict(x) = x @ W.T + b``,
   ``fx.withgradient(lambda: loss(x, y), fx.params(W, b))`` and a gradient-descent step written out;
2. a multilayer perceptron, ``fx.Chain(fx.Dense(...), fx.Dense(...))``, trained by ``fx.train`` with Adam
   on the mini-batches of an ``fx.DataLoader``;
3. a small convolutional network (``fx.Conv``, ``fx.MaxPool``, ``fx.flatten``) on ``(N, 1, 8, 8)`` images.

Each part prints its test accuracy and wall time; the loss curves go to a PNG (matplotlib, no display
needed). The training code below is written as a user would write it: it is the demo's documentation
(docs/demo.md). Everything fluxpy differentiates here lives in this file, since fluxpy reads source.
"""

import argparse
import importlib
import os
import sys
import time
from typing import NamedTuple

import numpy as np

import fluxpy as fx

DESCRIPTION = (
    "Train three models on scikit-learn's handwritten digits, as the Flux docs build them up: a linear "
    "regression by hand with implicit parameters, a multilayer perceptron and a small CNN. Prints each "
    "one's test accuracy and wall time, the code fluxpy generates for a loss, and draws the loss curves."
)
DEFAULT_PLOT = "fluxpy-demo-losses.png"

# Training lengths at --epochs-scale 1 (the whole demo takes well under a minute on a 2-core CPU).
LINEAR_STEPS = 300  # full-batch gradient-descent steps: each one is an epoch
MLP_EPOCHS = 30
CNN_EPOCHS = 30

# What the demo needs beyond fluxpy's own dependencies: (module, distribution).
NEEDS = (("sklearn", "scikit-learn"), ("matplotlib", "matplotlib"))
MISSING = 'fluxpy demo: error: {package} is not installed; the demo needs: pip install "fluxpy[demo]"'
PLOT_FAILED = "fluxpy demo: error: could not write the loss curves to {path}: {error}"


def add_arguments(parser):
    """Add the demo's options to an argparse parser."""
    parser.description = DESCRIPTION
    parser.add_argument(
        "--epochs-scale",
        type=positive,
        default=1.0,
        metavar="FLOAT",
        help="multiply every part's number of epochs (0.1 for a quick run; at least one epoch each)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the train/test split, the weights and the shuffling"
    )
    parser.add_argument(
        "--plot", default=DEFAULT_PLOT, metavar="PATH", help=f"the loss curves' PNG (default {DEFAULT_PLOT})"
    )
    parser.add_argument("--no-plot", action="store_true", help="do not draw the loss curves")


def positive(text):
    """An argparse type: a float above zero."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above zero, got {text!r}")
    return value


def run(args):
    """Run the demo with parsed arguments; returns the exit status."""
    start = time.perf_counter()
    missing = missing_package(plot=not args.no_plot)
    if missing:
        print(MISSING.format(package=missing), file=sys.stderr)
        return 2
    data = load_digits(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, _ = data
    print(
        f"fluxpy demo: scikit-learn's handwritten digits, 8×8 pixels scaled to [0, 1], 10 classes; "
        f"{len(x_train)} training and {len(x_test)} test images (seed {args.seed})"
    )
    results = [
        part_linear(data, scaled(LINEAR_STEPS, args.epochs_scale), rng),
        part_mlp(data, scaled(MLP_EPOCHS, args.epochs_scale), rng),
        part_cnn(data, scaled(CNN_EPOCHS, args.epochs_scale), rng),
    ]
    status = 0 if args.no_plot else save_plot(results, args.plot)
    summary(results, time.perf_counter() - start)
    return status


def missing_package(plot=True):
    """The first distribution the demo needs that cannot be imported, or None."""
    for module, package in NEEDS if plot else NEEDS[:1]:
        try:
            importlib.import_module(module)
        except ImportError:
            return package
    return None


def scaled(n, scale):
    """``n`` epochs times ``--epochs-scale``, at least one."""
    return max(1, round(n * scale))


def load_digits(seed):
    """``(x_train, y_train, x_test, y_test)``: 80/20, stratified by class, pixels scaled to [0, 1].

    >>> x_train, y_train, x_test, y_test = load_digits(seed=0)
    >>> x_train.shape, x_test.shape, float(x_train.min()), float(x_train.max()), sorted(set(y_test))[-1]
    ((1437, 64), (360, 64), 0.0, 1.0, np.int64(9))
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = (digits.data / 16).astype(np.float32)  # pixel values are 0..16
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, stratify=digits.target, random_state=seed
    )
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------------------------------------
# Part 1: the seeds' "Building Simple Models", a linear regression with global weights. Regressing on
# one-hot targets makes it a classifier: the predicted digit is the largest of the ten outputs.

W = np.zeros((10, 64), dtype=np.float32)
b = np.zeros(10, dtype=np.float32)


def predict(x):
    return x @ W.T + b  # the seeds' W*x .+ b, for images as rows (as fx.Dense takes them)


def loss(x, y):
    yhat = predict(x)
    return np.sum((y - yhat) ** 2) / len(x)


def part_linear(data, steps, rng, lr=0.05):
    heading("1. Linear regression by hand: global W and b, implicit parameters, gradient descent")
    x, y, x_test, y_test = data
    start = time.perf_counter()
    W[...] = rng.normal(0, 0.01, W.shape)  # fresh weights, in place: predict reads the globals
    b[...] = 0
    targets = fx.onehot(y, range(10))
    ps = fx.params(W, b)
    losses = []
    bar = progress(range(steps), "linear", unit="step")
    for _ in bar:
        l, gs = fx.withgradient(lambda: loss(x, targets), ps)  # the seeds' gradient(() -> loss(x, y), ps)
        for p in ps:
            p -= lr * gs[p]  # the seeds' W .-= 0.1 .* gs[W], for W and b: in place, the globals change
        losses.append(float(l))
        bar.set_postfix(loss=f"{l:.4f}", refresh=False)
    accuracy = np.mean(fx.onecold(predict(x_test)) == y_test)
    result = report("linear regression", accuracy, start, losses, "squared error", "full-batch step")
    print("\nWhat fluxpy generated for loss(x, y), the forward pass and its pullback:\n")
    show_source(fx.adjoint_source(loss))
    return result


# ---------------------------------------------------------------------------------------------------------
# Parts 2 and 3: layers, a loss on the model, an optimiser, mini-batches and fx.train (Flux's train!).


def cross_entropy(model, x, y):
    return fx.losses.logitcrossentropy(model(x), y)


def part_mlp(data, epochs, rng):
    heading("2. A multilayer perceptron: fx.Chain of fx.Dense layers, Adam, fx.DataLoader, fx.train")
    x, y, x_test, y_test = data
    start = time.perf_counter()
    model = fx.Chain(fx.Dense(64, 64, fx.relu, rng=rng), fx.Dense(64, 10, rng=rng))
    print(model)
    loader = fx.DataLoader((x, fx.onehot(y, range(10))), batchsize=32, shuffle=True, rng=rng)
    opt_state = fx.setup(fx.optimise.Adam(0.003), model)
    losses = fit(model, loader, opt_state, epochs, "MLP")
    accuracy = np.mean(fx.onecold(model(x_test)) == y_test)
    return report("MLP", accuracy, start, losses, "cross-entropy", "epoch")


def part_cnn(data, epochs, rng):
    heading("3. A small CNN: fx.Conv, fx.MaxPool, fx.flatten, fx.Dense on (N, 1, 8, 8) images")
    x, y, x_test, y_test = data
    images, test_images = x.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)  # NCHW
    start = time.perf_counter()
    model = fx.Chain(
        fx.Conv((3, 3), 1, 32, fx.relu, pad=1, rng=rng),  # 32 × 8 × 8
        fx.MaxPool((2, 2)),  # 32 × 4 × 4
        fx.Conv((3, 3), 32, 64, fx.relu, pad=1, rng=rng),  # 64 × 4 × 4
        fx.MaxPool((2, 2)),  # 64 × 2 × 2
        fx.flatten,  # 256
        fx.Dense(256, 10, rng=rng),
    )
    print(model)
    loader = fx.DataLoader((images, fx.onehot(y, range(10))), batchsize=32, shuffle=True, rng=rng)
    opt_state = fx.setup(fx.optimise.Adam(0.003), model)
    losses = fit(model, loader, opt_state, epochs, "CNN")
    accuracy = np.mean(fx.onecold(model(test_images)) == y_test)
    return report("CNN", accuracy, start, losses, "cross-entropy", "epoch")


def fit(model, loader, opt_state, epochs, name):
    """Train for ``epochs`` passes over ``loader``; the mean training loss of each epoch."""
    losses = []
    bar = progress(range(epochs), name, unit="epoch")
    for _ in bar:
        batch_losses = fx.train(cross_entropy, model, loader, opt_state, progress=False)
        losses.append(float(np.mean(batch_losses)))
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    return losses


# ---------------------------------------------------------------------------------------------------------
# Output: headings, progress bars, results, the summary table, the loss curves


class Result(NamedTuple):
    name: str
    accuracy: float  # on the test set
    seconds: float  # wall time: building, training, testing
    losses: list  # the training loss at each step or epoch
    loss_name: str
    per: str  # "epoch" or "full-batch step"


def heading(text):
    print(f"\n{text}\n{'-' * len(text)}", flush=True)


def report(name, accuracy, start, losses, loss_name, per):
    result = Result(name, float(accuracy), time.perf_counter() - start, losses, loss_name, per)
    print(f"{name}: test accuracy {result.accuracy:.1%}, wall time {result.seconds:.1f} s", flush=True)
    return result


def summary(results, total):
    heading("Summary")
    print(f"{'part':<24}{'test accuracy':>14}{'wall time':>12}")
    for i, r in enumerate(results, 1):
        print(f"{f'{i}. {r.name}':<24}{r.accuracy:>14.1%}{r.seconds:>10.1f} s")
    print(f"{'total (with imports, data, plot)':<38}{total:>10.1f} s")


class LogLines:
    """A file for tqdm where stderr is not a terminal (a log, a pipe, a CI job): every refresh of the bar
    becomes a line of its own, instead of carriage returns that overwrite one line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        text = text.replace("\r", "").rstrip()
        if text:
            self.stream.write(text + "\n")

    def flush(self):
        self.stream.flush()


def progress(iterable, name, unit):
    """A tqdm progress bar on stderr; off a terminal, a plain line at the start, the end and every 10 s."""
    from tqdm import tqdm

    sys.stdout.flush()  # what was printed comes first, where stdout and stderr go to the same place
    isatty = getattr(sys.stderr, "isatty", None)
    if isatty and isatty():
        return tqdm(iterable, desc=name, unit=unit, file=sys.stderr, leave=True)
    lines = LogLines(sys.stderr)
    return tqdm(iterable, desc=name, unit=unit, file=lines, ascii=True, ncols=80, mininterval=10)


def show_source(text):
    """Print generated source, highlighted on a terminal as ``fluxpy adjoint`` does."""
    from .cli import show

    show(text)


def save_plot(results, path):
    """Draw the loss curves to ``path``; the exit status (1 where the file cannot be written)."""
    try:
        plot_losses(results, path)
    except OSError as error:
        print(PLOT_FAILED.format(path=path, error=error), file=sys.stderr)
        return 1
    print(f"\nLoss curves: {path}")
    return 0


def plot_losses(results, path):
    """One figure, a panel per part: the training loss against steps or epochs."""
    from matplotlib.figure import Figure  # no pyplot: no backend to choose, no display, no global state

    fig = Figure(figsize=(12, 3.6), layout="constrained")
    for i, (ax, r) in enumerate(zip(fig.subplots(1, len(results)), results, strict=True), 1):
        x = np.arange(1, len(r.losses) + 1)
        ax.plot(x, r.losses, marker="." if len(x) <= 50 else None, color=f"C{i - 1}")
        if r.loss_name == "cross-entropy":
            ax.set_yscale("log")  # it falls by orders of magnitude
        ax.set_title(f"{i}. {r.name}: {r.accuracy:.1%} on the test set")
        ax.set_xlabel(r.per)
        ax.set_ylabel(f"training loss ({r.loss_name})")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("fluxpy demo: training on scikit-learn's handwritten digits")
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=100)
