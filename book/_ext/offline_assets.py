"""Serve MathJax and a Hangul font from the book itself, so pages render with no network.

- MathJax is a declared npm dependency (``package.json``); ``make book`` installs it into
  ``node_modules/``.  ``mathjax_path`` points at a copy under ``_static/mathjax/``, made when the
  build finishes.
- NanumGothic (SIL Open Font License) comes from the koreanize-matplotlib wheel that
  ``requirements.txt`` installs for the figures; it is copied to ``_static/fonts/`` and declared
  with ``@font-face`` in ``normbook.css``, so Hangul renders even where no Korean font is installed.
"""

import pathlib
import shutil
import sys

from sphinx.errors import ExtensionError

MATHJAX_ES5 = pathlib.Path("node_modules") / "mathjax" / "es5"


def _source(app):
    return pathlib.Path(app.confdir) / MATHJAX_ES5


def check_mathjax(app, config):
    if not (_source(app) / "tex-chtml.js").is_file():
        raise ExtensionError(
            f"MathJax is missing at {_source(app)}; run 'npm ci' in the repository root "
            "(make book does this) so that the book can serve it without a network")
    config.mathjax_path = "mathjax/tex-chtml.js"


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = pathlib.Path(app.outdir) / "_static" / "mathjax"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(_source(app), target)


def copy_hangul_font(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    sys.path.insert(0, str(app.confdir))
    try:
        from normlib.fonts import hangul_font_files
    finally:
        sys.path.pop(0)
    from fontTools.ttLib import TTFont  # matplotlib's own dependency
    target = pathlib.Path(app.outdir) / "_static" / "fonts"
    target.mkdir(parents=True, exist_ok=True)
    for path in hangul_font_files():
        font = TTFont(str(path))
        # The shipped files carry empty VTT hinting-source tables (TSI0-TSI5); browsers' font
        # sanitizer (OTS) rejects a font with a zero-length table, so drop them.
        for tag in [t for t in font.keys() if t.startswith("TSI")]:
            del font[tag]
        font.save(str(target / path.name))


def setup(app):
    app.connect("config-inited", check_mathjax)
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", copy_hangul_font)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
