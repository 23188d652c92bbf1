"""Data the chapters use: generated or shipped with a package, never downloaded."""

import json
from collections import namedtuple
from importlib import resources

import numpy as np
import torch

Split = namedtuple("Split", "X_train y_train X_test y_test")


def digits(n_test=500, seed=0, device=None, dtype=torch.float32):
    """scikit-learn's 8×8 handwritten digits (1,797 images, 10 classes), shipped with the package.

    Returns a :class:`Split` of flat 64-pixel inputs, standardized with the *training* set's
    per-pixel mean and standard deviation (constant pixels are left at 0), and integer labels.
    The split is a fixed random permutation drawn from ``seed``.  The tensors are on ``device``,
    by default the one chosen by :func:`normlib.setup` (the CPU unless asked otherwise).
    """
    if isinstance(n_test, bool) or not isinstance(n_test, int) or not 0 < n_test < 1797:
        raise ValueError(f"n_test must be an int between 1 and 1796, got {n_test!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"digits: seed must be a non-negative int, got {seed!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"digits: dtype must be a floating-point torch.dtype, got {dtype!r}")
    from sklearn.datasets import load_digits  # imported here: it takes a moment
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(X))
    test, train = order[:n_test], order[n_test:]
    mean, std = X[train].mean(0), X[train].std(0)
    std[std == 0] = 1.0
    X = (X - mean) / std
    device = _device(device)
    as_x = lambda a: torch.as_tensor(a, dtype=dtype, device=device)
    as_y = lambda a: torch.as_tensor(a, dtype=torch.long, device=device)
    return Split(as_x(X[train]), as_y(y[train]), as_x(X[test]), as_y(y[test]))


def holdout(split, n, seed=0):
    """Hold out ``n`` training examples of ``split`` as a validation set, for choosing things.

    Returns a :class:`Split` whose training part is the rest of ``split``'s training set and whose
    *test* part is the held-out validation set, so that the same training code can tune on it.
    ``split``'s test set is not touched: choose a learning rate (or anything else) on the returned
    split, then train on the whole of ``split`` with that choice and report its test set once.
    (The inputs were standardized with statistics of the whole training set, held-out part
    included; that uses the pixels, never the labels.)
    """
    if not isinstance(split, Split):
        raise TypeError(f"holdout: split must be a normlib.data.Split, got {type(split).__name__}")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n < len(split.X_train):
        raise ValueError(f"holdout: n must be an int between 1 and {len(split.X_train) - 1} "
                         f"(the training set's size less one), got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"holdout: seed must be a non-negative int, got {seed!r}")
    order = torch.randperm(len(split.X_train), generator=torch.Generator().manual_seed(seed))
    val, train = order[:n].to(split.X_train.device), order[n:].to(split.X_train.device)
    return Split(split.X_train[train], split.y_train[train], split.X_train[val], split.y_train[val])


def record(name):
    """The record ``name`` that a script in ``benchmarks/`` wrote and a chapter reads, e.g. chapter 3's
    ten-seed runs (``record("ch3_miniature")``, written by ``benchmarks/ch3_miniature.py``).

    Records ship inside normlib (``normlib/records/``), so a chapter finds them wherever normlib is
    installed, on Colab too; nothing is downloaded.
    """
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ValueError(f"record: name must be a record's name such as 'ch3_miniature', got {name!r}")
    path = resources.files("normlib").joinpath("records", f"{name}.json")
    if not path.is_file():
        known = sorted(p.name.removesuffix(".json") for p in resources.files("normlib").joinpath("records").iterdir()
                       if p.name.endswith(".json"))
        raise ValueError(f"record: no record named {name!r}; known records: {known}")
    return json.loads(path.read_text(encoding="utf-8"))


def _device(device):
    """``device``, or the one chosen by :func:`normlib.setup` when it is None."""
    if device is None:
        from .notebook.session import device as chosen   # the runtime's choice; the CPU before any setup()
        return chosen()
    return torch.device(device)


def minibatches(n, batch_size, generator):
    """Endless shuffled mini-batch index tensors over ``n`` samples (a new permutation per epoch).

    The arguments are checked at the call, not at the first ``next()``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"minibatches: n must be a positive int, got {n!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= n:
        # a batch larger than the data would never be yielded: an endless loop, not an error
        raise ValueError(f"batch_size must be an int between 1 and n={n}, got {batch_size!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"minibatches: generator must be a torch.Generator, "
                        f"got {type(generator).__name__}")
    return _minibatches(n, batch_size, generator)


def _minibatches(n, batch_size, generator):
    while True:
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):  # drop the ragged last batch
            yield perm[start:start + batch_size]
