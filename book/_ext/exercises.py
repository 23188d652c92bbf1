"""Exercises numbered by chapter (3.1, 3.2, ...) in both editions, titled in the page's language.

sphinx-exercise numbers exercises with Sphinx's figure counter, which runs through the whole book:
the Korean chapters would hold exercises 1 to 9 and the English ones 10 to 18, and every title would
read "Exercise", in English, on the Korean pages too. This extension

- renumbers each chapter's exercises as chapter.n, after Sphinx has assigned its numbers, so the
  titles, the solutions' titles and every reference agree, and both editions number alike;
- on Korean pages, writes "연습 문제 3.1" for "Exercise 3.1" and "연습 문제 3.1 풀이" for
  "Solution to Exercise 3.1".
"""

import re

from bilingual import edition_of

CHAPTER = re.compile(r"^(\d+)_")


def chapter_number(docname):
    _, rest = edition_of(docname)
    match = CHAPTER.match(rest or "")
    return int(match.group(1)) if match else None


def renumber(app, env):
    changed = []
    for docname, numbers in env.toc_fignumbers.items():
        exercises = numbers.get("exercise")
        chapter = chapter_number(docname)
        if not exercises or chapter is None:
            continue
        ordered = sorted(exercises, key=lambda ident: exercises[ident])
        for local, ident in enumerate(ordered, start=1):
            exercises[ident] = (chapter, local)
        changed.append(docname)
    return changed


KO_SOLUTION = re.compile(r"Solution to(<a [^>]*>)\s*Exercise (\d+\.\d+)(</a>)")
KO_EXERCISE = re.compile(r"\bExercise (\d+\.\d+)")


def korean_titles(app, pagename, templatename, context, doctree):
    lang, _ = edition_of(pagename)
    if lang != "ko" or "body" not in context:
        return
    body = KO_SOLUTION.sub(r"\1연습 문제 \2\3 풀이", context["body"])
    context["body"] = KO_EXERCISE.sub(r"연습 문제 \1", body)


def setup(app):
    app.setup_extension("sphinx_exercise")
    # after Sphinx's own TocTreeCollector has assigned the book-wide numbers
    app.connect("env-get-updated", renumber, priority=900)
    app.connect("html-page-context", korean_titles, priority=2)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
