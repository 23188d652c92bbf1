"""Small models for the chapters' experiments."""

from torch import nn

from .data import _device
from .factory import NORMS, has_shift, make_norm

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
