"""Small models for the chapters' experiments."""

from torch import nn

from .norms import make_norm

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
PLACEMENTS = ("before", "after")


def mlp(in_features, width, depth, out_features, norm="none", activation="relu",
        placement="before", backend="normlib"):
    """A fully connected network of ``depth`` hidden layers of ``width`` units.

    Each hidden layer is ``Linear → norm → activation`` (``placement="before"``: normalize the
    pre-activations, as in the BN paper) or ``Linear → activation → norm`` (``"after"``).  A linear
    layer directly followed by a normalization has no bias (the norm's β replaces it).  Weights are
    initialized for the activation: He (Kaiming) for ReLU, Xavier (Glorot) for sigmoid and tanh.
    ``backend`` picks normlib's layers or their ``torch.nn`` twins (see :func:`make_norm`).
    """
    for name, value in (("in_features", in_features), ("width", width), ("depth", depth),
                        ("out_features", out_features)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"mlp: {name} must be a positive int, got {value!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if placement not in PLACEMENTS:
        raise ValueError(f"mlp: placement must be one of {PLACEMENTS}, got {placement!r}")
    layers, d = [], in_features
    for _ in range(depth):
        bias = norm == "none" or placement == "after"
        linear = nn.Linear(d, width, bias=bias)
        if activation == "relu":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        else:
            nn.init.xavier_normal_(linear.weight)
        if bias:
            nn.init.zeros_(linear.bias)
        block = [linear, make_norm(norm, width, backend=backend), ACTIVATIONS[activation]()]
        if placement == "after":
            block[1], block[2] = block[2], block[1]
        layers += [m for m in block if not isinstance(m, nn.Identity)]
        d = width
    layers.append(nn.Linear(d, out_features))
    return nn.Sequential(*layers)
