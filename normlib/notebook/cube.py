"""Chapter 9's figure: the feature-map cube N × C × (H·W), with the values that share one mean and
variance shaded for batch, layer, instance and group norm (as in Figure 2 of Wu & He, 2018).

The shaded set is not drawn from a table of rules: :func:`normalization_set` asks the library's
own functions which inputs one output depends on, so the figure shows what normlib computes.

    >>> fig, ax = plt.subplots(); mask = draw("gn", ax)     # labels in the edition's language
"""

import matplotlib
import torch

from .. import functional as F
from .i18n import tr

KINDS = ("bn", "ln", "in", "gn")
SHADES = (1.0, 0.8, 0.65)     # front, top and right faces: lit from the front


def _normalized(kind, x, num_groups):
    """``x`` (N, C, H, W) normalized by ``kind`` as in training, without γ and β."""
    if kind == "bn":
        return F.batch_norm(x, None, None, training=True)
    if kind == "ln":
        return F.layer_norm(x, x.shape[1:])            # each example over (C, H, W)
    if kind == "in":
        return F.instance_norm(x)
    return F.group_norm(x, num_groups)


def normalization_set(kind, n=6, c=6, num_groups=2, example=0, channel=0, hw=4):
    """Which (example, channel) pairs share the mean and variance that normalize the values of
    ``x[example, channel]``: a boolean (n, c) tensor.

    It is not written down per method but found by asking normlib's own functions: the output at
    one position of ``x[example, channel]`` depends on an input value exactly when that value is in
    the same normalization set (it enters the mean and the variance), so the gradient of that
    output is non-zero there and zero elsewhere.  ``kind`` is "bn", "ln", "in" or "gn"
    (``num_groups`` groups of ``c / num_groups`` channels); ``hw`` is the number of positions.
    """
    if kind not in KINDS:
        raise ValueError(f"normalization_set: kind must be one of {KINDS}, got {kind!r}")
    for name, value in (("n", n), ("c", c), ("num_groups", num_groups), ("hw", hw)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"normalization_set: {name} must be a positive int, got {value!r}")
    if hw < 2:
        raise ValueError(f"normalization_set: hw must be at least 2 (one position has no spread), got {hw}")
    if c % num_groups:
        raise ValueError(f"normalization_set: c must be divisible by num_groups, got c={c} and "
                         f"num_groups={num_groups}")
    if not (0 <= example < n and 0 <= channel < c):
        raise ValueError(f"normalization_set: example must be in [0, {n}) and channel in [0, {c}), "
                         f"got example={example} and channel={channel}")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, c, 1, hw, generator=generator, dtype=torch.float64, requires_grad=True)
    _normalized(kind, x, num_groups)[example, channel, 0, 0].backward()
    return x.grad.abs().sum(dim=(2, 3)) > 0


def _box(ax, n0, c0, n1, c1, height, depth, face, edge, lw):
    """A box over [n0, n1] × [c0, c1] × [0, height], seen from the front (c = 0), the top and the
    right, in an oblique projection: C goes into the page, up and to the right."""
    dx, dy = depth
    p = lambda n, c, h: (n + c * dx, h + c * dy)
    faces = [
        [p(n0, c0, 0), p(n1, c0, 0), p(n1, c0, height), p(n0, c0, height)],          # front
        [p(n0, c0, height), p(n1, c0, height), p(n1, c1, height), p(n0, c1, height)],  # top
        [p(n1, c0, 0), p(n1, c1, 0), p(n1, c1, height), p(n1, c0, height)],          # right
    ]
    for corners, shade in zip(faces, SHADES):
        color = face if face == "none" else tuple(shade * v for v in matplotlib.colors.to_rgb(face))
        ax.add_patch(matplotlib.patches.Polygon(corners, closed=True, facecolor=color,
                                                edgecolor=edge, linewidth=lw))


def draw(kind, ax, n=6, c=6, num_groups=2, example=0, channel=0, color="C0", title=True):
    """Draw the feature-map cube N × C × (H·W) on ``ax`` and shade the values that share one mean
    and variance with ``x[example, channel]`` under ``kind`` ("bn", "ln", "in" or "gn"), as in
    Figure 2 of Wu & He (2018).  The shaded set comes from :func:`normalization_set`, that is from
    normlib's own functions.  Labels follow the edition's language.  Returns the (n, c) mask.
    """
    mask = normalization_set(kind, n, c, num_groups, example, channel)
    height, depth = 5.0, (0.55, 0.45)
    ax.set_axis_off()
    ax.set_aspect("equal")
    cells = [(i, j) for j in reversed(range(c)) for i in range(n)]      # back to front, left to right
    for i, j in cells:
        face = color if mask[i, j] else "white"
        _box(ax, i, j, i + 1, j + 1, height, depth, face, "0.45", 0.6)
    dx, dy = depth
    ax.annotate("", xy=(n + 0.1, -0.6), xytext=(-0.1, -0.6),
                arrowprops=dict(arrowstyle="->", color="0.2"))
    ax.text(n / 2, -0.8, tr("cube_n"), ha="center", va="top", fontsize=9)
    ax.annotate("", xy=(n + 0.3 + c * dx, c * dy), xytext=(n + 0.3, 0),
                arrowprops=dict(arrowstyle="->", color="0.2"))
    ax.text(n + 0.45 + c * dx / 2, c * dy / 2 - 0.15, tr("cube_c"), ha="left", va="top", fontsize=9)
    ax.annotate("", xy=(-0.4, height + 0.1), xytext=(-0.4, -0.1),
                arrowprops=dict(arrowstyle="->", color="0.2"))
    ax.text(-0.6, height / 2, tr("cube_hw"), ha="right", va="center", fontsize=9, rotation=90)
    ax.set_xlim(-1.6, n + c * dx + 1.6)
    ax.set_ylim(-1.5, height + c * dy + 0.3)
    if title:
        ax.set_title(tr(f"cube_{kind}"), fontsize=10)
    return mask
