"""The normalization layers, as drop-in twins of ``torch.nn``'s.

Same constructor arguments and defaults, same parameters and buffers (so the same ``state_dict``
keys), same numbers in training and evaluation.  Each layer is a thin shell: ``_NormBase`` owns
the arguments, the learnable scale γ (``weight``) and shift β (``bias``), the running statistics
and the repr, as torch's ``_NormBase`` does; each ``forward`` checks its input and makes one call
into :mod:`normlib.functional`, where the mathematics is.  Autograd differentiates it.

Where normlib differs from torch it is stricter, never silent (see ``tests/test_bad_inputs.py``):

* batch statistics from one value per channel (a (1, C) batch in training) or from an empty
  batch are refused, and a refused batch leaves the layer as it was (torch counts it in
  ``num_batches_tracked`` anyway);
* ``eps`` must be finite and ≥ 0, and > 0 whenever the layer divides by a variance computed from
  its input (that variance can be 0); ``momentum`` must be in [0, 1] or None;
* the input must have the layer's channels (or ``normalized_shape``) and the layer's dtype,
  except a float16/bfloat16 input to a float32 layer, which both libraries accept (the output has
  the input's dtype; the statistics are computed in float32).

NaN and inf are not bad input: they propagate as in torch.
"""

import functools
import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from . import _checks, distributed
from . import functional as F


class _NormBase(nn.Module):
    """What every normalization layer owns: γ and β of ``shape``, running statistics if tracked,
    and the repr.  Subclasses set their public attributes, then call ``_setup``."""

    _repr = ""        # extra_repr, formatted with the layer's attributes (as in torch)
    _ranks = ()       # accepted input ranks
    _layout = ""      # shown in error messages

    def _setup(self, shape, affine, bias=True, track_running_stats=False, device=None,
               dtype=None):
        """Create γ (``weight``) and β (``bias``) of ``shape`` if ``affine``, and the running
        statistics if ``track_running_stats``; then reset them.  ``bias=None``: the layer never
        has a β (RMSNorm); ``track_running_stats=None``: it never has running statistics (layer
        and group norm).  Then not even empty slots are registered, as in torch."""
        factory = {"device": device, "dtype": dtype}
        if affine:
            self.weight = nn.Parameter(torch.empty(shape, **factory))                # γ
        else:
            self.register_parameter("weight", None)
        if bias is not None:
            if affine and bias:
                self.bias = nn.Parameter(torch.empty(shape, **factory))              # β
            else:
                self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(shape, **factory))
            self.register_buffer("running_var", torch.ones(shape, **factory))
            self.register_buffer("num_batches_tracked",
                                 torch.tensor(0, dtype=torch.long, device=device))
        elif track_running_stats is not None:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        if getattr(self, "running_mean", None) is not None:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if getattr(self, "bias", None) is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self):
        return self._repr.format(**self.__dict__, use_bias=getattr(self, "bias", None) is not None)

    # ---- input checks ----

    def _check_input(self, x):
        """A floating-point tensor of an accepted rank, in the layer's dtype."""
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: input must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() not in self._ranks:
            ranks = " or ".join(f"{r}D" for r in self._ranks) if len(self._ranks) < 3 \
                else f"{self._ranks[0]}D or higher"
            raise ValueError(f"{name}: expected a {ranks} input {self._layout}, "
                             f"got a {x.dim()}D input of shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name}: input must be a floating-point tensor, got dtype {x.dtype}")
        own = self.weight if self.weight is not None else getattr(self, "running_mean", None)
        mixed_precision = x.dtype in F.LOW_PRECISION and own is not None \
            and own.dtype == torch.float32
        if own is not None and x.dtype != own.dtype and not mixed_precision:
            raise TypeError(f"{name}: input has dtype {x.dtype} but the layer's parameters and "
                            f"buffers are {own.dtype}; convert one of them, "
                            f"e.g. input.to({own.dtype})")

    def _check_channels(self, x, axis, expected, note=""):
        if x.shape[axis] != expected:
            raise ValueError(f"{type(self).__name__}({expected}): input has {x.shape[axis]} channels "
                             f"(dimension {axis} of shape {tuple(x.shape)}), expected {expected}{note}")

    def _check_eps(self, what):
        """eps > 0 where the layer divides by a variance computed from its input (it can be 0)."""
        if not self.eps > 0:
            raise ValueError(f"{type(self).__name__}: eps must be > 0 to normalize with {what} "
                             f"(a variance can be 0), got eps={self.eps}")

    def _check_statistics(self, x, n, what, why="a batch of one vector has no variance (use eval "
                                                 "mode, or a larger batch)"):
        """Statistics of the input itself, from ``n`` values each: at least 2 of them (``why``
        says why, and what to do, when there are fewer)."""
        name = type(self).__name__
        if x.numel() == 0:
            raise ValueError(f"{name}: input is an empty batch (shape {tuple(x.shape)}); "
                             f"there are no values to compute {what} from")
        self._check_eps(what)
        if n <= 1:
            raise ValueError(f"{name}: expected more than 1 value per channel to compute {what}, "
                             f"got input of shape {tuple(x.shape)}; {why}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        # Like torch: a version-1 state dict has no num_batches_tracked; start it at 0.
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and getattr(self, "num_batches_tracked", None) is not None:
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = torch.tensor(0, dtype=torch.long)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


class _RunningNorm(_NormBase):
    """Batch and instance norm: ``num_features`` channels, optional running statistics."""

    _version = 2  # as torch's: state dicts without num_batches_tracked are from version 1
    _repr = ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, "
             "bias={use_bias}, track_running_stats={track_running_stats}")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        who = type(self).__name__
        num_features = _checks.check_int(who, "num_features", num_features)
        _checks.check_eps(who, eps)
        _checks.check_momentum(who, momentum)
        for arg, value in (("affine", affine), ("track_running_stats", track_running_stats),
                           ("bias", bias)):
            _checks.check_bool(who, arg, value)
        _checks.check_dtype(who, dtype)
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._setup(num_features, affine, bias, track_running_stats, device, dtype)

    def _averaging_factor(self):
        """The running statistics' momentum; ``momentum=None`` averages all batches so far."""
        if not (self.training and self.track_running_stats):
            return 0.0
        self.num_batches_tracked.add_(1)
        return 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum


class _BatchNorm(_RunningNorm):
    """Batch norm: each channel over the batch and space (the subclasses differ in ranks only)."""

    def forward(self, x):
        self._check_input(x)
        self._check_channels(x, 1, self.num_features)
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            self._check_statistics(x, x.numel() // x.shape[1], "batch statistics")
        momentum = self._averaging_factor()
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, momentum, self.eps)


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


class SyncBatchNorm(_BatchNorm):
    """Batch norm for data-parallel training: in training, every process normalizes its shard of
    the batch with the mean and variance of the whole batch, over all the processes of
    ``process_group`` (by default all of them), and every process updates its running statistics
    with them (see :func:`normlib.functional.sync_batch_norm`).

    Without ``torch.distributed`` (not initialized, or one process) and in evaluation it is
    :class:`BatchNorm1d`/``2d``/``3d``, whatever the input's rank (2D or more).  Same arguments,
    ``state_dict`` keys and numbers as ``torch.nn.SyncBatchNorm``, which refuses CPU tensors in
    distributed training; this one also runs on the CPU (gloo).  As in torch, every process of the
    group must call it together, each with a shard of the same shape except the batch axis (a
    shard may be empty); a process that stops early leaves the others waiting.
    """

    _ranks = range(2, 64)
    _layout = "(N, C, *)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self.process_group = process_group

    def forward(self, x):
        if not self.training or distributed.world_size(self.process_group) == 1:
            return super().forward(x)        # batch norm of this process's input alone
        self._check_input(x)
        self._check_channels(x, 1, self.num_features)
        self._check_eps("batch statistics")
        momentum = self.momentum
        if self.track_running_stats and momentum is None:   # the average of all batches so far
            momentum = 1.0 / float(self.num_batches_tracked + 1)
        y = F.sync_batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              momentum, self.eps, self._sum_over_processes)
        if self.track_running_stats:         # only now: a refused batch leaves the layer as it was
            self.num_batches_tracked.add_(1)
        return y

    def _sum_over_processes(self, t):
        return distributed.sum_over_processes(t, self.process_group)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every batch-norm layer in it (normlib's or ``torch.nn``'s) replaced by
        a SyncBatchNorm that holds the same parameter and buffer tensors (shared, not copied), as
        ``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` does.  Returns the converted module:
        a new one if ``module`` is itself batch norm, otherwise ``module``, changed in place."""
        if isinstance(module, _BATCH_NORMS) and not isinstance(module, cls):
            sync = cls(module.num_features, module.eps, module.momentum, module.affine,
                       module.track_running_stats, process_group)
            for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                setattr(sync, name, getattr(module, name))
            return sync.train(module.training)
        for name, child in module.named_children():
            module.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return module


_BATCH_NORMS = (_BatchNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


class _InstanceNorm(_RunningNorm):
    """Instance norm: each sample's channel over space.  Unlike batch norm, no affine map and no
    running statistics by default (torch's defaults); the input may lack the batch axis."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, x):
        self._check_input(x)
        if x.dim() == self._ranks[0]:                   # no batch axis: a batch of one
            unbatched = self._layout.split(" or ")[1]
            self._check_channels(x, 0, self.num_features, f"; a {x.dim()}D input is read as one "
                                 f"example without a batch axis, {unbatched}")
            return self.forward(x.unsqueeze(0)).squeeze(0)
        self._check_channels(x, 1, self.num_features)
        use_input_stats = self.training or not self.track_running_stats
        if use_input_stats:
            self._check_statistics(x, math.prod(x.shape[2:]), "instance statistics",
                                   "a channel at a single position has no variance (instance "
                                   "statistics need more than one spatial position)")
        # as torch: the running statistics use momentum, or 0 for momentum=None (they then stay)
        momentum = 0.0 if self.momentum is None else self.momentum
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats, momentum, self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or (C, L) inputs: per sample and channel, over L."""
    _ranks = (2, 3)
    _layout = "(N, C, L) or (C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or (C, H, W) inputs: per sample and channel, over H, W."""
    _ranks = (3, 4)
    _layout = "(N, C, H, W) or (C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W) or (C, D, H, W) inputs: per sample and channel."""
    _ranks = (4, 5)
    _layout = "(N, C, D, H, W) or (C, D, H, W)"


class _TrailingNorm(_NormBase):
    """Layer norm and RMSNorm: per sample, over the trailing ``normalized_shape`` axes."""

    _repr = "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}, bias={use_bias}"

    @property
    def _ranks(self):
        return range(len(self.normalized_shape), 64)

    @property
    def _layout(self):
        return f"(*, {', '.join(map(str, self.normalized_shape))})"

    def _check_input(self, x):
        super()._check_input(x)
        k = len(self.normalized_shape)
        if tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(f"{type(self).__name__}: normalized_shape {self.normalized_shape} must "
                             f"match the input's last {k} dimensions, got input of shape "
                             f"{tuple(x.shape)}")
        if self.eps is not None:  # RMSNorm's None: the dtype's machine epsilon, > 0
            self._check_eps("each sample's statistics")


class LayerNorm(_TrailingNorm):
    """Layer norm: each sample over its last ``len(normalized_shape)`` axes (e.g. its features)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        who = "LayerNorm"
        normalized_shape = _checks.check_shape(who, "normalized_shape", normalized_shape)
        _checks.check_eps(who, eps)
        _checks.check_bool(who, "elementwise_affine", elementwise_affine)
        _checks.check_bool(who, "bias", bias)
        _checks.check_dtype(who, dtype)
        super().__init__()
        self.normalized_shape = normalized_shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self._setup(normalized_shape, elementwise_affine, bias, None, device, dtype)

    def forward(self, x):
        self._check_input(x)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class RMSNorm(_TrailingNorm):
    """RMSNorm (Zhang & Sennrich, 2019): layer norm without centring and without β."""

    _repr = "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}"

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        who = "RMSNorm"
        normalized_shape = _checks.check_shape(who, "normalized_shape", normalized_shape)
        if eps is not None:
            _checks.check_eps(who, eps)
        _checks.check_bool(who, "elementwise_affine", elementwise_affine)
        _checks.check_dtype(who, dtype)
        super().__init__()
        self.normalized_shape = normalized_shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self._setup(normalized_shape, elementwise_affine, None, None, device, dtype)

    def forward(self, x):
        self._check_input(x)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)


class GroupNorm(_NormBase):
    """Group norm (Wu & He, 2018): each sample's group of ``num_channels / num_groups`` channels,
    over those channels and space.  ``num_groups=1`` is layer norm over (C, *spatial) with
    per-channel γ and β; ``num_groups=num_channels`` is instance norm."""

    _repr = "{num_groups}, {num_channels}, eps={eps}, affine={affine}, bias={use_bias}"
    _ranks = range(2, 64)
    _layout = "(N, C, *)"

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        who = "GroupNorm"
        num_groups = _checks.check_int(who, "num_groups", num_groups)
        num_channels = _checks.check_int(who, "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"{who}: num_channels must be divisible by num_groups, got "
                             f"num_channels={num_channels} and num_groups={num_groups}")
        _checks.check_eps(who, eps)
        _checks.check_bool(who, "affine", affine)
        _checks.check_bool(who, "bias", bias)
        _checks.check_dtype(who, dtype)
        super().__init__()
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self._setup(num_channels, affine, bias, None, device, dtype)

    def forward(self, x):
        self._check_input(x)
        self._check_channels(x, 1, self.num_channels)
        self._check_eps("group statistics")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


# ---- weight normalization: a reparametrization, not a layer ------------------------------------

class _WeightNorm(nn.Module):
    """The parametrization ``w = g · v / ‖v‖`` (torch's own has the same two tensors, in the
    same order: ``original0`` = g, ``original1`` = v)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return F.weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        """From a weight to (g, v): v is the weight itself and g its length, so w is unchanged."""
        if self.dim == -1:  # one length for the whole tensor: a 0-dimensional g, as in torch
            return torch.linalg.vector_norm(weight), weight
        dims = tuple(d for d in range(weight.dim()) if d != self.dim)
        return torch.linalg.vector_norm(weight, dim=dims, keepdim=True), weight


def weight_norm(module, name="weight", dim=0):
    """Weight normalization (Salimans & Kingma, 2016) of ``module.<name>``: it becomes
    ``g · v / ‖v‖`` with learnable length ``g`` and direction ``v``, as
    ``torch.nn.utils.parametrizations.weight_norm`` does (same ``state_dict`` keys:
    ``parametrizations.<name>.original0`` for g, ``original1`` for v).  Like torch's, the module
    also loads a state dict saved with the deprecated ``torch.nn.utils.weight_norm``, whose keys
    are ``<name>_g`` and ``<name>_v``.  Returns the module."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"weight_norm: module must be a torch.nn.Module, got {type(module).__name__}")
    weight = getattr(module, name, None) if isinstance(name, str) else None
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"weight_norm: name must name a tensor parameter of the module, "
                         f"got {name!r}")
    if dim is not None:
        _checks.check_int("weight_norm", "dim", dim, minimum=-1)
        if dim >= weight.dim():
            raise ValueError(f"weight_norm: dim must be an axis of {name} (shape "
                             f"{tuple(weight.shape)}), None or -1, got {dim}")
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    module._register_load_state_dict_pre_hook(functools.partial(_rename_old_weight_norm_keys, name))
    return module


def _rename_old_weight_norm_keys(name, state_dict, prefix, *args):
    """A load_state_dict pre-hook: the deprecated API's ``<name>_g`` and ``<name>_v`` become
    ``parametrizations.<name>.original0`` and ``original1``, as torch's parametrization does.
    (A module-level function, so that a module holding it can still be pickled.)"""
    g, v = f"{prefix}{name}_g", f"{prefix}{name}_v"
    if g in state_dict and v in state_dict:
        state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g)
        state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v)
