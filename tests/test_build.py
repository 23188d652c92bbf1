"""The strict HTML build (warnings are errors), and what the built pages must contain."""

import re
import subprocess
import sys
import pathlib

import pytest

from book_tools import EDITIONS, notebooks
from conftest import ROOT

HTML = ROOT / "_build" / "html"
BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="module")
def built():
    cmd = [str(BIN / "jupyter-book"), "build", str(ROOT), "--builder", "html",
           "--warningiserror", "--nitpick", "--keep-going"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, f"strict build failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return HTML


def pages():
    out = []
    for lang in EDITIONS:
        for p in notebooks(lang) + sorted((ROOT / "book" / lang).glob("*.md")):
            out.append((lang, p.with_suffix(".html").name))
    return out


@pytest.mark.parametrize("lang,page", pages())
def test_page_declares_language_and_links_counterpart(built, lang, page):
    html = (built / "book" / lang / page).read_text(encoding="utf-8")
    assert re.search(rf'<html[^>]*\blang="{lang}"', html), "page must declare its language"
    other = "en" if lang == "ko" else "ko"
    assert f'href="../{other}/{page}"' in html, "page must link its counterpart"
    assert (built / "book" / other / page).is_file()


def _external_assets(html):
    refs = re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    return [r for r in refs if re.match(r"(https?:)?//", r)]


@pytest.mark.parametrize("lang,page", pages())
def test_page_loads_nothing_from_the_network(built, lang, page):
    html = (built / "book" / lang / page).read_text(encoding="utf-8")
    assert _external_assets(html) == []
    if 'class="math' in html:  # a page with equations loads the book's own MathJax
        assert re.search(r'<script[^>]+src="[./]*_static/mathjax/tex-chtml\.js', html)


def test_mathjax_and_hangul_font_are_served_locally(built):
    assert (built / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert (built / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert (built / "_static" / "fonts" / "NanumGothic.ttf").stat().st_size > 1_000_000
    from fontTools.ttLib import TTFont
    font = TTFont(str(built / "_static" / "fonts" / "NanumGothic.ttf"))
    empty = [tag for tag in font.reader.keys() if font.reader.tables[tag].length == 0]
    assert empty == [], f"browsers reject fonts with zero-length tables: {empty}"
    assert ord("정") in font.getBestCmap()
    css = (built / "_static" / "normbook.css").read_text(encoding="utf-8")
    assert 'url("fonts/NanumGothic.ttf")' in css


@pytest.mark.parametrize("lang", EDITIONS)
def test_chapter_pages_have_figures_math_and_hidden_solutions(built, lang):
    for nb in notebooks(lang):
        html = (built / "book" / lang / nb.with_suffix(".html").name).read_text(encoding="utf-8")
        assert '<img alt=' in html and "data:image/png" in html or "_images/" in html
        assert 'class="math' in html
        assert "solution" in html and "dropdown" in html


@pytest.mark.parametrize("lang", EDITIONS)
def test_widget_pages_load_the_books_own_embedder(built, lang):
    import json
    pages_with_widgets = [nb for nb in notebooks(lang)
                          if json.loads(nb.read_text(encoding="utf-8")).get("metadata", {}).get("widgets")]
    for nb in pages_with_widgets:
        html = (built / "book" / lang / nb.with_suffix(".html").name).read_text(encoding="utf-8")
        assert 'type="application/vnd.jupyter.widget-state+json"' in html
        for script in ("widgets/require.js", "widget-assets.js", "widgets/embed-amd.js"):
            assert re.search(rf'<script[^>]+src="[./]*_static/{re.escape(script)}', html), script
    assert (built / "_static" / "widgets" / "embed-amd.js").is_file()
