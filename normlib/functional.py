"""The one idea behind every method in this book: standardize over a set of axes.

For an input ``x`` and a set of axes ``dims``,

    normalize(x, dims) = (x - mean(x, dims)) / sqrt(var(x, dims) + eps)

with the *biased* variance (divide by the number of values).  The methods differ only in ``dims``:
for an image batch of shape (N, C, H, W)

    batch norm     dims = (0, 2, 3)   one mean per channel, over the batch and the pixels
    layer norm     dims = (1, 2, 3)   one mean per sample, over channels and pixels
    instance norm  dims = (2, 3)      one mean per sample and channel
    group norm     channels split into groups, then per sample and group
"""

import torch


def _check_dims(x, dims, who):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who}: x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{who}: x must be a floating-point tensor, got dtype {x.dtype}")
    if isinstance(dims, int):
        dims = (dims,)
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(f"{who}: dims must be an int or a sequence of ints, got {dims!r}") from None
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"{who}: dims must be a non-empty sequence of ints, got {dims!r}")
    ndim = x.dim()
    norm = tuple(d % ndim if -ndim <= d < ndim else None for d in dims)
    if None in norm:
        raise ValueError(f"{who}: dims {dims} out of range for an input with {ndim} dimensions")
    if len(set(norm)) != len(norm):
        raise ValueError(f"{who}: dims {dims} name the same axis twice")
    return norm


def moments(x, dims):
    """Mean and biased variance of ``x`` over ``dims``, kept broadcastable against ``x``."""
    dims = _check_dims(x, dims, "moments")
    var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)  # one pass for both
    return mean, var


def standardize(x, mean, var, eps=1e-5):
    """``(x - mean) / sqrt(var + eps)`` for statistics that are already known."""
    return (x - mean) * torch.rsqrt(var + eps)


def normalize(x, dims, eps=1e-5):
    """Standardize ``x`` over the axes ``dims``: mean 0 and variance ``var/(var+eps)`` there.

    >>> x = torch.randn(8, 3, 4, 4)
    >>> y = normalize(x, dims=(0, 2, 3))          # batch norm's axes
    >>> y.mean(dim=(0, 2, 3)).abs().max() < 1e-6
    tensor(True)
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"normalize: eps must be a number ≥ 0, got {eps!r}")
    dims = _check_dims(x, dims, "normalize")
    count = 1
    for d in dims:
        count *= x.shape[d]
    if count < 1:
        raise ValueError(f"normalize: no values to normalize over dims {dims} of shape {tuple(x.shape)}")
    mean, var = moments(x, dims)
    return standardize(x, mean, var, eps)
