"""The strict HTML build (warnings are errors), and what the built pages must contain."""

import json
import os
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
    # --all: every page is read and written again, so no warning hides in an unchanged page
    cmd = [str(BIN / "jupyter-book"), "build", str(ROOT), "--builder", "html", "--all",
           "--warningiserror", "--nitpick", "--keep-going"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, f"strict build failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return HTML


def pages():
    """(edition, page) for every page of both editions."""
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


# --- In a real browser -----------------------------------------------------------------------
# Headless Chromium loads every page from a local HTTP server, with every other host unresolvable.
# Screenshots (full page, half scale) go to _build/screenshots/ for people to look at.

SCREENSHOTS = ROOT / "_build" / "screenshots"


@pytest.fixture(scope="module")
def browser(built):
    import browser as chromium
    executable = chromium.find_chromium()
    if executable is None:
        if os.environ.get("NORMBOOK_REQUIRE_BROWSER"):
            pytest.fail("NORMBOOK_REQUIRE_BROWSER is set but Chromium is not installed")
        pytest.skip("Chromium not found: install the Debian package 'chromium' "
                    "(apt-get install chromium; .ci/run does this) to run the browser tests")
    with chromium.serve(built) as base:
        session = chromium.Chromium(executable)
        try:
            yield base, session
        finally:
            session.close()


def _hangul_drawn_by_nanum(report):
    """Problems with the Hangul text marked on the page: each must be drawn by the web font."""
    problems = []
    for count, html, fonts in report.hangul_fonts:
        nanum = sum(f["glyphCount"] for f in fonts if f["familyName"].startswith("NanumGothic"))
        if nanum != count:
            problems.append(f"{count} Hangul characters, {nanum} drawn by NanumGothic "
                            f"({[(f['familyName'], f['glyphCount']) for f in fonts]}): {html}")
    return problems


def browser_pages():
    return [("book", "index.html")] + pages()


@pytest.mark.parametrize("lang,page", browser_pages())
def test_page_in_a_browser(browser, lang, page):
    base, session = browser
    path = f"book/{page}" if lang == "book" else f"book/{lang}/{page}"
    shot = SCREENSHOTS / path.replace(".html", ".png")
    report = session.inspect(base + path, screenshot=shot)
    facts = report.facts
    assert report.outside(base) == [], "requests left localhost"
    assert report.errors == [], "console errors"
    assert shot.stat().st_size > 10_000, "screenshot"
    # Hangul is drawn by the served NanumGothic, not by a fallback with missing-glyph boxes
    assert facts["hangulNodes"] >= 1, "no Hangul found on the page"
    assert _hangul_drawn_by_nanum(report) == []
    # equations: every one typeset by MathJax, none in error
    assert facts["mathRendered"] == facts["math"] and facts["mathErrors"] == 0, facts
    # figures: every image loaded and decoded
    assert facts["brokenImages"] == [] and facts["imagesLoaded"] == facts["images"], facts
    if page.endswith(".html") and page[:2].isdigit():  # a chapter
        assert facts["math"] > 0 and facts["images"] > 0, facts
    # widgets: each saved widget view rendered by the embedder
    assert facts["widgetsRendered"] >= facts["widgetViews"], facts
    if lang == "book":
        return
    assert facts["lang"] == lang
    other = "en" if lang == "ko" else "ko"
    assert facts["counterpart"] == f"{base}book/{other}/{page}" and facts["counterpartLang"] == other
    import urllib.request
    with urllib.request.urlopen(facts["counterpart"], timeout=10) as response:
        assert response.status == 200
        assert f'lang="{other}"' in response.read().decode("utf-8")


def test_widget_pages_render_their_widgets(browser):
    """The batch-mean explorer of chapter 2 is drawn, in both editions, with no kernel."""
    base, session = browser
    for lang in EDITIONS:
        facts = session.inspect(f"{base}book/{lang}/02_batch_size.html").facts
        assert facts["widgetViews"] >= 1 and facts["widgetsRendered"] >= facts["widgetViews"]


@pytest.mark.parametrize("query,expected", [
    ("정규화를", "book/ko/01_why_normalize.html"),   # particle attached
    ("배치는", "book/ko/02_batch_size.html"),
    ("평균과 분산을", "book/ko/03_batch_norm.html"),
    ("normalizing", "book/en/01_why_normalize.html"),  # English stemming still works
    ("batches", "book/en/02_batch_size.html"),
])
def test_search_finds_korean_words_with_particles(browser, query, expected):
    base, session = browser
    found = session.search(base + "search.html", query)
    assert base + expected in [u.split("#")[0].split("?")[0] for u in found], found


def test_search_stems_queries_as_the_index_does(browser):
    """The browser strips particles exactly as the Python side did when it built the index."""
    import sys
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        from korean_search import KoreanEnglishSearch
    finally:
        sys.path.pop(0)
    lang = KoreanEnglishSearch({})
    words = ["정규화를", "정규화", "차이", "결과", "층에서", "BN을", "평균이", "값들을", "배치는",
             "신경망의", "normalization", "batches", "running", "이", "가"]
    base, session = browser
    session.open(base + "search.html")
    js = session.evaluate("(() => { const s = new Stemmer(); return %s.map(w => s.stemWord(w)); })()"
                          % json.dumps(words, ensure_ascii=False))
    assert js == [lang.stem(w).lower() for w in words]
    assert js[:4] == ["정규화", "정규화", "차이", "결과"]


@pytest.mark.parametrize("lang", EDITIONS)
def test_chapter_pages_have_binder_and_colab_buttons(built, lang):
    from test_launch import derived_links
    links = derived_links()
    for nb in notebooks(lang):
        html = (built / "book" / lang / nb.with_suffix(".html").name).read_text(encoding="utf-8")
        path = f"book/{lang}/{nb.name}"
        assert f'href="{links["binder"]}?urlpath=lab/tree/{path}"' in html, path
        assert f'href="{links["colab"]}{path}"' in html, path


@pytest.mark.parametrize("lang", EDITIONS)
def test_exercises_are_numbered_by_chapter_in_the_pages_language(built, lang):
    word = {"ko": "연습 문제", "en": "Exercise"}[lang]
    for nb in notebooks(lang):
        chapter = int(nb.name[:2])
        html = (built / "book" / lang / nb.with_suffix(".html").name).read_text(encoding="utf-8")
        captions = re.findall(r'<span class="caption-number">(.*?) </span>', html)
        numbers = [c for c in captions if c.startswith(word)]
        assert numbers and numbers == [f"{word} {chapter}.{i}" for i in range(1, len(numbers) + 1)]
        # figures too are numbered by chapter, in the page's language (book/_ext/numbering.py)
        figure = {"ko": "그림", "en": "Figure"}[lang]
        figures = [c for c in captions if not c.startswith(word)]
        assert figures == [f"{figure} {chapter}.{i}" for i in range(1, len(figures) + 1)], figures
        if lang == "ko":
            body = html[html.index('<article'):html.index('</article>')]
            for english in ("Exercise", "Solution to", ">Note<", "Click to show"):
                assert english not in body, f"{nb.name}: '{english}' on a Korean page"
            assert len(re.findall(rf">{word} {chapter}\.\d+</a> 풀이<", html)) == len(numbers)


@pytest.mark.parametrize("lang,page", pages())
def test_the_interface_speaks_the_pages_language(built, lang, page):
    """Search, previous/next, sidebars and launch buttons are labelled in the page's language."""
    html = (built / "book" / lang / page).read_text(encoding="utf-8")
    korean = ('title="검색"', 'title="왼쪽 사이드바 열고 닫기"', 'title="PDF로 인쇄"')
    english = ('title="Search"', 'title="Toggle primary sidebar"', 'title="Print to PDF"')
    expected, absent = (korean, english) if lang == "ko" else (english, korean)
    for label in expected:
        assert label in html, label
    for label in absent:
        assert label not in html, label


def _chapter_pages():
    return [(lang, nb.with_suffix(".html").name) for lang in EDITIONS for nb in notebooks(lang)]


@pytest.mark.parametrize("lang,page", _chapter_pages())
def test_equations_are_numbered_by_chapter_and_references_match(built, lang, page):
    """Equations render as (chapter.k) from 1 in page order, and each {eq} reference shows the
    number of the equation it links to (book/_ext/numbering.py)."""
    html = (built / "book" / lang / page).read_text(encoding="utf-8")
    chapter = int(page[:2])
    shown = re.findall(r'id="equation-([^"]+)"[^>]*>.*?class="eqno">\(([^)]*)\)', html, flags=re.S)
    numbers = dict(shown)
    assert [n for _, n in shown] == [f"{chapter}.{k}" for k in range(1, len(shown) + 1)], shown
    refs = re.findall(r'<a class="reference internal" href="#equation-([^"]+)">\(([^)]*)\)</a>', html)
    for label, number in refs:
        assert numbers.get(label) == number, f"{{eq}}`{label}` shows ({number})"


@pytest.mark.parametrize("name", [nb.name for nb in notebooks("en")])
def test_both_editions_number_equations_alike(built, name):
    page = name.replace(".ipynb", ".html")
    found = {}
    for lang in EDITIONS:
        html = (built / "book" / lang / page).read_text(encoding="utf-8")
        found[lang] = [(label.split("-", 1)[1], n) for label, n in re.findall(
            r'id="equation-([^"]+)"[^>]*>.*?class="eqno">\(([^)]*)\)', html, flags=re.S)]
    assert found["ko"] == found["en"]
