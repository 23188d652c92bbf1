"""``make_norm``: build any normalization layer by name, for models with a ``norm=`` argument.

One table, ``NORMS``, says for each kind which layer it is for (N, C) features (``spatial_dims=0``)
and for (N, C, *spatial) feature maps (``spatial_dims`` 1, 2 or 3), and whether it has a learnable
shift β.  The same table builds normlib's layers (``backend="normlib"``) and their ``torch.nn``
twins (``backend="torch"``: the same numbers from PyTorch's fused kernels, for long experiments);
the classes have the same names in both.

    kind    (N, C)                   (N, C, *spatial)
    "none"  Identity                 Identity
    "bn"    BatchNorm1d(C)           BatchNorm{1,2,3}d(C)
    "ln"    LayerNorm(C)             GroupNorm(1, C): each sample over C and space, with
                                     per-channel γ and β (the usual layer norm of conv features)
    "in"    (refused: no space)      InstanceNorm{1,2,3}d(C)
    "gn"    GroupNorm(G, C)          GroupNorm(G, C); num_groups=G, by default the most
                                     groups (≤ 32) with two or more channels each
    "rms"   RMSNorm(C)               (refused: no torch twin normalizes channels-first maps)
"""

from dataclasses import dataclass
from typing import Callable

from torch import nn

from . import layers

BACKENDS = {"normlib": layers, "torch": nn}   # where each backend's classes live


@dataclass(frozen=True)
class NormSpec:
    """One kind of normalization: ``build(classes, C, spatial_dims, **options)`` makes the layer
    from a backend's ``classes`` (``normlib.layers`` or ``torch.nn``); ``has_shift(options)``
    says whether it then carries a learnable shift β."""
    build: Callable
    has_shift: Callable
    spatial_dims: tuple = (0, 1, 2, 3)


# Builders: (a backend's classes, num_channels C, spatial_dims S, **options) -> the layer

def _identity(classes, c, s, **options):
    if options:
        raise TypeError(f"make_norm('none') takes no options, got {sorted(options)}")
    return nn.Identity()


def _batch_norm(classes, c, s, **options):
    return getattr(classes, f"BatchNorm{max(s, 1)}d")(c, **options)     # (N, C) goes to 1d


def _layer_norm(classes, c, s, **options):
    return classes.LayerNorm(c, **options) if s == 0 else classes.GroupNorm(1, c, **options)


def _instance_norm(classes, c, s, **options):
    return getattr(classes, f"InstanceNorm{s}d")(c, **options)


def default_groups(c):
    """The most groups, up to 32, that divide ``c`` channels and keep two or more in each."""
    return max(g for g in range(1, min(32, max(c // 2, 1)) + 1) if c % g == 0)


def _group_norm(classes, c, s, num_groups=None, **options):
    return classes.GroupNorm(default_groups(c) if num_groups is None else num_groups, c, **options)


def _rms_norm(classes, c, s, **options):
    return classes.RMSNorm(c, **options)


def _beta(options, affine=True):
    """Whether the layer has β: unless the options turn off its affine map (``affine`` or
    ``elementwise_affine``; ``affine`` is the layer's default) or its bias."""
    affine = options.get("affine", options.get("elementwise_affine", affine))
    return bool(affine) and bool(options.get("bias", True))


def _no_beta(options):
    return False


NORMS = {
    "none": NormSpec(_identity, _no_beta),
    "bn": NormSpec(_batch_norm, _beta),
    "ln": NormSpec(_layer_norm, _beta),
    "in": NormSpec(_instance_norm, lambda options: _beta(options, affine=False),
                   spatial_dims=(1, 2, 3)),
    "gn": NormSpec(_group_norm, _beta),
    "rms": NormSpec(_rms_norm, _no_beta, spatial_dims=(0,)),
}


def _spec(kind, who="make_norm"):
    if not isinstance(kind, str):
        raise TypeError(f"{who}: kind must be a string such as 'bn', got {type(kind).__name__}")
    try:
        return NORMS[kind.lower()]
    except KeyError:
        raise ValueError(f"{who}: unknown kind {kind!r}; known kinds: {sorted(NORMS)}") from None


def has_shift(kind, **options):
    """Whether ``make_norm(kind, ..., **options)`` has its own learnable shift β.  A linear or
    convolutional layer directly before such a normalization needs no bias: for batch and instance
    norm the centring cancels any bias exactly, and for the others β takes over its role."""
    return _spec(kind, "has_shift").has_shift(options)


def make_norm(kind, num_channels, spatial_dims=0, backend="normlib", **options):
    """A normalization layer for ``num_channels`` channels, chosen by name (case-insensitive).

    ``spatial_dims`` is 0 for (N, C) features, 1 for (N, C, L), 2 for images, 3 for volumes.
    ``backend="normlib"`` builds this book's layers; ``backend="torch"`` builds their ``torch.nn``
    twins.  Extra keyword arguments go to the layer (e.g. ``momentum=None``, ``num_groups=4``).

    >>> make_norm("bn", 16, spatial_dims=2)
    BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """
    spec = _spec(kind)
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"make_norm: backend must be one of {tuple(BACKENDS)}, got {backend!r}")
    if isinstance(num_channels, bool) or not isinstance(num_channels, int) or num_channels < 1:
        raise ValueError(f"make_norm: num_channels must be a positive int, got {num_channels!r}")
    if isinstance(spatial_dims, bool) or not isinstance(spatial_dims, int) \
            or spatial_dims not in (0, 1, 2, 3):
        raise ValueError(f"make_norm: spatial_dims must be 0, 1, 2 or 3, got {spatial_dims!r}")
    if spatial_dims not in spec.spatial_dims:
        raise ValueError(f"make_norm({kind!r}): spatial_dims must be one of {spec.spatial_dims}, "
                         f"got {spatial_dims}")
    return spec.build(BACKENDS[backend], num_channels, spatial_dims, **options)
