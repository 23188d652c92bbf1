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
"""

import math
import numbers

import torch
from torch import nn

from .functional import moments


def _check_constructor(cls, num_features, eps, momentum, affine, track_running_stats, bias):
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


class _BatchNorm(nn.Module):
    """What BatchNorm1d/2d/3d share; the subclasses only say which input ranks they accept."""

    _version = 2  # as torch's: state dicts without num_batches_tracked are from version 1
    _ranks = ()   # accepted input ranks
    _layout = ""  # shown in error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        _check_constructor(type(self), num_features, eps, momentum, affine, track_running_stats,
                           bias)
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

    def forward(self, x):
        self._check_input(x)
        dims = (0,) + tuple(range(2, x.dim()))          # every axis but the channels
        shape = (1, -1) + (1,) * (x.dim() - 2)          # per-channel values, broadcastable
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            n = x.numel() // self.num_features            # values per channel in this batch
            if n <= 1:
                raise ValueError(
                    f"{type(self).__name__}: expected more than 1 value per channel to compute "
                    f"batch statistics, got input of shape {tuple(x.shape)}; a batch of one "
                    "vector has no variance (use eval mode, or a larger batch)")
            mean, var = moments(x, dims)
            if self.training and self.track_running_stats:
                self.num_batches_tracked.add_(1)
                m = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                     else self.momentum)
                with torch.no_grad():
                    unbiased = var.reshape(-1) * (n / (n - 1))
                    self.running_mean.mul_(1 - m).add_(mean.reshape(-1), alpha=m)
                    self.running_var.mul_(1 - m).add_(unbiased, alpha=m)
        else:
            mean = self.running_mean.reshape(shape)
            var = self.running_var.reshape(shape)
        # γ x̂ + β = x · scale + shift, with per-channel scale = γ / √(σ² + ε) and
        # shift = β − μ · scale: one fused full-size pass (torch.addcmul), as PyTorch's own kernel
        # does, and autograd keeps only x for the backward pass.
        scale = torch.rsqrt(var + self.eps)
        if self.weight is not None:
            scale = scale * self.weight.reshape(shape)
        shift = -mean * scale
        if self.bias is not None:
            shift = shift + self.bias.reshape(shape)
        return torch.addcmul(shift, x, scale)

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
