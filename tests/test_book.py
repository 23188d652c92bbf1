"""Book integrity: TOC, edition parity (BOOK_GUIDE §4), notebooks stored executed, conventions."""

import re

import pytest

from book_tools import EDITIONS, ROOT, labels, load, masked, notebooks, source, toc_files

NAMES = sorted({p.name for lang in EDITIONS for p in notebooks(lang)})


def test_there_are_chapters():
    assert NAMES, "no notebooks under book/ko or book/en"


def test_toc_entries_exist_and_every_notebook_is_in_the_toc():
    root, files = toc_files()
    entries = [root] + files
    for entry in entries:
        candidates = [ROOT / f"{entry}{ext}" for ext in (".ipynb", ".md")]
        assert any(c.is_file() for c in candidates), f"TOC entry {entry} has no file"
    in_toc = set(entries)
    for lang in EDITIONS:
        for path in notebooks(lang) + sorted((ROOT / "book" / lang).glob("*.md")):
            doc = path.relative_to(ROOT).with_suffix("").as_posix()
            assert doc in in_toc, f"{doc} is not in _toc.yml"


def test_both_editions_have_the_same_pages_in_the_same_order():
    _, files = toc_files()
    ko = [f.split("/", 2)[2] for f in files if f.startswith("book/ko/")]
    en = [f.split("/", 2)[2] for f in files if f.startswith("book/en/")]
    assert ko == en
    for lang in EDITIONS:
        assert {p.name for p in notebooks(lang)} == set(NAMES)
        md = {p.name for p in (ROOT / "book" / lang).glob("*.md")}
        other = {p.name for p in (ROOT / "book" / EDITIONS[1 - EDITIONS.index(lang)]).glob("*.md")}
        assert md == other


@pytest.mark.parametrize("name", NAMES)
def test_editions_have_the_same_cells_and_code(name):
    ko, en = (load(ROOT / "book" / lang / name) for lang in EDITIONS)
    assert [c["cell_type"] for c in ko["cells"]] == [c["cell_type"] for c in en["cells"]]
    for i, (a, b) in enumerate(zip(ko["cells"], en["cells"])):
        if a["cell_type"] == "code":
            assert masked(source(a)) == masked(source(b)), f"code cell {i} differs beyond strings"
            assert a.get("metadata", {}).get("tags", []) == b.get("metadata", {}).get("tags", []), \
                f"cell {i} tags differ"


@pytest.mark.parametrize("name", NAMES)
def test_editions_have_the_same_labels_modulo_prefix(name):
    found = {}
    for lang in EDITIONS:
        ls = labels(load(ROOT / "book" / lang / name))
        assert all(l.startswith(f"{lang}-") for l in ls), f"{lang}/{name}: labels need '{lang}-'"
        assert len(ls) == len(set(ls)), f"{lang}/{name}: duplicate labels"
        found[lang] = [l[3:] for l in ls]
    assert found["ko"] == found["en"]


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("name", NAMES)
def test_first_code_cell_sets_up_the_edition(lang, name):
    nb = load(ROOT / "book" / lang / name)
    code = [source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "no code"
    assert "import normlib as nl" in code[0]
    assert re.search(rf'nl\.setup\(lang="{lang}", seed=\d+', code[0]), code[0]


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_executed_top_to_bottom(lang, name):
    nb = load(ROOT / "book" / lang / name)
    counts = [c.get("execution_count") for c in nb["cells"]
              if c["cell_type"] == "code" and source(c).strip()]
    assert None not in counts, "some code cells were never executed"
    assert counts == list(range(1, len(counts) + 1)), "cells were not run once, in order"
    for c in nb["cells"]:
        for out in c.get("outputs", []):
            assert out.get("output_type") != "error", "a stored output is an error"
            if out.get("name") == "stderr":
                pytest.fail(f"stderr output stored: {''.join(out.get('text', ''))[:200]}")


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("name", NAMES)
def test_chapter_has_claims_exercises_solutions_and_references(lang, name):
    nb = load(ROOT / "book" / lang / name)
    md = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "code")
    assert len(re.findall(r"\bnl\.claim\(", code)) >= 6, "a chapter checks at least 6 claims"
    assert "nl.summary()" in code.strip().splitlines()[-1] or "nl.summary()" in code
    assert re.search(r"^```\{exercise\}", md, re.M), "no exercises"
    assert re.search(r"^```\{solution\}", md, re.M), "no solutions"
    assert ":class: dropdown" in md, "solutions are hidden behind a toggle"
    assert "{footcite" in md and "{footbibliography}" in md, "cites papers and lists them"
    assert re.search(r"^# ", md, re.M), "has a title"


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("name", NAMES)
def test_no_raw_float_tensors_in_outputs(lang, name):
    nb = load(ROOT / "book" / lang / name)
    for c in nb["cells"]:
        for out in c.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"tensor\(\[?-?\d+\.\d{5,}", text), f"raw float tensor: {text[:120]}"


def test_glossary_terms_used_exist():
    for lang in EDITIONS:
        gloss = (ROOT / "book" / lang / "glossary.md").read_text(encoding="utf-8")
        body = gloss.split("```{glossary}", 1)[1]
        terms = {t.lower() for t in re.findall(r"^(\S[^\n]*)\n  \S", body, re.M)}
        for path in notebooks(lang):
            md = "\n".join(source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown")
            for used in re.findall(r"\{term\}`([^`<]+?)(?:\s*<([^>]+)>)?`", md):
                term = used[1] or used[0]
                assert term.strip().lower() in terms, f"{path.name} uses undefined term {term!r}"


# "eq. 2", "Equation (3)", "Eqs. (1) and (2)", "식 1을", "수식 (2)의", "(1)에서", and the book's own
# rendered form "(3.2)" typed into prose (a ratio such as "(1.5×)" or a setting "(0.9)" is not one)
TYPED_EQUATION_NUMBER = re.compile(
    r"(?:\b[Ee]q(?:uation)?s?\.?|(?<![가-힣])(?:식|수식))\s*~?\(?[1-9]\d*(?:\.\d+)?\)?(?![\d.]*[%×x])"
    r"|(?<![\w{`])\([1-9]\d*\)(?=\s*(?:에서|의|과|와|을|를|이|가|은|는))"
    r"|(?<![\w{`$.])\((?:[1-9]|1[0-9])\.[1-9]\d?\)(?![\w%])")


@pytest.mark.parametrize("typed", ["eq. 2", "Equation 3", "Eq.~(1)", "Eqs. (1) and (2)", "equation (4)",
                                   "수식 3에서", "식 1을", "식 (2)의", "(1)에서", "as in (3.2) above"])
def test_the_equation_lint_catches_typed_references(typed):
    assert TYPED_EQUATION_NUMBER.search(typed)


@pytest.mark.parametrize("fine", ["momentum (0.9)", "the equation of state", "10 equations", "방식 1",
                                  "a ratio (1.5×)", "{eq}`en-eq-bn`"])
def test_the_equation_lint_leaves_other_numbers_alone(fine):
    assert not TYPED_EQUATION_NUMBER.search(fine)


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("name", NAMES)
def test_equations_are_referred_to_with_eq_roles_not_typed_numbers(lang, name):
    """The build numbers equations per chapter; a typed "(1)" or "eq. (2)" would go stale, in
    prose or in code strings (legends, claim texts)."""
    nb = load(ROOT / "book" / lang / name)
    for i, cell in enumerate(nb["cells"]):
        text = re.sub(r"\{eq\}`[^`]*`", "", source(cell))
        found = TYPED_EQUATION_NUMBER.findall(text)
        assert not found, f"cell {i}: typed equation number(s) {found}; use {{eq}}`label`"


def _prose_numbers(markdown):
    """Decimal numbers typed into a markdown cell's prose (not in math, code, roles or links)."""
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$|```.*?```|`[^`\n]*`|\{[a-z:]+\}`[^`]*`|\]\([^)]*\)", " ",
                  markdown, flags=re.S)
    return set(re.findall(r"(?<![\w.])\d+\.\d{2,}(?![\w.])", text))


def _significant(number):
    """Numbers with at least two significant digits: 0.956 or 0.51, not a setting such as 0.02."""
    return len(number.replace(".", "").lstrip("0")) >= 2


def _measured_numbers(nb):
    """Numbers printed by the notebook's cells, except the ✓ lines of claims (a claim's text states
    the range it checks, which the prose may repeat) and numbers written in the code (settings,
    such as a learning rate, which the prose names and the output echoes)."""
    found = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            texts = [out.get("text", "")] + [out.get("data", {}).get("text/plain", "")]
            for t in texts:
                t = "".join(t) if isinstance(t, list) else t
                for line in t.splitlines():
                    if not line.lstrip().startswith(("✓", "✗")):
                        found |= set(re.findall(r"(?<![\w.])\d+\.\d{2,}(?![\w.])", line))
    settings = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            settings |= set(re.findall(r"(?<![\w.])\d+\.\d{2,}(?![\w.])", source(cell)))
    return {n for n in found - settings if _significant(n)}


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("name", NAMES)
def test_prose_does_not_copy_measured_numbers(lang, name):
    """A number the notebook prints must reach the prose through glue ({glue:text}), not be typed:
    typed, it goes stale on the next run and differs on another CPU."""
    nb = load(ROOT / "book" / lang / name)
    measured = _measured_numbers(nb)
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            copied = _prose_numbers(source(cell)) & measured
            assert not copied, f"cell {i}: {sorted(copied)} typed into the prose; glue them"


def test_references_bib_entries_are_whole_and_unique():
    """Each entry opens and closes its braces, and each key appears once (merges have dropped a
    closing brace before, which silently swallows the next entry)."""
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=@)", text.strip())
    for entry in entries:
        assert entry.startswith("@"), entry[:60]
        assert entry.count("{") == entry.count("}") and entry.rstrip().endswith("}"), entry[:60]
    keys = re.findall(r"^@\w+\{([^,]+),", text, flags=re.M)
    assert len(keys) == len(entries) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_no_forward_reference_calls_a_written_chapter_planned():
    """A chapter may be called planned only while its notebook does not exist."""
    written = {int(p.name[:2]) for p in (ROOT / "book" / "en").glob("[0-9][0-9]_*.ipynb")}
    phrases = re.compile(r"(?:chapters?|장)[^.\n]{0,40}?(?:\(planned\)|are planned|is planned|not written yet|"
                         r"다룰 계획|계획입니다|아직 쓰지 않은)|(\d+)장\s*\(계획\)|chapter (\d+) \(planned\)",
                         re.I)
    for lang in EDITIONS:
        for path in notebooks(lang):
            for i, cell in enumerate(load(path)["cells"]):
                if cell["cell_type"] != "markdown":
                    continue
                for m in phrases.finditer(source(cell)):
                    numbers = {int(n) for n in re.findall(r"\d+", m.group(0))} or written
                    assert not numbers & written, f"{path.name} cell {i}: {m.group(0)!r}"
