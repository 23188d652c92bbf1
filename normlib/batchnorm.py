"""Batch normalization (Ioffe & Szegedy, 2015) as drop-in twins of ``torch.nn.BatchNorm1d/2d/3d``.

Same constructor arguments and defaults, same parameters and buffers (so the same ``state_dict``
keys), same numbers in training and in evaluation.  The arithmetic is :mod:`normlib.functional`:

* training (or ``track_running_stats=False``): standardize each channel with the statistics of
  the current batch, over every axis but the channel axis (N, and L / H, W / D, H, W);
* while training with ``track_running_stats=True``: update the running estimates

      running_mean <- (1 - m) * running_mean + m * batch_mean
      running_var  <- (1 - m) * running_var  + m * batch_var * n / (n - 1)   (unbiased)

  where ``m = momentum``, or ``1 / num_batches_tracked`` when ``momentum=None`` (a cumulative
  average of all batches so far);
* evaluation with tracked statistics: standardize with ``running_mean`` and ``running_var``.

Then ``y = weight * x_hat + bias`` when ``affine=True`` (``bias=False``, new in torch 2.13, keeps
only the scale).

Bad input gets a ``ValueError`` or ``TypeError`` that names what is wrong (see
``tests/test_bad_inputs.py``).  Where normlib differs from torch it is stricter, never silent:

* computing batch statistics from one value per channel (e.g. a (1, C) batch in training) or from
  an empty batch is refused; torch refuses the first and returns an empty output for the second.
  A refused batch leaves the layer as it was (torch's ``num_batches_tracked`` counts it anyway);
* ``eps`` must be ≥ 0 and finite when constructing the layer, and > 0 when batch statistics are
  used, as torch checks in ``F.batch_norm``; ``num_features ≥ 1`` and ``momentum`` in [0, 1]
  (torch does not check these);
* input whose dtype differs from the layer's parameters is refused, as in torch, except a
  float16/bfloat16 input to a float32 layer, which torch and normlib both accept (the output has the
  input's dtype; the statistics and the gradients' per-channel sums are computed in float32).

NaN and inf are not bad input: they propagate as in torch.  A NaN or inf in a training batch turns
that channel's outputs, its gradients and its ``running_var`` into NaN, in both libraries; its
``running_mean`` becomes NaN for a NaN and ±inf for an inf, in both.  In evaluation
only the non-finite values themselves give non-finite outputs.

For float16 and bfloat16 input the batch statistics and the backward pass's per-channel sums are
computed in float32, as torch's kernel does; float16 could not even hold them for small variances.
"""

import math
import numbers

import torch
from torch import nn

from .functional import moments


def _check_constructor(cls, num_features, eps, momentum, affine, track_running_stats, bias,
                       dtype=None):
    name = cls.__name__
    if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral):
        raise TypeError(f"{name}: num_features must be an int, got {type(num_features).__name__}")
    if num_features < 1:
        raise ValueError(f"{name}: num_features must be ≥ 1, got {num_features}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{name}: eps must be a number, got {type(eps).__name__}")
    if not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f"{name}: eps must be a finite number ≥ 0, got {eps}")
    if momentum is not None:
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
            raise TypeError(f"{name}: momentum must be a number in [0, 1] or None, "
                            f"got {type(momentum).__name__}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
    for arg, value in (("affine", affine), ("track_running_stats", track_running_stats),
                       ("bias", bias)):
        if not isinstance(value, bool):
            raise TypeError(f"{name}: {arg} must be True or False, got {value!r}")
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"{name}: dtype must be a floating-point torch.dtype (e.g. torch.float32) "
                        f"or None, got {dtype!r}")



def _scale_shift(mean, var, eps, weight, bias):
    """γ x̂ + β = x · scale + shift, with per-channel scale = γ / √(σ² + ε), shift = β − μ · scale.

    The output then costs one multiply-add per value, as in PyTorch's own kernel, and autograd
    keeps only x (and the small scale) for the backward pass.
    """
    scale = torch.rsqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return scale, shift


HALF = (torch.float16, torch.bfloat16)


def _fma(x, scale, shift):
    """x · scale + shift with per-channel scale and shift, as a new tensor in x's dtype.

    Float16/bfloat16 input is computed in float32 and rounded once at the end, as torch's kernel
    does: x · scale and shift are large and cancel where |x − μ| is small compared with |μ|, and
    half precision would lose the difference.
    """
    if x.dtype in HALF:
        return (x.float() * scale.float()).add_(shift.float()).to(x.dtype)
    return (x * scale.to(x.dtype)).add_(shift.to(x.dtype))


def _batch_moments(x, dims):
    """Per-channel mean and biased variance, accumulated in float32 for float16/bfloat16 input
    (as torch's kernels do: float16 cannot even hold the sums of a large batch)."""
    return moments(x.float() if x.dtype in HALF else x, dims)


class _BatchStatsNorm(torch.autograd.Function):
    """Batch norm with the batch's own statistics, and the backward pass of chapter 3 (§3.4).

    Autograd could differentiate the forward computation op by op, but that walks the full-size
    tensor many times and keeps several full-size temporaries.  The closed form needs two
    per-channel sums and one full-size pass.  With g = ∂L/∂y, x̂ = (x − μ)/σ, k = γ/σ and n values
    per channel:

        ∂L/∂β = Σ g          ∂L/∂γ = Σ g·x̂          ∂L/∂x = k · (g − Σg/n − x̂ · Σ(g·x̂)/n)

    Both passes write into one full-size buffer each and work in place after that: a fresh large
    tensor costs page faults, and on a CPU those cost as much as the arithmetic.
    Returns (y, batch mean, batch biased variance); the statistics are not differentiable.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, dims):
        xs = x.float() if x.dtype in HALF else x
        mean = xs.mean(dims, keepdim=True)
        buffer = xs - mean
        var = buffer.square_().mean(dims, keepdim=True)     # two passes, as in moments()
        scale, shift = _scale_shift(mean, var, eps, weight, bias)
        if x.dtype in HALF:
            y = _fma(x, scale, shift)
        else:
            y = torch.mul(x, scale, out=buffer).add_(shift)  # reuse the buffer for y
        ctx.save_for_backward(x, weight, mean, var)
        ctx.eps, ctx.dims, ctx.has_bias = eps, dims, bias is not None
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x, weight, mean, var = ctx.saved_tensors
        dims = ctx.dims
        if torch.is_grad_enabled():
            # a graph of this backward pass is being recorded (double backward): recompute the
            # statistics from x with differentiable operations and no in-place updates, so that
            # the result is a differentiable function of x, γ and g
            mean, var = _batch_moments(x, dims)
        n = x.numel() // x.shape[1]
        acc = mean.dtype                        # float32 for float16/bfloat16 input, as in torch
        xs, gs = (x, grad_y) if x.dtype == acc else (x.to(acc), grad_y.to(acc))
        invstd = torch.rsqrt(var + ctx.eps)
        sum_g = gs.sum(dims, keepdim=True)
        buffer = gs * xs
        sum_gx = buffer.sum(dims, keepdim=True)
        dot = (sum_gx - mean * sum_g) * invstd           # Σ g·x̂
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            k = invstd if weight is None else invstd * weight.to(acc)
            # k·(g − Σg/n − x̂·dot/n) = k·g + b·x + c, with per-channel b and c
            b = -k * invstd * dot / n
            c = -k * sum_g / n - b * mean
            if torch.is_grad_enabled():
                grad_x = (xs * b + c + gs * k).to(x.dtype)
            else:
                grad_x = torch.mul(xs, b, out=buffer).add_(c).addcmul_(gs, k).to(x.dtype)
        if weight is not None and ctx.needs_input_grad[1]:
            grad_weight = dot.to(weight.dtype).reshape(weight.shape)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = sum_g.to(weight.dtype).reshape(weight.shape)
        return grad_x, grad_weight, grad_bias, None, None


class _BatchNorm(nn.Module):
    """What BatchNorm1d/2d/3d share; the subclasses only say which input ranks they accept."""

    _version = 2  # as torch's: state dicts without num_batches_tracked are from version 1
    _ranks = ()   # accepted input ranks
    _layout = ""  # shown in error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        _check_constructor(type(self), num_features, eps, momentum, affine, track_running_stats,
                           bias, dtype)
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.empty(num_features, **factory))  # γ
            if bias:
                self.bias = nn.Parameter(torch.empty(num_features, **factory))  # β
            else:  # torch ≥ 2.13: scale only
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked",
                                 torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            nn.init.ones_(self.weight)
            if self.bias is not None:
                nn.init.zeros_(self.bias)

    def extra_repr(self):
        return ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, "
                "bias={use_bias}, track_running_stats={track_running_stats}"
                .format(**self.__dict__, use_bias=self.bias is not None))

    def _check_input(self, x):
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: input must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() not in self._ranks:
            ranks = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"{name}: expected a {ranks} input {self._layout}, "
                             f"got a {x.dim()}D input of shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name}: input must be a floating-point tensor, got dtype {x.dtype}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): input has {x.shape[1]} channels "
                             f"(dimension 1 of shape {tuple(x.shape)}), expected {self.num_features}")
        own = self.weight if self.weight is not None else self.running_mean
        mixed_precision = x.dtype in (torch.float16, torch.bfloat16) and own is not None \
            and own.dtype == torch.float32
        if own is not None and x.dtype != own.dtype and not mixed_precision:
            # as torch: a float16/bfloat16 input may go through a float32 layer (the output has
            # the input's dtype); every other mix is an error
            raise TypeError(f"{name}: input has dtype {x.dtype} but the layer's parameters and "
                            f"buffers are {own.dtype}; convert one of them, "
                            f"e.g. input.to({own.dtype})")
        if self.training or not self.track_running_stats:  # batch statistics, as torch checks
            if x.numel() == 0:
                raise ValueError(f"{name}: input is an empty batch (shape {tuple(x.shape)}); "
                                 "there are no values to compute batch statistics from")
            if not self.eps > 0:
                raise ValueError(f"{name}: eps must be > 0 to normalize with batch statistics "
                                 f"(as in torch), got eps={self.eps}")

    def forward(self, x):
        self._check_input(x)
        dims = (0,) + tuple(range(2, x.dim()))          # every axis but the channels
        shape = (1, -1) + (1,) * (x.dim() - 2)          # per-channel values, broadcastable
        weight = None if self.weight is None else self.weight.reshape(shape)
        bias = None if self.bias is None else self.bias.reshape(shape)
        if not (self.training or not self.track_running_stats):
            # evaluation: the running statistics are constants, and autograd differentiates
            # y = x · scale + shift directly
            scale, shift = _scale_shift(self.running_mean.reshape(shape),
                                        self.running_var.reshape(shape), self.eps, weight, bias)
            return _fma(x, scale, shift)
        n = x.numel() // self.num_features                # values per channel in this batch
        if n <= 1:
            raise ValueError(
                f"{type(self).__name__}: expected more than 1 value per channel to compute "
                f"batch statistics, got input of shape {tuple(x.shape)}; a batch of one "
                "vector has no variance (use eval mode, or a larger batch)")
        y, mean, var = _BatchStatsNorm.apply(x, weight, bias, self.eps, dims)
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            with torch.no_grad():
                unbiased = var.reshape(-1) * (n / (n - 1))
                self.running_mean.mul_(1 - m).add_(mean.reshape(-1).to(self.running_mean.dtype), alpha=m)
                self.running_var.mul_(1 - m).add_(unbiased.to(self.running_var.dtype), alpha=m)
        return y

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        # Like torch: a version-1 state dict has no num_batches_tracked; start it at 0.
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = torch.tensor(0, dtype=torch.long)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs: per channel, over N (and L)."""
    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs: per channel, over N, H and W."""
    _ranks = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) inputs: per channel, over N, D, H and W."""
    _ranks = (5,)
    _layout = "(N, C, D, H, W)"
