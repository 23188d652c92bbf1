"""Equations, figures and tables numbered per chapter, the same in both editions.

Sphinx numbers every captioned figure and labelled equation of an unnumbered book in one sequence
across all its pages, so the English chapter 2 showed its equations as (10) and (11) because the
Korean chapters came first. This extension renumbers them by chapter, taken from the file name
(``book/ko/03_batch_norm`` is chapter 3): equations (3.1), (3.2), ...; Figure 3.1 / 그림 3.1. A
reference written with ``{eq}`` or ``{numref}`` shows the same number as its target.

On Korean pages the words of ``{numref}`` and of figure captions are Korean (그림, 표, 코드, 절).
"""

import re

from sphinx.environment import BuildEnvironment

CHAPTER = re.compile(r"^book/(?P<lang>ko|en)/(?P<chapter>\d\d)_")

FORMATS = {
    "en": {"figure": "Figure %s", "table": "Table %s", "code-block": "Listing %s",
           "section": "Section %s"},
    "ko": {"figure": "그림 %s", "table": "표 %s", "code-block": "코드 %s", "section": "%s절"},
}


def _formats_for(docname, numfig_format):
    """Put the words of ``docname``'s edition into ``numfig_format`` (the config's own dict, changed
    in place just before Sphinx resolves and writes that page: it writes one page at a time)."""
    m = re.match(r"^book/(ko|en)/", docname)
    numfig_format.update(FORMATS["ko" if m and m[1] == "ko" else "en"])


def per_chapter(app, env):
    """Renumber what Sphinx numbered (after its own numbering, on every build)."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        m = CHAPTER.match(docname)
        if not m:
            continue
        chapter = int(m["chapter"])
        for numbers in by_type.values():
            for k, node_id in enumerate(numbers, start=1):   # document order
                if numbers[node_id] != (chapter, k):
                    numbers[node_id] = (chapter, k)
                    changed.append(docname)
    return sorted(set(changed))


_resolve = BuildEnvironment.get_and_resolve_doctree


def _resolve_in_the_pages_language(self, docname, *args, **kwargs):
    _formats_for(docname, self.config.numfig_format)
    return _resolve(self, docname, *args, **kwargs)


def install_formats(app, config):
    config.numfig = True
    config.numfig_format = {**(config.numfig_format or {}), **FORMATS["en"]}


def setup(app):
    BuildEnvironment.get_and_resolve_doctree = _resolve_in_the_pages_language
    app.connect("config-inited", install_formats, priority=900)  # after sphinx-exercise adds its own
    app.connect("env-get-updated", per_chapter, priority=900)  # after Sphinx's toctree collector
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
