"""The theme's own words (Search, Contents, Previous, Next, ...) in Korean on Korean pages.

The book is one Sphinx project in English, so every page gets the English interface. Before a page
of the Korean edition is rendered, this extension gives the page templates the Korean message
catalogs that Sphinx and sphinx-book-theme ship (with the few words they lack, in ``_BookWords``),
and gives the English ones back afterwards. The themes also write some words straight into their
templates and Python code, untranslatable; once the build has finished, those are replaced in the
Korean pages' attributes and labels, from the same table.
"""

import gettext
import html
import pathlib
import re

import sphinx
from sphinx.util import logging

from bilingual import edition_of

logger = logging.getLogger(__name__)


class _BookWords(gettext.NullTranslations):
    """The theme's words that no installed catalog has in Korean (pydata-sphinx-theme ships none)."""

    WORDS = {
        "Contents": "목차",
        "Back to top": "맨 위로",
        "Skip to main content": "본문으로 건너뛰기",
        "Color mode": "화면 색상",
        "Light": "밝게",
        "Dark": "어둡게",
        "System Settings": "시스템 설정",
        "Toggle primary sidebar": "왼쪽 사이드바 열고 닫기",
        "Toggle secondary sidebar": "오른쪽 사이드바 열고 닫기",
        "Fullscreen mode": "전체 화면",
        "Print to PDF": "PDF로 인쇄",
        "Download source file": "원본 파일 내려받기",
        "Download this page": "이 페이지 내려받기",
        "Source repository": "저장소",
        "Launch on Binder": "Binder에서 열기",
        "Launch on Colab": "Colab에서 열기",
        "Link to this heading": "이 제목으로 가는 링크",
        "Link to this equation": "이 식으로 가는 링크",
    }

    def gettext(self, message):
        return self.WORDS.get(message, message)

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


def _korean_catalog():
    """Sphinx's and sphinx-book-theme's Korean catalogs, the first one that knows a word wins."""
    dirs = [(pathlib.Path(sphinx.__file__).parent / "locale", "sphinx")]
    try:
        import sphinx_book_theme
        dirs.append((pathlib.Path(sphinx_book_theme.__file__).parent / "theme" / "sphinx_book_theme"
                     / "static" / "locales", "booktheme"))
    except ImportError:
        pass
    catalog = None
    for localedir, domain in dirs:
        try:
            found = gettext.translation(domain, localedir=str(localedir), languages=["ko"])
        except OSError:
            continue
        if catalog is None:
            catalog = found
        else:
            catalog.add_fallback(found)
    if catalog is None:
        return None
    catalog.add_fallback(_BookWords())
    return catalog


def switch_catalog(app, pagename, templatename, context, doctree):
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is None or not hasattr(environment, "install_gettext_translations"):
        return
    lang, _ = edition_of(pagename)
    korean = _CATALOG.get("ko") if lang == "ko" else None
    environment.install_gettext_translations(korean or app.translator)


_CATALOG = {}  # not on app.env: the environment is pickled, message catalogs need not be


def load_catalog(app):
    _CATALOG["ko"] = _korean_catalog()
    if _CATALOG["ko"] is None:
        logger.warning("korean_ui: no Korean message catalog found; Korean pages keep English UI words")


def translate_fixed_words(app, exception):
    """Words the themes write without a catalog: title/aria-label attributes and the page-TOC
    heading, in the Korean edition's pages."""
    if exception is not None or app.builder.format != "html":
        return
    words = _BookWords.WORDS
    attribute = re.compile(r'\b(title|aria-label|data-bs-title)="([^"]*)"')
    heading = re.compile(r'(<i class="fa-solid fa-list"></i>\s*)Contents(\s*<)')
    for page in (pathlib.Path(app.outdir) / "book" / "ko").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = attribute.sub(lambda m: f'{m[1]}="{html.escape(words.get(html.unescape(m[2]), html.unescape(m[2])))}"', text)
        new = heading.sub(lambda m: m[1] + words["Contents"] + m[2], new)
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app):
    app.connect("build-finished", translate_fixed_words)
    app.connect("builder-inited", load_catalog)
    app.connect("html-page-context", switch_catalog, priority=3)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
