"""The edition's language, and the few strings normlib itself shows.

The book has a Korean and an English edition. ``normlib.setup(lang=...)`` picks one; normlib's
figure labels and notebook messages (the setup line, the claims box) are then looked up here with
:func:`tr`. Errors are different: normlib raises them in English, like torch, and :func:`explain`
renders in Korean those that a chapter shows a reader (the patterns in ``ERRORS``); in a Korean
notebook session the same rendering is printed under the traceback of an error that escapes a cell
(``normlib.notebook.session``).  Any other error stays in English.
"""

import re
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
        "ko": "이 장에서 코드로 확인한 주장 ({n}개)",
        "en": "What this chapter verified in code ({n} claims)",
    },
    "claims_none": {
        "ko": "아직 확인한 주장이 없습니다.",
        "en": "No claims have been checked yet.",
    },
    "book_summary_chapter": {
        "ko": "{title} (주장 {n}개)",
        "en": "{title} ({n} claims)",
    },
    "error_explained": {
        "ko": "오류 설명: {message}",
        "en": "{message}",
    },
    "claim_failed": {
        "ko": "확인 실패: {text}",
        "en": "Claim failed: {text}",
    },
    # cube.draw: the N × C × (H·W) feature-map cube (chapter 9)
    "cube_n": {"ko": "N (예제)", "en": "N (examples)"},
    "cube_c": {"ko": "C (채널)", "en": "C (channels)"},
    "cube_hw": {"ko": "H·W (위치)", "en": "H·W (positions)"},
    "cube_bn": {"ko": "배치 정규화 (BN)", "en": "Batch norm (BN)"},
    "cube_ln": {"ko": "층 정규화 (LN)", "en": "Layer norm (LN)"},
    "cube_in": {"ko": "인스턴스 정규화 (IN)", "en": "Instance norm (IN)"},
    "cube_gn": {"ko": "그룹 정규화 (GN)", "en": "Group norm (GN)"},
}


# normlib's error messages are written in English where they are raised.  The ones a chapter shows
# a reader are rendered in the edition's language by explain(): (pattern of the English message,
# Korean template filled with the pattern's groups, or a function of them).  A message without an
# entry stays as it is.
ERRORS = [
    (re.compile(r"(\w+)\((\d+)\): input has (\d+) channels \(dimension 1 of shape (\(.*\))\), "
                r"expected (\d+)"),
     "{0}({1}): 입력의 채널이 {2}개입니다(모양 {3}의 1번 차원). 채널은 {4}개여야 합니다"),
    (re.compile(r"(\w+)\((\d+)\): input has (\d+) channels \(dimension 0 of shape (\(.*\))\), "
                r"expected (\d+); a (\d)D input is read as one example without a batch axis, "
                r"(\(.*\))"),
     "{0}({1}): 입력의 채널이 {2}개입니다(모양 {3}의 0번 차원). 채널은 {4}개여야 합니다. "
     "{5}차원 입력은 배치 축이 없는 예제 하나, 곧 {6}로 읽습니다"),
    (re.compile(r"(\w+): expected more than 1 value per channel to compute batch statistics, "
                r"got input of shape (\(.*\)); a batch of one vector has no variance "
                r"\(use eval mode, or a larger batch\)"),
     "{0}: 배치 통계량을 구하려면 채널마다 값이 2개 이상 있어야 하는데, 입력의 모양이 {1}입니다. "
     "벡터 하나짜리 배치에는 분산이 없습니다(평가 모드를 쓰거나 배치를 키우십시오)"),
    (re.compile(r"(\w+): expected more than 1 value per channel to compute instance statistics, "
                r"got input of shape (\(.*\)); a channel at a single position has no variance "
                r"\(instance statistics need more than one spatial position\)"),
     "{0}: 인스턴스 통계량을 구하려면 채널마다 값이 2개 이상 있어야 하는데, 입력의 모양이 {1}입니다. "
     "위치가 하나뿐인 채널에는 분산이 없습니다(인스턴스 통계량에는 공간 위치가 둘 이상 필요합니다)"),
    # any layer: an input of the wrong rank, or of another dtype than the layer's parameters
    (re.compile(r"(\w+): expected a (\d+D(?: or \d+D| or higher)?) input (\(.*\)), "
                r"got a (\d+)D input of shape (\(.*\))"),
     lambda name, ranks, layout, got, shape:
         f"{name}: 입력은 {_ko_or(ranks)}이어야 합니다(모양 {_ko_or(layout)}). "
         f"받은 입력은 {got}차원이고 모양은 {shape}입니다"),
    (re.compile(r"(\w+): input has dtype (\S+) but the layer's parameters and buffers are (\S+); "
                r"convert one of them, e\.g\. input\.to\((\S+)\)"),
     "{0}: 입력의 자료형은 {1}인데 층의 파라미터와 버퍼는 {2}입니다. 둘 중 하나를 바꾸십시오"
     "(예: input.to({3}))"),
    # chapter 10: the 3D U-Net's input
    (re.compile(r"UNet3d: the input's depth, height and width must be multiples of 2\*\*depth = "
                r"(\d+) \(the network halves them (\d+) times\), got shape (\(.*\))"),
     "UNet3d: 입력의 깊이·높이·너비는 모두 2**depth = {0}의 배수여야 합니다(네트워크가 크기를 "
     "{1}번 반으로 줄입니다). 받은 입력의 모양은 {2}입니다"),
    (re.compile(r"UNet3d: input has (\d+) channels, expected in_channels=(\d+)"),
     "UNet3d: 입력의 채널이 {0}개입니다. in_channels={1}에 맞춰 {1}개여야 합니다"),
    # chapter 11: SyncBatchNorm over processes
    (re.compile(r"sync_batch_norm: expected more than 1 value per channel over all processes to "
                r"compute batch statistics, got (\d+) \(input of shape (\(.*\)) in this process\)"),
     "sync_batch_norm: 배치 통계량을 구하려면 모든 프로세스를 합쳐 채널마다 값이 2개 이상 있어야 "
     "하는데, {0}개뿐입니다(이 프로세스의 입력 모양은 {1}입니다)"),
]


def _ko_or(text):
    """'2D or 3D', '1D or higher', '(N, C) or (N, C, L)' in Korean."""
    text = re.sub(r"(\d+)D", r"\1차원", text)
    return text.replace(" or higher", " 이상").replace(" or ", " 또는 ")


def explain(error):
    """The message of ``error`` (an exception normlib raised) in the edition's language.

    >>> set_language("ko"); explain(ValueError("BatchNorm2d(4): input has 3 channels "
    ...     "(dimension 1 of shape (8, 3, 5, 5)), expected 4"))
    'BatchNorm2d(4): 입력의 채널이 3개입니다(모양 (8, 3, 5, 5)의 1번 차원). 채널은 4개여야 합니다'
    """
    message = str(error)
    if _lang == "ko":
        for pattern, korean in ERRORS:
            found = pattern.fullmatch(message)
            if found:
                return korean(*found.groups()) if callable(korean) else korean.format(*found.groups())
    return message


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
    '아직 확인한 주장이 없습니다.'
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
