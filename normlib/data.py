"""Data the chapters use: generated or shipped with a package, never downloaded."""

import json
import math
import numbers
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


def volumes(n, size=24, seed=0, objects=(1, 3), radius=(0.15, 0.3), decoys=2, noise=0.3,
            offset=2.0, gain=4.0, device=None, dtype=torch.float32):
    """``n`` synthetic 3D volumes to segment, and their masks, generated from ``seed``.

    Each volume holds 1 to 3 (``objects``) bright ellipsoids to segment, and up to ``decoys``
    fainter ones that are not to be segmented: an object is told from a decoy by its brightness
    *relative to the rest of the same volume*.  Intensities vary from volume to volume, as scans
    from different machines or settings do, so each volume has its own mean and spread::

        volume = offset_v + gain_v · (clean + noise · ε)

    where ``clean`` is 1 inside the objects, 0.5 inside the decoys and 0 elsewhere (an object
    wins where they overlap), ε is standard normal noise per voxel, ``offset_v`` is uniform in
    [−``offset``, ``offset``] and ``gain_v`` log-uniform in [1/``gain``, ``gain``].

    - ``size``: the side of a cube, or (D, H, W); each at least 4.
    - ``objects``: (fewest, most) objects per volume, drawn uniformly; an int for a fixed number.
    - ``radius``: (smallest, largest) radius, as a fraction of the volume's smallest side; each
      ellipsoid's three semi-axes are that radius times factors between 0.75 and 1.33.  Centres
      lie in the middle 60% of each axis.  Decoys are drawn like objects.
    - ``decoys``: the most decoys per volume (from 0 to it, uniformly).
    - ``noise``: the noise's standard deviation, relative to the objects' contrast of 1.

    Returns ``(x, masks)``: ``x`` of shape (n, 1, D, H, W) and ``dtype``, ``masks`` of shape
    (n, D, H, W), long, 1 on objects and 0 elsewhere, both on ``device`` (by default the one
    chosen by :func:`normlib.setup`).  The same ``seed`` gives the same volumes on every machine,
    and the first k of ``volumes(n, ...)`` are ``volumes(k, ...)``: draw a training set and a
    held-out set from two seeds.
    """
    who = "volumes"
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{who}: n must be a positive int, got {n!r}")
    shape = _volume_shape(size)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{who}: seed must be a non-negative int, got {seed!r}")
    fewest, most = _int_range(who, "objects", objects, minimum=1)
    small, large = _real_range(who, "radius", radius, 0.0, 0.5)
    _, most_decoys = _int_range(who, "decoys", (0, decoys), minimum=0)
    for name, value, low in (("noise", noise, 0.0), ("offset", offset, 0.0), ("gain", gain, 1.0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not low <= value < math.inf:
            raise ValueError(f"{who}: {name} must be a finite number ≥ {low:g}, got {value!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"{who}: dtype must be a floating-point torch.dtype, got {dtype!r}")

    g = torch.Generator().manual_seed(seed)
    uniform = lambda lo, hi, k=1: lo + (hi - lo) * torch.rand(k, generator=g, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(*(torch.arange(s, dtype=torch.float64) + 0.5 for s in shape),
                                      indexing="ij"))          # (3, D, H, W): voxel centres
    extent = torch.tensor(shape, dtype=torch.float64).reshape(3, 1, 1, 1)

    def ellipsoid():
        centre = uniform(0.2, 0.8, 3).reshape(3, 1, 1, 1) * extent
        axes = uniform(small, large) * min(shape) * uniform(0.75, 4 / 3, 3).reshape(3, 1, 1, 1)
        return ((grid - centre) / axes).square().sum(0) <= 1

    xs, masks = [], []
    for _ in range(n):   # one volume at a time, so that a prefix of the draws is a smaller set
        count = int(torch.randint(fewest, most + 1, (1,), generator=g))
        mask = torch.zeros(shape, dtype=torch.bool)
        for _ in range(count):
            mask |= ellipsoid()
        clean = mask.to(torch.float64)
        for _ in range(int(torch.randint(0, most_decoys + 1, (1,), generator=g))):
            clean = torch.maximum(clean, 0.5 * ellipsoid())
        level = uniform(-offset, offset)
        scale = math.exp(uniform(-math.log(gain), math.log(gain)).item())
        eps = torch.randn(shape, generator=g, dtype=torch.float64)
        xs.append(level + scale * (clean + noise * eps))
        masks.append(mask.long())
    device = _device(device)
    return (torch.stack(xs).unsqueeze(1).to(device=device, dtype=dtype),
            torch.stack(masks).to(device))


def _volume_shape(size):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size,) * 3
    if not (isinstance(size, (tuple, list)) and len(size) == 3 and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 4 for s in size)):
        raise ValueError(f"volumes: size must be an int ≥ 4 or three of them (D, H, W), "
                         f"got {size!r}")
    return tuple(int(s) for s in size)


def _int_range(who, name, value, minimum):
    """``value``, an int or a pair (low, high) of ints with minimum ≤ low ≤ high, as a pair."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            and minimum <= pair[0] <= pair[1]):
        raise ValueError(f"{who}: {name} must be an int ≥ {minimum} or a pair (low, high) of them "
                         f"with low ≤ high, got {value!r}")
    return tuple(pair)


def _real_range(who, name, value, low, high):
    """``value``, a pair (a, b) of numbers with low < a ≤ b ≤ high."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
            and low < value[0] <= value[1] <= high):
        raise ValueError(f"{who}: {name} must be a pair (smallest, largest) of numbers in "
                         f"({low:g}, {high:g}], smallest first, got {value!r}")
    return float(value[0]), float(value[1])


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
