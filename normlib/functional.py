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

import math
import numbers

import torch


def _check_eps(eps, who):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{who}: eps must be a number ≥ 0, got {type(eps).__name__}")
    if not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f"{who}: eps must be a finite number ≥ 0, got {eps!r}")


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
    """Mean and biased variance of ``x`` over ``dims``, kept broadcastable against ``x``.

    An empty reduction (no values over ``dims``) is a ``ValueError``, not torch's NaN.
    """
    dims = _check_dims(x, dims, "moments")
    if math.prod(x.shape[d] for d in dims) == 0:  # the mean would be NaN
        raise ValueError(f"moments: no values to average over dims {dims} of shape {tuple(x.shape)}")
    # Two passes: the mean, then the mean squared deviation from it.  As accurate as one-pass
    # torch.var_mean (Welford's algorithm) here, and on the CPU several times faster.
    mean = x.mean(dim=dims, keepdim=True)
    var = torch.square(x - mean).mean(dim=dims, keepdim=True)
    return mean, var


def _standardize(x, mean, var, eps):
    return (x - mean) * torch.rsqrt(var + eps)


def _check_stat(value, x, name):
    """A statistic for :func:`standardize`: a number, or a tensor that broadcasts against ``x``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=x.dtype, device=x.device)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"standardize: {name} must be a tensor or a number, "
                        f"got {type(value).__name__}")
    # broadcasts to x's shape: no more axes than x, each one of size 1 or x's size, right-aligned
    fits = value.dim() <= x.dim() and all(v in (1, s) for v, s in zip(reversed(value.shape),
                                                                      reversed(x.shape)))
    if not fits:
        raise ValueError(f"standardize: {name} of shape {tuple(value.shape)} does not broadcast "
                         f"against x of shape {tuple(x.shape)}; keep reduced axes (keepdim=True)")
    return value


def _check_no_zero_division(var, eps, who):
    if eps == 0 and bool((var == 0).any()):
        raise ValueError(f"{who}: a variance is 0 and eps=0, so x / sqrt(var + eps) divides by "
                         "zero (NaN or inf); use eps > 0")


def standardize(x, mean, var, eps=1e-5):
    """``(x - mean) / sqrt(var + eps)`` for statistics that are already known.

    ``mean`` and ``var`` are numbers or tensors that broadcast against ``x``; ``var`` must be ≥ 0.
    NaN in ``x``, ``mean`` or ``var`` propagates, as in torch.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"standardize: x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"standardize: x must be a floating-point tensor, got dtype {x.dtype}")
    _check_eps(eps, "standardize")
    mean, var = _check_stat(mean, x, "mean"), _check_stat(var, x, "var")
    if bool((var < 0).any()):
        raise ValueError("standardize: var must be ≥ 0 everywhere, got negative values")
    _check_no_zero_division(var, eps, "standardize")
    return _standardize(x, mean, var, eps)


def normalize(x, dims, eps=1e-5):
    """Standardize ``x`` over the axes ``dims``: mean 0 and variance ``var/(var+eps)`` there.

    >>> x = torch.randn(8, 3, 4, 4)
    >>> y = normalize(x, dims=(0, 2, 3))          # batch norm's axes
    >>> y.mean(dim=(0, 2, 3)).abs().max() < 1e-6
    tensor(True)

    ``eps=0`` standardizes exactly, and is refused (``ValueError``) where a slice is constant,
    which would divide by zero.  NaN and inf in ``x`` propagate to their slice, as in torch.
    """
    _check_eps(eps, "normalize")
    dims = _check_dims(x, dims, "normalize")
    count = 1
    for d in dims:
        count *= x.shape[d]
    if count < 1:
        raise ValueError(f"normalize: no values to normalize over dims {dims} of shape {tuple(x.shape)}")
    mean, var = moments(x, dims)
    _check_no_zero_division(var, eps, "normalize")
    return _standardize(x, mean, var, eps)
