"""Executed claims: every factual statement a chapter makes is checked by code.

``claim(text, condition)`` prints ``✓ text`` when ``condition`` holds and raises
:class:`ClaimFailed` when it does not, so the notebook (and CI) fails.  ``summary()`` lists the
claims checked since the last ``setup()``; each chapter ends with it.  ``stored_claims()`` reads
those boxes back from the stored notebooks, for the book's closing summary.
"""

import html
import json
import pathlib
import re

from . import i18n

_checked = []


class ClaimFailed(AssertionError):
    """A chapter stated something that its code does not confirm."""


def _as_bool(condition):
    """Accept Python/NumPy booleans and one-element tensors; refuse anything ambiguous."""
    if isinstance(condition, bool):
        return condition
    if hasattr(condition, "numel") and hasattr(condition, "item"):  # torch.Tensor
        if condition.numel() != 1:
            raise TypeError(
                "claim(condition=...) needs a single truth value, got a tensor with "
                f"{condition.numel()} elements; reduce it first, e.g. with .all()")
        condition = condition.item()
    elif hasattr(condition, "shape") and getattr(condition, "shape", ()) not in ((), (1,)):
        raise TypeError(
            "claim(condition=...) needs a single truth value, got an array of shape "
            f"{condition.shape}; reduce it first, e.g. with .all()")
    if hasattr(condition, "item"):
        condition = condition.item()
    if isinstance(condition, bool):
        return condition
    raise TypeError(f"claim(condition=...) must be a bool, got {type(condition).__name__}")


def claim(text, condition, detail=None):
    """Check ``condition`` and show the reader ``✓ text`` (plus ``detail`` if given).

    ``detail`` is a short string of the measured numbers, already rounded, e.g.
    ``f"max |error| < 1e-12"`` (print bounds, not rounding noise, so stored outputs reproduce).
    On failure the notebook stops with :class:`ClaimFailed`.  Returns nothing, so a claim at the
    end of a cell adds no ``Out[...]`` line.
    """
    if not isinstance(text, str) or not text.strip():
        raise TypeError("claim(text=...) must be a non-empty string")
    ok = _as_bool(condition)
    line = f"✓ {text}" + (f"  [{detail}]" if detail else "")
    if not ok:
        raise ClaimFailed(i18n.tr("claim_failed", text=text) + (f"  [{detail}]" if detail else ""))
    _checked.append(text)
    print(line)


def reset():
    """Forget the claims checked so far (``setup()`` calls this)."""
    _checked.clear()


def checked():
    """The texts of the claims checked since the last ``setup()``, in order."""
    return list(_checked)


class Summary:
    """The end-of-chapter box: plain text for nbval and terminals, HTML for the book."""

    def __init__(self, texts):
        self.texts = list(texts)

    def _title(self):
        return i18n.tr("claims_title", n=len(self.texts))

    def __repr__(self):
        if not self.texts:
            return i18n.tr("claims_none")
        lines = [self._title()] + [f"  {i}. ✓ {t}" for i, t in enumerate(self.texts, 1)]
        return "\n".join(lines)

    def _repr_html_(self):
        items = "".join(f"<li>✓ {html.escape(t)}</li>" for t in self.texts)
        return (f'<div class="admonition tip nl-claims"><p class="admonition-title">'
                f"{html.escape(self._title())}</p><ol>{items}</ol></div>")


def summary():
    """The box that ends a chapter, listing every claim it verified."""
    return Summary(_checked)


_CLAIM_LINE = re.compile(r"^\s*\d+\. ✓ (.+)$")
_TITLE_LINE = re.compile(r"^#\s+(.+)$", re.MULTILINE)


def stored_claims(folder=".", exclude=()):
    """The claims that each chapter in ``folder`` verified when it was last executed: a list of
    ``(file name, chapter title, [claim texts])`` in chapter order, read from the summary box
    stored in each ``NN_*.ipynb`` (nbval re-checks those outputs in CI).  Files named in
    ``exclude`` and notebooks without a summary are left out.
    """
    chapters = []
    for path in sorted(pathlib.Path(folder).glob("[0-9][0-9]_*.ipynb")):
        if path.name in exclude:
            continue
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        title = next((m.group(1) for c in cells if c["cell_type"] == "markdown"
                      for m in [_TITLE_LINE.search("".join(c["source"]))] if m), path.stem)
        texts = []
        for cell in cells:
            if cell["cell_type"] == "code" and "".join(cell["source"]).strip() == "nl.summary()":
                for output in cell.get("outputs", []):
                    plain = "".join(output.get("data", {}).get("text/plain", []))
                    texts += [m.group(1) for line in plain.splitlines()
                              for m in [_CLAIM_LINE.match(line)] if m]
        if texts:
            chapters.append((path.name, title, texts))
    return chapters


class BookSummary:
    """Every chapter's verified claims (from :func:`stored_claims`): in the book, one unfolding
    list per chapter; as plain text, each chapter's title and its numbered claims."""

    def __init__(self, chapters):
        self.chapters = [(name, title, list(texts)) for name, title, texts in chapters]

    def __repr__(self):
        lines = []
        for _, title, texts in self.chapters:
            lines.append(i18n.tr("book_summary_chapter", title=title, n=len(texts)))
            lines += [f"  {i}. ✓ {t}" for i, t in enumerate(texts, 1)]
        return "\n".join(lines)

    def _repr_html_(self):
        parts = []
        for _, title, texts in self.chapters:
            items = "".join(f"<li>✓ {html.escape(t)}</li>" for t in texts)
            summary = html.escape(i18n.tr("book_summary_chapter", title=title, n=len(texts)))
            parts.append(f"<details><summary>{summary}</summary><ol>{items}</ol></details>")
        return f'<div class="nl-book-claims">{"".join(parts)}</div>'
