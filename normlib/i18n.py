"""The edition's language, and the few strings normlib itself shows.

The book has a Korean and an English edition. ``normlib.setup(lang=...)`` picks one; every
figure label and message that normlib produces is then looked up here with :func:`tr`.
"""

import unicodedata

LANGUAGES = ("ko", "en")

_lang = "en"

# key -> {"ko": ..., "en": ...}.  Keep keys short and descriptive.
STRINGS = {
    "setup": {
        "ko": "normlib {version} 준비 완료 · 언어: 한국어 · 시드: {seed} · 장치: {device}",
        "en": "normlib {version} ready · language: English · seed: {seed} · device: {device}",
    },
    "claims_title": {
        "ko": "이 장에서 코드로 확인한 사실 ({n}개)",
        "en": "What this chapter verified in code ({n} claims)",
    },
    "claims_none": {
        "ko": "아직 확인한 사실이 없습니다.",
        "en": "No claims have been checked yet.",
    },
    "claim_failed": {
        "ko": "확인 실패: {text}",
        "en": "Claim failed: {text}",
    },
}


def set_language(lang):
    """Select the edition's language ("ko" or "en")."""
    global _lang
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    _lang = lang


def language():
    """The language chosen by the last ``setup()`` ("en" before any)."""
    return _lang


def tr(key, **fields):
    """The string ``key`` in the current language, with ``fields`` filled in.

    >>> set_language("ko"); tr("claims_none")
    '아직 확인한 사실이 없습니다.'
    """
    try:
        entry = STRINGS[key]
    except (KeyError, TypeError):
        raise ValueError(f"tr: key must be one of normlib's strings {sorted(STRINGS)}, "
                         f"got {key!r}") from None
    try:
        return entry[_lang].format(**fields)
    except KeyError as missing:
        raise TypeError(f"tr({key!r}) needs the field {missing.args[0]!r}, got fields "
                        f"{sorted(fields)}") from None


def pick(ko, en):
    """Choose between two texts by the current language: ``pick("손실", "loss")``."""
    return ko if _lang == "ko" else en


def display_width(text):
    """Columns ``text`` takes in a monospace font: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def pad(text, width, align="<"):
    """Pad ``text`` to ``width`` columns (``align`` "<" left or ">" right), counting wide
    characters as two, so that Korean tables line up the way English ones do."""
    if align not in ("<", ">"):
        raise ValueError(f"pad: align must be '<' or '>', got {align!r}")
    if isinstance(width, bool) or not isinstance(width, int):
        raise TypeError(f"pad: width must be an int (columns), got {type(width).__name__}")
    text = str(text)
    fill = " " * max(0, width - display_width(text))
    return text + fill if align == "<" else fill + text
