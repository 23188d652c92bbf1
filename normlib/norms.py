"""The factory is now :mod:`normlib.factory`; this name stays importable."""

from .factory import BACKENDS, NORMS, has_shift, make_norm  # noqa: F401
