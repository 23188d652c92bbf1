"""The book's figure style."""

import matplotlib

from .fonts import use_hangul_font


def set_style():
    """The book's figure style, with a Hangul-capable font."""
    use_hangul_font()
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 3.6),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "figure.constrained_layout.use": True,
    })
