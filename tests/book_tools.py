"""Helpers the book-integrity tests share: reading notebooks, masking code, finding labels."""

import io
import json
import re
import tokenize

import yaml

from conftest import ROOT

EDITIONS = ("ko", "en")
LABEL = re.compile(r"^\((?P<label>[A-Za-z0-9_.:-]+)\)=\s*$", re.M)
DIRECTIVE_LABEL = re.compile(r"^:label:\s*(?P<label>\S+)\s*$", re.M)


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = []
    for part in toc.get("parts", []):
        for ch in part.get("chapters", []):
            files.append(ch["file"])
    return toc["root"], files


def notebooks(lang):
    return sorted((ROOT / "book" / lang).glob("*.ipynb"))


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell):
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def masked(code):
    """Code with string literals and comments blanked out, so editions compare by structure."""
    out = []
    toks = tokenize.generate_tokens(io.StringIO(code + "\n").readline)
    for t in toks:
        if t.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                      tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        if t.type == tokenize.STRING or t.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            out.append("S")
        else:
            out.append(t.string)
    return " ".join(out)


def labels(nb):
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = source(cell)
            found += [m["label"] for m in LABEL.finditer(text)]
            found += [m["label"] for m in DIRECTIVE_LABEL.finditer(text)]
    return found
