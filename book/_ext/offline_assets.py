"""Serve MathJax and a Hangul font from the book itself, so pages render with no network.

- MathJax is a declared npm dependency (``package.json``); ``make book`` installs it into
  ``node_modules/``.  ``mathjax_path`` points at a copy under ``_static/mathjax/``, made when the
  build finishes.
- The ipywidgets embedder (``@jupyter-widgets/html-manager``) and RequireJS, also npm
  dependencies, are copied to ``_static/widgets/``; ``nb_ipywidgets_js`` in ``_config.yml`` points
  the pages that hold widget state there instead of to a CDN.
- NanumGothic (SIL Open Font License) comes from the koreanize-matplotlib wheel that
  ``requirements.txt`` installs for the figures; it is copied to ``_static/fonts/`` and declared
  with ``@font-face`` in ``normbook.css``, so Hangul renders even where no Korean font is installed.
"""

import pathlib
import shutil
import sys

from sphinx.errors import ExtensionError

MATHJAX_ES5 = pathlib.Path("node_modules") / "mathjax" / "es5"
WIDGETS_DIST = pathlib.Path("node_modules") / "@jupyter-widgets" / "html-manager" / "dist"
REQUIRE_JS = pathlib.Path("node_modules") / "requirejs" / "require.js"


def _source(app):
    return pathlib.Path(app.confdir) / MATHJAX_ES5


def check_mathjax(app, config):
    root = pathlib.Path(app.confdir)
    for needed in (_source(app) / "tex-chtml.js", root / WIDGETS_DIST / "embed-amd.js", root / REQUIRE_JS):
        if not needed.is_file():
            raise ExtensionError(
                f"{needed} is missing; run 'npm ci' in the repository root (make book does "
                "this) so that the book can serve its scripts without a network")
    config.mathjax_path = "mathjax/tex-chtml.js"


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = pathlib.Path(app.outdir) / "_static" / "mathjax"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(_source(app), target)


def copy_widget_scripts(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    root = pathlib.Path(app.confdir)
    target = pathlib.Path(app.outdir) / "_static" / "widgets"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(root / WIDGETS_DIST, target)
    shutil.copy2(root / REQUIRE_JS, target / "require.js")


def copy_hangul_font(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    sys.path.insert(0, str(app.confdir))
    try:
        from normlib.notebook.style import hangul_font_files
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
    app.connect("build-finished", copy_widget_scripts)
    app.connect("build-finished", copy_hangul_font)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
