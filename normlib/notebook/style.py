"""The book's figure style, and a figure font with Hangul glyphs that needs no system font and
no network.

The NanumGothic font (SIL Open Font License) ships inside the ``koreanize-matplotlib`` wheel on
PyPI, which ``requirements.txt`` installs.  We only *read the font file* from that wheel; we do not
import the package, because its module imports ``distutils``, which Python 3.12 removed.
"""

import importlib.util
import pathlib

import matplotlib
from matplotlib import font_manager

FONT_FAMILY = "NanumGothic"
FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf")


def hangul_font_files():
    """Paths of the bundled NanumGothic files.  Raises RuntimeError when they are missing."""
    spec = importlib.util.find_spec("koreanize_matplotlib")  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "normlib needs the 'koreanize-matplotlib' package for its Hangul font; "
            "install the book's requirements: pip install -r requirements.txt")
    folder = pathlib.Path(list(spec.submodule_search_locations)[0]) / "fonts"
    files = [folder / name for name in FONT_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise RuntimeError(f"Hangul font files not found: {missing}")
    return files


def use_hangul_font():
    """Register NanumGothic with matplotlib and put it in the font fallback list.

    DejaVu Sans stays first, so Latin letters, digits and the mathematical minus sign look as usual;
    matplotlib falls back to NanumGothic glyph by glyph for Hangul.
    """
    for path in hangul_font_files():
        font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", FONT_FAMILY]
    return FONT_FAMILY


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
