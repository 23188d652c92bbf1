"""Figure style and the small plotting helpers the chapters share."""

import matplotlib

from .fonts import use_hangul_font
from .i18n import tr


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


def subplots(nrows=1, ncols=1, **kwargs):
    """``plt.subplots`` with the book's defaults (kept here so chapters import one thing)."""
    import matplotlib.pyplot as plt
    return plt.subplots(nrows, ncols, **kwargs)


def label(ax, xlabel=None, ylabel=None, title=None):
    """Set axis labels and a title in one call; keys of normlib's strings are translated."""
    from .i18n import STRINGS
    def text(s):
        return tr(s) if s in STRINGS else s
    if xlabel is not None:
        ax.set_xlabel(text(xlabel))
    if ylabel is not None:
        ax.set_ylabel(text(ylabel))
    if title is not None:
        ax.set_title(text(title))
    return ax
