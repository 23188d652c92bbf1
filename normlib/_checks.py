"""Argument checks for normlib's functions and layers, kept here so that the math reads alone.

Every message names who is speaking (the function or class), the argument, what was expected and
what was received.  A wrong type is a ``TypeError``, a wrong value a ``ValueError``.
"""

import math
import numbers

import torch


def check_int(who, name, value, minimum=1):
    """An int (not a bool) ≥ ``minimum``; returned as a plain int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{who}: {name} must be ≥ {minimum}, got {value}")
    return int(value)


def check_bool(who, name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be True or False, got {value!r}")


def check_eps(who, eps):
    """A finite number ≥ 0 (a layer also checks eps > 0 where a variance can be 0)."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{who}: eps must be a number ≥ 0, got {type(eps).__name__}")
    if not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f"{who}: eps must be a finite number ≥ 0, got {eps!r}")


def check_momentum(who, momentum):
    if momentum is None:
        return
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"{who}: momentum must be a number in [0, 1] or None, "
                        f"got {type(momentum).__name__}")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{who}: momentum must be in [0, 1] or None, got {momentum}")


def check_dtype(who, dtype):
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"{who}: dtype must be a floating-point torch.dtype (e.g. torch.float32) "
                        f"or None, got {dtype!r}")


def check_shape(who, name, shape):
    """``normalized_shape``: an int or a non-empty sequence of positive ints; returned as a tuple."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{who}: {name} must be an int or a sequence of ints, "
                        f"got {type(shape).__name__}") from None
    if not shape:
        raise ValueError(f"{who}: {name} must name at least one dimension, got ()")
    for size in shape:
        check_int(who, f"every size in {name}", size)
    return tuple(int(s) for s in shape)


def check_float_tensor(who, x, name="x"):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{who}: {name} must be a floating-point tensor, got dtype {x.dtype}")


def check_dims(who, x, dims):
    """``dims`` for reducing ``x``: an int or a non-empty sequence of distinct axes, as a tuple of
    non-negative ints."""
    check_float_tensor(who, x)
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


def check_stat(who, value, x, name):
    """A statistic for ``standardize``: a number, or a tensor that broadcasts against ``x``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=x.dtype, device=x.device)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{who}: {name} must be a tensor or a number, got {type(value).__name__}")
    # broadcasts to x's shape: no more axes than x, each one of size 1 or x's size, right-aligned
    fits = value.dim() <= x.dim() and all(v in (1, s) for v, s in zip(reversed(value.shape),
                                                                      reversed(x.shape)))
    if not fits:
        raise ValueError(f"{who}: {name} of shape {tuple(value.shape)} does not broadcast "
                         f"against x of shape {tuple(x.shape)}; keep reduced axes (keepdim=True)")
    return value


def check_no_zero_division(who, var, eps):
    if eps == 0 and bool((var == 0).any()):
        raise ValueError(f"{who}: a variance is 0 and eps=0, so x / sqrt(var + eps) divides by "
                         "zero (NaN or inf); use eps > 0")
