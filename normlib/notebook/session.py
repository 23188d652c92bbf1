"""``setup()``: the first call in every chapter, and the session it sets (language, seed, threads,
device, figure style)."""

import os
import random

import numpy as np
import torch

from . import claims, i18n, style

_device = torch.device("cpu")


def seed_everything(seed):
    """Seed Python's, NumPy's and torch's generators with ``seed`` (an int ≥ 0)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA too, when present


def _resolve_device(device):
    if device is None:
        device = os.environ.get("NORMLIB_DEVICE", "cpu")
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be 'cpu', 'cuda', 'auto' or a torch.device, got {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but torch sees no CUDA device")
    if not (device == "cpu" or device.startswith("cuda")):
        raise ValueError(f"device must be 'cpu', 'cuda', 'auto' or 'cuda:N', got {device!r}")
    return torch.device(device)


def setup(lang="en", seed=0, device=None, threads=None, quiet=False):
    """Prepare a chapter: language, seeds, threads, figure style and font, device.

    - ``lang``: "ko" or "en"; normlib's figure labels and messages follow it.
    - ``seed``: seeds Python, NumPy and torch.
    - ``device``: "cpu" (the default), "cuda", "auto", or from the environment variable
      ``NORMLIB_DEVICE``; read the chosen one back with :func:`device`.
    - ``threads``: torch's CPU threads; 1 by default (or ``NORMLIB_THREADS``), so that results
      do not depend on the machine's core count and notebooks can run side by side.

    It also flushes denormal numbers (magnitudes below 1.2e-38 in float32) to zero on the CPU.
    x86 processors compute with them up to a hundred times more slowly, and small networks
    trained without normalization produce them: one of chapter 3's runs takes half the time
    without them, with the same printed results.
    """
    global _device
    i18n.set_language(lang)
    _explain_errors_in_notebooks()
    if threads is None:
        threads = int(os.environ.get("NORMLIB_THREADS", "1"))
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)  # returns False where the CPU cannot; then nothing changes
    seed_everything(seed)
    _device = _resolve_device(device)
    style.set_style()
    claims.reset()
    if not quiet:
        from .. import __version__
        print(i18n.tr("setup", version=__version__, seed=seed, device=_device.type))
    return _device


def _explain_errors_in_notebooks():
    """In a notebook, print the edition's rendering of a normlib error under its traceback.

    normlib raises its errors in English (tests and search engines read them); where
    :func:`normlib.notebook.i18n.explain` knows a message, a Korean reader also sees it in Korean.
    Outside IPython this does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def show(shell, etype, value, tb, tb_offset=None):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        explained = i18n.explain(value)
        if explained != str(value):
            print(i18n.tr("error_explained", message=explained))

    shell.set_custom_exc((ValueError, TypeError, RuntimeError), show)


def device():
    """The device chosen by the last ``setup()`` (CPU before any)."""
    return _device
