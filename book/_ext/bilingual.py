"""Two editions in one Sphinx book.

For every page under ``book/ko/`` or ``book/en/`` this extension
- declares the page's language: ``<html lang="ko">`` or ``<html lang="en">``;
- puts a link to the same page in the other edition at the top of the page;
- fails the build (as a warning, which the book treats as an error) when a page has no
  counterpart in the other edition.
"""

from sphinx.util import logging

logger = logging.getLogger(__name__)

EDITIONS = {"ko": ("en", "English edition"), "en": ("ko", "한국어판")}


def edition_of(docname):
    parts = docname.split("/")
    if len(parts) >= 3 and parts[0] == "book" and parts[1] in EDITIONS:
        return parts[1], "/".join(parts[2:])
    return None, None


def counterpart(docname):
    lang, rest = edition_of(docname)
    if lang is None:
        return None
    return f"book/{EDITIONS[lang][0]}/{rest}"


def check_counterparts(app, env):
    for docname in sorted(env.found_docs):
        other = counterpart(docname)
        if other is not None and other not in env.found_docs:
            logger.warning(f"{docname} has no counterpart {other} in the other edition",
                           location=docname)
    return []


def add_language_and_switch(app, pagename, templatename, context, doctree):
    lang, _ = edition_of(pagename)
    if lang is None:
        return
    context["language"] = lang  # read by the theme's <html lang="..."> template
    other = counterpart(pagename)
    if other not in app.env.found_docs or "body" not in context:
        return
    other_lang, label = EDITIONS[lang]
    href = app.builder.get_relative_uri(pagename, other)
    link = (f'<p class="nl-edition-switch"><a href="{href}" hreflang="{other_lang}" '
            f'lang="{other_lang}">{label} →</a></p>\n')
    context["body"] = link + context["body"]


def setup(app):
    app.connect("env-check-consistency", lambda app, env: check_counterparts(app, env))
    app.connect("html-page-context", add_language_and_switch)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
