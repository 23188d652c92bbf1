"""The book's mathematics on one screen: every method is ``normalize(x, dims)`` and an affine map.

For an input ``x`` and a set of axes ``dims``,

    normalize(x, dims) = (x - mean(x, dims)) / sqrt(var(x, dims) + eps)

with the *biased* variance (divide by the number of values).  The methods differ only in ``dims``.
For an image batch of shape (N, C, H, W):

    batch norm     dims = (0, 2, 3)   one mean per channel, over the batch and the pixels
    layer norm     dims = (1, 2, 3)   one mean per sample, over channels and pixels
    instance norm  dims = (2, 3)      one mean per sample and channel
    group norm     split C into G groups of C/G channels, then one mean per sample and group
    RMSNorm        like layer norm, but only divided by the root mean square (no centring)
    sync BN        batch norm's axes for a batch split across processes: each sum over the
                   batch is also summed over the processes

Each layer then scales and shifts every channel (or feature) with learnable γ and β:
``y = γ · x̂ + β``.  Where γ and β have one value per normalized slice (batch, instance and group
norm), the code below computes the whole layer as one multiply and one add per value,

    y = x · a + c,   a = γ / sqrt(var + eps),   c = β − mean · a   (one a and one c per slice),

the scale and shift that chapter 4 folds into the layer before BN.  It is the same function, and
autograd then keeps only x (which exists anyway) for the backward pass, as torch does.  It rounds
differently from ``(x − mean) · a``: where the data sit far from 0 compared with their spread, it
loses about log2(1 + |mean| / σ) bits, the same order as x lost when it was rounded to its dtype.
Layer norm's and RMSNorm's γ has one value per feature, not per slice: they normalize first, then
apply γ and β.

The layers (:mod:`normlib.layers`) check their input, then call one function of this module, and
autograd differentiates it.  ``moments``, ``standardize`` and ``normalize`` check their arguments
(chapters call them directly); ``batch_norm``, ``layer_norm`` and the others trust their caller,
as ``torch.nn.functional`` does.

Note: this ``normalize`` is not ``torch.nn.functional.normalize``, which divides by an Lp norm.
"""

import math

import torch
import torch.nn.functional as F

from . import _checks

LOW_PRECISION = (torch.float16, torch.bfloat16)


# ---- the one idea --------------------------------------------------------------------------

def _normalize(x, dims, eps, center=True, weight=None, bias=None):
    """``weight · (x − mean) / sqrt(var + eps) + bias`` over ``dims``, and the mean and variance.

    With ``center=False`` nothing is subtracted and ``var`` is the mean square (RMSNorm).
    ``weight`` and ``bias`` must have one value per slice (per channel, or per group): they go
    into the scale and shift.  Layer norm's per-feature γ and β go through :func:`_affine`.
    """
    if center:
        mean = _mean(x, dims)
        var = _variance(x, mean, dims)
    else:
        mean, var = None, _mean_square(x, dims)
    return _scale_and_shift(x, mean, var, eps, weight, bias), mean, var


def _variance(x, mean, dims):
    """σ² = mean((x − μ)²) over ``dims``, written so that autograd keeps only ``x`` for backward.

    For any constant c, mean((x − c)²) = σ² + (μ − c)².  So σ² = mean((x − c)²) − (μ − c)² with
    c = μ held constant (detached): the same bits as mean((x − μ)²), since the second term is
    exactly 0, and the same derivatives of every order, since the identity holds for every x.
    ``F.mse_loss`` computes (x − c)² elementwise and differentiates it in one pass.
    """
    c = mean.detach()
    return _mean(F.mse_loss(x, c.expand_as(x), reduction="none"), dims) - (mean - c).square()


def _mean(x, dims):
    """``x.mean(dims, keepdim=True)``, bit for bit, computed as a sum divided by the count: the
    backward pass of a sum only broadcasts the gradient, where a mean's also divides all of it."""
    return x.sum(dims, keepdim=True) / math.prod(x.shape[d] for d in dims)


def _mean_square(x, dims):
    """The mean of ``x²`` over ``dims`` (RMSNorm).  Over the last axis alone it is each row's dot
    product with itself."""
    if dims in ((-1,), (x.dim() - 1,)):
        return torch.linalg.vecdot(x, x).unsqueeze(-1) / x.shape[-1]
    return _mean(x * x, dims)


def _scale_and_shift(x, mean, var, eps, weight=None, bias=None):
    """``(x − μ) · γ / sqrt(var + eps) + β`` as ``x · a + c``, with one scale ``a = γ / sqrt(var + eps)``
    and one shift ``c = β − μ · a`` per slice (γ = 1 and β = 0 when None; no μ when None)."""
    scale = torch.rsqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    shift = None if mean is None else mean.neg() * scale
    if bias is not None:
        shift = bias if shift is None else shift + bias
    y = x * scale
    return y if shift is None else y.add_(shift)


def _affine(x, weight=None, bias=None):
    """``γ · x + β``, each of them optional.

    β is added in place to the product: the backward pass of an addition needs neither operand,
    while ``torch.addcmul``'s would copy ``x`` (it multiplies it by its scalar ``value`` first).
    """
    if weight is None:
        return x if bias is None else x + bias
    y = x * weight
    return y if bias is None else y.add_(bias)


def moments(x, dims):
    """Mean and biased variance of ``x`` over ``dims``, kept broadcastable against ``x``.

    An empty reduction (no values over ``dims``) is a ``ValueError``, not torch's NaN.
    """
    dims = _checks.check_dims("moments", x, dims)
    if math.prod(x.shape[d] for d in dims) == 0:  # the mean would be NaN
        raise ValueError(f"moments: no values to average over dims {dims} of shape {tuple(x.shape)}")
    # Two passes: the mean, then the mean squared deviation from it.  As accurate as one-pass
    # torch.var_mean (Welford's algorithm) here, and on the CPU several times faster.
    mean = x.mean(dim=dims, keepdim=True)
    var = torch.square(x - mean).mean(dim=dims, keepdim=True)
    return mean, var


def standardize(x, mean, var, eps=1e-5):
    """``(x - mean) / sqrt(var + eps)`` for statistics that are already known.

    ``mean`` and ``var`` are numbers or tensors that broadcast against ``x``; ``var`` must be ≥ 0.
    NaN in ``x``, ``mean`` or ``var`` propagates, as in torch.
    """
    _checks.check_float_tensor("standardize", x)
    _checks.check_eps("standardize", eps)
    mean = _checks.check_stat("standardize", mean, x, "mean")
    var = _checks.check_stat("standardize", var, x, "var")
    if bool((var < 0).any()):
        raise ValueError("standardize: var must be ≥ 0 everywhere, got negative values")
    _checks.check_no_zero_division("standardize", var, eps)
    return _scale_and_shift(x, mean, var, eps)


def normalize(x, dims, eps=1e-5, *, center=True):
    """Standardize ``x`` over the axes ``dims``: mean 0 and variance ``var/(var+eps)`` there.

    >>> x = torch.randn(8, 3, 4, 4)
    >>> y = normalize(x, dims=(0, 2, 3))          # batch norm's axes
    >>> y.mean(dim=(0, 2, 3)).abs().max() < 1e-6
    tensor(True)

    ``center=False`` skips the centring and divides by the root mean square (RMSNorm).
    ``eps=0`` standardizes exactly, and is refused (``ValueError``) where a slice is constant,
    which would divide by zero.  NaN and inf in ``x`` propagate to their slice, as in torch.
    """
    _checks.check_eps("normalize", eps)
    dims = _checks.check_dims("normalize", x, dims)
    if math.prod(x.shape[d] for d in dims) < 1:
        raise ValueError(f"normalize: no values to normalize over dims {dims} of shape {tuple(x.shape)}")
    _checks.check_bool("normalize", "center", center)
    y, _, var = _normalize(x, dims, eps, center)
    _checks.check_no_zero_division("normalize", var, eps)
    return y


# ---- the methods: each a few lines over normalize ----------------------------------------------

def _wide(x):
    """Float16/bfloat16 input is computed in float32 and rounded once at the end, as in torch:
    half precision cannot even hold the sums of a large batch."""
    return x.float() if x.dtype in LOW_PRECISION else x


def _per_channel(t, x):
    """A per-channel vector (C,) reshaped to broadcast against (N, C, *spatial): (1, C, 1, ...)."""
    return None if t is None else t.reshape((1, -1) + (1,) * (x.dim() - 2))


def update_running_stats(running_mean, running_var, mean, var, n, momentum):
    """``running ← (1 − m) · running + m · batch``, in place; the variance is made unbiased,
    ``var · n / (n − 1)``, for ``n`` values per channel (as in the BN paper and in torch)."""
    with torch.no_grad():
        unbiased = var.reshape(-1) * (n / (n - 1))
        running_mean.mul_(1 - momentum).add_(mean.reshape(-1).to(running_mean.dtype), alpha=momentum)
        running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype), alpha=momentum)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch norm of (N, C, *spatial): per channel, over the batch and space.

    Training uses the batch's statistics (and updates the running ones, if given); evaluation
    uses the running statistics.  The arguments are ``torch.nn.functional.batch_norm``'s.
    """
    dims = (0, *range(2, x.dim()))                       # every axis but the channels
    weight, bias = _per_channel(weight, x), _per_channel(bias, x)
    if training:
        y, mean, var = _normalize(_wide(x), dims, eps, weight=weight, bias=bias)
        if running_mean is not None:
            update_running_stats(running_mean, running_var, mean, var, x.numel() // x.shape[1],
                                 momentum)
    else:
        mean, var = _per_channel(running_mean, x), _per_channel(running_var, x)
        y = _scale_and_shift(_wide(x), mean, var, eps, weight, bias)
    return y.to(x.dtype)


def sync_batch_norm(x, running_mean, running_var, weight, bias, momentum, eps, sum_over_processes):
    """Batch norm in training for a batch split across processes: ``x`` is this process's shard.

    The one idea: normalize with the moments of the *whole* batch.  Each sum that batch norm takes
    over its batch is also summed over the processes, with ``sum_over_processes(t)`` (the sum of
    ``t`` over them, differentiable: :func:`normlib.distributed.sum_over_processes`):

        n = Σ_k n_k     μ = Σ_k Σ x / n     σ² = Σ_k Σ (x − μ)² / n

    the two passes of :func:`moments`, each over every shard.  (Summing Σx and Σx² in one pass
    and taking σ² = Σx²/n − μ² would save one exchange, but subtracts two large numbers when
    |μ| ≫ σ and loses float32's digits.)  With ``sum_over_processes`` the identity this is
    :func:`batch_norm` in training, bit for bit.  The running statistics, if given, are updated
    with the whole batch's mean and unbiased variance, equally in every process.
    """
    dims = (0, *range(2, x.dim()))
    xs = _wide(x)
    n = int(sum_over_processes(torch.tensor(x.numel() // x.shape[1], device=x.device)))
    if n <= 1:
        raise ValueError(f"sync_batch_norm: expected more than 1 value per channel over all "
                         f"processes to compute batch statistics, got {n} (input of shape "
                         f"{tuple(x.shape)} in this process)")
    mean = sum_over_processes(xs.sum(dims, keepdim=True)) / n       # μ of the whole batch
    c = mean.detach()                                                 # as in _variance
    squares = F.mse_loss(xs, c.expand_as(xs), reduction="none")       # (x − c)²
    var = sum_over_processes(squares.sum(dims, keepdim=True)) / n - (mean - c).square()   # σ², biased
    y = _scale_and_shift(xs, mean, var, eps, _per_channel(weight, x), _per_channel(bias, x))
    if running_mean is not None:
        update_running_stats(running_mean, running_var, mean, var, n, momentum)
    return y.to(x.dtype)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance norm of (N, C, *spatial): per sample and channel, over space.

    Running statistics, if given, follow the batch average of the instances' statistics.
    """
    dims = tuple(range(2, x.dim()))                      # space only
    weight, bias = _per_channel(weight, x), _per_channel(bias, x)
    if not use_input_stats:
        mean, var = _per_channel(running_mean, x), _per_channel(running_var, x)
        return _scale_and_shift(_wide(x), mean, var, eps, weight, bias).to(x.dtype)
    y, mean, var = _normalize(_wide(x), dims, eps, weight=weight, bias=bias)
    if running_mean is not None:
        update_running_stats(running_mean, running_var, mean.mean(0), var.mean(0),
                             math.prod(x.shape[2:]), momentum)
    return y.to(x.dtype)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer norm: per sample, over the trailing ``normalized_shape`` axes (e.g. the features)."""
    rows = _wide(x).flatten(-len(normalized_shape))      # (*, the normalized values)
    x_hat = _normalize(rows, (-1,), eps)[0].view(x.shape)
    return _affine(x_hat, weight, bias).to(x.dtype)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Group norm of (N, C, *spatial): split the C channels into ``num_groups`` groups, then
    normalize each sample's group over its channels and space."""
    n, c, *space = x.shape
    groups = _wide(x).reshape(n, num_groups, c // num_groups, *space)
    dims = tuple(range(2, groups.dim()))                 # a group's channels, and space
    shape = (1, num_groups, c // num_groups) + (1,) * len(space)
    weight = None if weight is None else weight.reshape(shape)
    bias = None if bias is None else bias.reshape(shape)
    return _normalize(groups, dims, eps, weight=weight, bias=bias)[0].reshape(x.shape).to(x.dtype)


def rms_norm(x, normalized_shape, weight=None, eps=None):
    """RMSNorm: divide by the root mean square over the trailing axes, without centring.
    ``eps=None`` is the machine epsilon of x's dtype, as in torch."""
    eps = torch.finfo(x.dtype).eps if eps is None else eps
    rows = _wide(x).flatten(-len(normalized_shape))      # (*, the normalized values)
    x_hat = _normalize(rows, (-1,), eps, center=False)[0].view(x.shape)
    return _affine(x_hat, weight).to(x.dtype)


def weight_norm(v, g, dim=0):
    """Weight normalization's reparametrization ``w = g · v / ‖v‖``: the direction of ``v`` with
    length ``g``.  ``‖v‖`` is taken over every axis but ``dim`` (one length per output unit for
    ``dim=0``); ``dim=None`` or ``-1`` takes it over the whole tensor, as in torch."""
    every_axis_but_dim = [d for d in range(v.dim()) if d != dim]
    return v * (g / torch.linalg.vector_norm(v, dim=every_axis_but_dim, keepdim=True))


# ---- chapter 3.4: batch norm's backward pass in closed form ------------------------------------

def batch_norm_backward(grad_y, x, weight=None, eps=1e-5):
    """The gradients of training-mode batch norm, written out (chapter 3.4), for comparison with
    autograd; the layers never call it.  With g = ∂L/∂y, x̂ = (x − μ)/σ and n values per channel:

        ∂L/∂β = Σ g      ∂L/∂γ = Σ g·x̂      ∂L/∂x = (γ/σ) · (g − Σg/n − x̂ · Σ(g·x̂)/n)

    Returns (∂L/∂x, ∂L/∂γ, ∂L/∂β), the last two as (C,) vectors.
    """
    dims = (0, *range(2, x.dim()))
    n = x.numel() // x.shape[1]
    mean = x.mean(dims, keepdim=True)
    var = (x - mean).square().mean(dims, keepdim=True)
    inv_std = torch.rsqrt(var + eps)
    x_hat = (x - mean) * inv_std
    sum_g = grad_y.sum(dims, keepdim=True)
    sum_g_x_hat = (grad_y * x_hat).sum(dims, keepdim=True)
    k = inv_std if weight is None else inv_std * _per_channel(weight, x)
    grad_x = k * (grad_y - sum_g / n - x_hat * sum_g_x_hat / n)
    return grad_x, sum_g_x_hat.reshape(-1), sum_g.reshape(-1)
