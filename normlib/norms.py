"""``make_norm``: build a normalization layer by name, for models with a ``norm=`` argument.

Later chapters add layer, instance and group normalization and RMSNorm to this table.
"""

from torch import nn

from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d

BACKENDS = ("normlib", "torch")
_BATCH_NORMS = {
    "normlib": {1: BatchNorm1d, 2: BatchNorm2d, 3: BatchNorm3d},
    "torch": {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d},
}


def _batch_norm(num_channels, spatial_dims=0, backend="normlib", **kwargs):
    cls = _BATCH_NORMS[backend].get(max(spatial_dims, 1)) if spatial_dims in (0, 1, 2, 3) else None
    if cls is None:
        raise ValueError(f"make_norm('bn'): spatial_dims must be 0, 1, 2 or 3, got {spatial_dims!r}")
    return cls(num_channels, **kwargs)


def _identity(num_channels, spatial_dims=0, backend="normlib", **kwargs):
    if kwargs:
        raise TypeError(f"make_norm('none') takes no options, got {sorted(kwargs)}")
    return nn.Identity()


NORMS = {"none": _identity, "bn": _batch_norm}


def make_norm(kind, num_channels, spatial_dims=0, backend="normlib", **kwargs):
    """A normalization layer for ``num_channels`` channels, chosen by name.

    ``spatial_dims`` is 0 for (N, C) features, 1 for (N, C, L), 2 for images, 3 for volumes.
    ``backend="normlib"`` builds this book's layers; ``backend="torch"`` builds their ``torch.nn``
    twins (the same numbers, computed by PyTorch's fused kernels, faster in long experiments).
    Extra keyword arguments go to the layer (e.g. ``momentum=None``).

    >>> make_norm("bn", 16, spatial_dims=2)
    BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """
    if not isinstance(kind, str):
        raise TypeError(f"make_norm: kind must be a string such as 'bn', got {type(kind).__name__}")
    try:
        factory = NORMS[kind.lower()]
    except KeyError:
        raise ValueError(f"make_norm: unknown kind {kind!r}; known kinds: {sorted(NORMS)}") from None
    if backend not in BACKENDS:
        raise ValueError(f"make_norm: backend must be one of {BACKENDS}, got {backend!r}")
    if isinstance(num_channels, bool) or not isinstance(num_channels, int) or num_channels < 1:
        raise ValueError(f"make_norm: num_channels must be a positive int, got {num_channels!r}")
    if isinstance(spatial_dims, bool) or spatial_dims not in (0, 1, 2, 3) \
            or not isinstance(spatial_dims, int):
        raise ValueError(f"make_norm: spatial_dims must be 0, 1, 2 or 3, got {spatial_dims!r}")
    return factory(num_channels, spatial_dims, backend, **kwargs)
