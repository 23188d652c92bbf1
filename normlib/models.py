"""Small models for the chapters' experiments: a fully connected network (``mlp``) and a small
3D U-Net for segmenting volumes (``unet3d``), each with a ``norm=`` argument."""

import torch
from torch import nn

from . import _checks
from .data import _device
from .factory import BACKENDS, NORMS, has_shift, make_norm

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
PLACEMENTS = ("before", "after")


INITS = ("auto", "he", "xavier")


def _check_init(init):
    """Validate ``init`` without drawing any random numbers (that would shift every later draw)."""
    if init in INITS:
        return
    if isinstance(init, (int, float)) and not isinstance(init, bool) and init > 0:
        return
    raise ValueError(f"init must be one of {INITS} or a positive std, got {init!r}")


def init_weight(weight, init, activation):
    """Initialize a linear layer's weight: "he" (Kaiming, for ReLU), "xavier" (Glorot), "auto" (He
    for ReLU, Xavier otherwise), or a number: plain N(0, init²) entries, as in naive setups."""
    _check_init(init)
    if init == "auto":
        init = "he" if activation == "relu" else "xavier"
    if init == "he":
        nn.init.kaiming_normal_(weight, nonlinearity="relu")
    elif init == "xavier":
        nn.init.xavier_normal_(weight)
    else:
        nn.init.normal_(weight, std=float(init))


def mlp(in_features, width, depth, out_features, norm="none", activation="relu",
        placement="before", backend="normlib", init="auto", device=None):
    """A fully connected network of ``depth`` hidden layers of ``width`` units.

    Each hidden layer is ``Linear → norm → activation`` (``placement="before"``: normalize the
    pre-activations, as in the BN paper) or ``Linear → activation → norm`` (``"after"``).  A linear
    layer directly followed by a normalization with its own shift β has no bias (the factory's
    :func:`~normlib.factory.has_shift` decides, for every kind).  Weights are
    initialized by ``init`` (see :func:`init_weight`): by default He (Kaiming) for ReLU and Xavier
    (Glorot) for sigmoid and tanh.  ``backend`` picks normlib's layers or their ``torch.nn`` twins
    (see :func:`make_norm`).  The model is built on the CPU (so that its initial weights are the
    same on every device) and moved to ``device``, by default the one chosen by
    :func:`normlib.setup`.
    """
    for name, value in (("in_features", in_features), ("width", width), ("depth", depth),
                        ("out_features", out_features)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"mlp: {name} must be a positive int, got {value!r}")
    if not isinstance(norm, str) or norm.lower() not in NORMS:
        raise ValueError(f"mlp: norm must be one of {sorted(NORMS)}, got {norm!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if placement not in PLACEMENTS:
        raise ValueError(f"mlp: placement must be one of {PLACEMENTS}, got {placement!r}")
    _check_init(init)
    norm = norm.lower()
    bias = placement == "after" or not has_shift(norm)   # no bias right before a β
    layers, d = [], in_features
    for _ in range(depth):
        linear = nn.Linear(d, width, bias=bias)
        init_weight(linear.weight, init, activation)
        if bias:
            nn.init.zeros_(linear.bias)
        block = [linear, ACTIVATIONS[activation]()]
        if norm != "none":
            block.insert(1 if placement == "before" else 2, make_norm(norm, width, backend=backend))
        layers += block
        d = width
    layers.append(nn.Linear(d, out_features))
    return nn.Sequential(*layers).to(_device(device))


# ---- a small 3D U-Net (chapter 10) --------------------------------------------------------------

VOLUME_NORMS = tuple(k for k, spec in NORMS.items() if 3 in spec.spatial_dims)   # none bn ln in gn


class UNet3d(nn.Module):
    """A small 3D U-Net (Ronneberger et al., 2015; Çiçek et al., 2016, for volumes): an encoder
    that halves the volume ``depth`` times and doubles the channels each time, a decoder that
    doubles it back, and skip connections that hand each decoder level the encoder's features of
    the same size.  Build it with :func:`unet3d`, which documents the arguments.

    Each level is a block of two ``Conv3d 3×3×3 → norm → ReLU``.  Going down is a 2×2×2 max-pool;
    going up a 2×2×2 transposed convolution with stride 2, whose output is concatenated with the
    skip connection.  A final 1×1×1 convolution gives ``out_channels`` logits per voxel.
    """

    def __init__(self, in_channels=1, out_channels=2, base=8, depth=2, norm="none",
                 backend="normlib", num_groups=None, norm_options=None):
        super().__init__()
        who = "unet3d"
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("base", base), ("depth", depth)):
            _checks.check_int(who, name, value)
        if not isinstance(norm, str) or norm.lower() not in VOLUME_NORMS:
            raise ValueError(f"{who}: norm must be one of {VOLUME_NORMS} (the kinds that "
                             f"normalize volumes), got {norm!r}")
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ValueError(f"{who}: backend must be one of {tuple(BACKENDS)}, got {backend!r}")
        if norm_options is not None and not isinstance(norm_options, dict):
            raise TypeError(f"{who}: norm_options must be a dict or None, "
                            f"got {type(norm_options).__name__}")
        norm = norm.lower()
        options = {"affine": True} if norm == "in" else {}   # IN with γ and β, like the others
        options.update(norm_options or {})
        if num_groups is not None:
            if norm != "gn":
                raise ValueError(f"{who}: num_groups is for norm='gn' only, got norm={norm!r}")
            options["num_groups"] = _checks.check_int(who, "num_groups", num_groups)
        self.in_channels, self.out_channels, self.depth, self.norm = (in_channels, out_channels,
                                                                      depth, norm)
        widths = [base * 2 ** level for level in range(depth + 1)]   # channels at each level

        def block(cin, cout):
            layers = []
            for c in (cin, cout):
                conv = nn.Conv3d(c, cout, 3, padding=1, bias=not has_shift(norm, **options))
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")   # He, for ReLU
                if conv.bias is not None:
                    nn.init.zeros_(conv.bias)
                layers.append(conv)
                if norm != "none":
                    layers.append(make_norm(norm, cout, spatial_dims=3, backend=backend,
                                            **options))
                layers.append(nn.ReLU())
            return nn.Sequential(*layers)

        self.down = nn.ModuleList([block(in_channels, widths[0])] +
                                  [block(widths[i - 1], widths[i]) for i in range(1, depth + 1)])
        self.pool = nn.MaxPool3d(2)
        self.up = nn.ModuleList([nn.ConvTranspose3d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(depth))])
        self.merge = nn.ModuleList([block(2 * widths[i], widths[i])
                                    for i in reversed(range(depth))])
        self.head = nn.Conv3d(widths[0], out_channels, 1)

    def forward(self, x):
        self._check_input(x)
        skips = []
        for level, block in enumerate(self.down):
            x = block(x if level == 0 else self.pool(x))
            skips.append(x)
        skips.pop()                                   # the bottom level goes straight up
        for up, block in zip(self.up, self.merge):
            x = block(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)

    def _check_input(self, x):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            what = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"UNet3d: input must be a floating-point tensor, got {what}")
        if x.dim() != 5:
            raise ValueError(f"UNet3d: expected a 5D input (N, C, D, H, W), got a {x.dim()}D "
                             f"input of shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"UNet3d: input has {x.shape[1]} channels, expected "
                             f"in_channels={self.in_channels}")
        step = 2 ** self.depth
        if any(size % step for size in x.shape[2:]) or min(x.shape[2:]) == 0:
            raise ValueError(f"UNet3d: the input's depth, height and width must be multiples of "
                             f"2**depth = {step} (the network halves them {self.depth} times), "
                             f"got shape {tuple(x.shape)}")


def unet3d(in_channels=1, out_channels=2, base=8, depth=2, norm="none", backend="normlib",
           num_groups=None, norm_options=None, device=None):
    """A small 3D U-Net for segmenting (N, ``in_channels``, D, H, W) volumes into
    ``out_channels`` logits per voxel: 2 for background/object with cross-entropy, or 1 with a
    sigmoid (binary cross-entropy).  See :class:`UNet3d` for the architecture.

    - ``base`` channels at the top level, doubled at each of the ``depth`` levels below it (the
      defaults: 8, 16 and 32 channels, about 85,000 weights).
    - ``norm``: "none", "bn", "in", "gn" or "ln" after every 3×3×3 convolution, built by
      :func:`~normlib.factory.make_norm` with ``spatial_dims=3`` (so "ln" is ``GroupNorm(1, C)``).
      "in" has γ and β here (``affine=True``), like the others (torch's default is without).
      A convolution directly before a norm with its own shift β has no bias
      (:func:`~normlib.factory.has_shift`).
    - ``num_groups`` for "gn" (by default the factory's: the most groups, up to 32, with two or
      more channels each); ``norm_options``: more keyword arguments for every norm layer, e.g.
      ``{"momentum": None}`` or ``{"track_running_stats": False}`` for "bn".
    - ``backend``: normlib's layers or their ``torch.nn`` twins (same numbers).

    **Sizes.** D, H and W must each be a multiple of ``2**depth`` (4 by default), so that every
    halving is exact and the decoder's volumes match the skip connections'; they need not be
    equal, nor even (``depth`` = 2: 4, 8, 12, 20, ...).  Batch and instance norm in training need
    two or more values per channel at the bottom level, so at batch size 1 a volume of exactly
    ``2**depth`` voxels in every axis is refused there.

    Convolutions get He initialization (for ReLU) and zero biases.  The model is built on the CPU
    (so its initial weights are the same on every device) and moved to ``device``, by default the
    one chosen by :func:`normlib.setup`.
    """
    model = UNet3d(in_channels, out_channels, base, depth, norm, backend, num_groups,
                   norm_options)
    return model.to(_device(device))
