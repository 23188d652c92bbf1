"""normlib: the small shared library of The Normalization Book (정규화 교과서).

Every chapter starts with::

    import normlib as nl
    nl.setup(lang="ko", seed=0)   # or lang="en"
"""

__version__ = "0.1.0"

from . import data, functional, i18n, inspect, models, plots, train, widgets  # noqa: E402
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d  # noqa: E402
from .claims import ClaimFailed, claim, summary  # noqa: E402
from .config import device, seed_everything, setup  # noqa: E402
from .functional import moments, normalize, standardize  # noqa: E402
from .i18n import pad, pick, tr  # noqa: E402
from .norms import make_norm  # noqa: E402

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "ClaimFailed", "claim", "data", "device",
    "functional", "i18n", "inspect", "make_norm", "models", "moments", "normalize", "pad", "pick", "plots",
    "seed_everything", "setup", "standardize", "summary", "tr", "train", "widgets",
]
