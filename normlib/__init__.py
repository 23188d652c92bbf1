"""normlib: the small shared library of The Normalization Book (정규화 교과서).

Every chapter starts with::

    import normlib as nl
    nl.setup(lang="ko", seed=0)   # or lang="en"

The package has two parts.

The library, the book's second text (read it in this order):
    functional   the one idea, normalize(x, dims), and every method as a few lines over it
    layers       BatchNorm1d/2d/3d, SyncBatchNorm, LayerNorm, GroupNorm, InstanceNorm1d/2d/3d,
                 RMSNorm, weight_norm: torch.nn-shaped shells, each forward one call into functional
    factory      make_norm(kind, num_channels, ...): any layer by name, normlib's or torch's
    models       small models with a norm= argument (mlp, unet3d)
    data, train  datasets (digits, 3D segmentation volumes), training loops and metrics (Dice)
    distributed  several processes on one machine, for SyncBatchNorm
    inspect      layer_outputs, to look inside a model
    twins        each layer next to its torch.nn twin (drives the tests and benchmarks/layers.py)

The book's runtime, what chapters need around the science (normlib.notebook):
    session (setup), claims, i18n (language), style (figures and the Hangul font), widgets,
    cube (chapter 9's figure of the normalization sets)
"""

__version__ = "0.1.0"

from . import data, distributed, factory, functional, inspect, layers, models, train  # noqa: E402
from .notebook import claims, cube, i18n, style, widgets  # noqa: E402
from .layers import (  # noqa: E402
    BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d, InstanceNorm2d,
    InstanceNorm3d, LayerNorm, RMSNorm, SyncBatchNorm, weight_norm,
)
from .notebook.claims import ClaimFailed, claim, summary  # noqa: E402
from .notebook.session import device, seed_everything, setup  # noqa: E402
from .functional import moments, normalize, standardize  # noqa: E402
from .notebook.i18n import pad, pick, tr  # noqa: E402
from .factory import make_norm  # noqa: E402

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "ClaimFailed", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "RMSNorm", "SyncBatchNorm", "claim", "claims",
    "cube", "data", "device", "distributed", "factory", "functional", "i18n", "inspect", "layers",
    "make_norm", "models", "moments", "normalize", "pad", "pick", "seed_everything", "setup",
    "standardize", "style", "summary", "tr", "train", "weight_norm", "widgets",
]
