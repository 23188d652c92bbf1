"""setup(), claims, translations, the Hangul font."""

import json
import pathlib
import re
import subprocess
import sys

import matplotlib
import pytest
import torch

import normlib as nl
from normlib import claims, i18n
from normlib.notebook.style import hangul_font_files


def test_setup_seeds_and_sets_language(capsys):
    nl.setup(lang="ko", seed=3)
    a = torch.rand(3)
    nl.setup(lang="ko", seed=3)
    assert torch.equal(a, torch.rand(3))
    assert "한국어" in capsys.readouterr().out
    assert nl.tr("claims_none") == "아직 확인한 주장이 없습니다."
    nl.setup(lang="en", seed=0)
    assert nl.tr("claims_none") == "No claims have been checked yet."
    assert torch.get_num_threads() == 1
    assert nl.device().type == "cpu"


@pytest.mark.parametrize("kwargs,exc,word", [
    (dict(lang="fr"), ValueError, "lang"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=1.5), ValueError, "seed"),
    (dict(threads=0), ValueError, "threads"),
    (dict(device="tpu"), ValueError, "device"),
    (dict(device=3), TypeError, "device"),
])
def test_setup_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        nl.setup(quiet=True, **kwargs)


def test_cuda_requested_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA"):
        nl.setup(device="cuda", quiet=True)


def test_claim_prints_check_and_records(capsys):
    nl.setup(lang="en", quiet=True)
    assert nl.claim("two is more than one", 2 > 1, detail="2 > 1") is None
    assert capsys.readouterr().out == "✓ two is more than one  [2 > 1]\n"
    nl.claim("a one-element tensor works", torch.tensor(True))
    assert claims.checked() == ["two is more than one", "a one-element tensor works"]
    text = repr(nl.summary())
    assert "2 claims" in text and "1. ✓ two is more than one" in text
    assert "<li>✓ a one-element tensor works</li>" in nl.summary()._repr_html_()


def test_claim_fails_loudly():
    nl.setup(lang="ko", quiet=True)
    with pytest.raises(nl.ClaimFailed, match="확인 실패: 거짓"):
        nl.claim("거짓", 1 > 2)
    assert claims.checked() == []


@pytest.mark.parametrize("condition", [torch.tensor([True, True]), "yes", 1, None])
def test_claim_refuses_ambiguous_conditions(condition):
    with pytest.raises(TypeError, match="condition"):
        nl.claim("text", condition)


def test_summary_is_reset_by_setup():
    nl.setup(quiet=True)
    nl.claim("x", True)
    nl.setup(quiet=True)
    assert repr(nl.summary()) == i18n.tr("claims_none")


def test_every_string_has_both_languages():
    for key, entry in i18n.STRINGS.items():
        assert set(entry) == {"ko", "en"}, key
        assert all(entry.values()), key


def test_pick_follows_language():
    i18n.set_language("ko")
    assert nl.pick("가", "a") == "가"
    i18n.set_language("en")
    assert nl.pick("가", "a") == "a"


def test_hangul_font_draws_hangul_without_missing_glyphs(tmp_path, recwarn):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    nl.setup(lang="ko", quiet=True)
    assert all(p.is_file() for p in hangul_font_files())
    fig, ax = plt.subplots()
    ax.set_title("배치 정규화 −1")
    fig.savefig(tmp_path / "k.png")
    plt.close(fig)
    glyph_warnings = [w for w in recwarn if "Glyph" in str(w.message)]
    assert not glyph_warnings, glyph_warnings
    from matplotlib.font_manager import findfont, FontProperties
    assert "NanumGothic" in findfont(FontProperties(family="NanumGothic"))


def test_font_lookup_does_not_import_koreanize_matplotlib():
    # koreanize_matplotlib imports distutils, which Python 3.12 removed; we must only read its files
    code = ("import sys, normlib.notebook.style as f; f.hangul_font_files(); "
            "assert 'koreanize_matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pad_counts_hangul_as_two_columns():
    assert i18n.display_width("배치 BN") == 7
    assert nl.pad("배치", 6) == "배치  " and nl.pad("ab", 4, ">") == "  ab"
    assert nl.pad("toolong", 3) == "toolong"
    with pytest.raises(ValueError, match="align"):
        nl.pad("x", 3, "^")


def test_setup_flushes_denormals_on_the_cpu():
    """Denormal float32 values (below 1.2e-38) are flushed to zero after setup(): x86 computes
    with them up to a hundred times more slowly (see normlib.notebook.session.setup)."""
    if not torch.set_flush_denormal(False):  # the CPU cannot flush them: nothing to test
        pytest.skip("this CPU does not support flushing denormals")
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    assert (tiny * 1.0).item() != 0.0  # without flushing, a denormal survives arithmetic
    nl.setup(lang="en", quiet=True)
    assert (tiny * 1.0).item() == 0.0


def test_explain_renders_normlib_errors_in_the_edition_language():
    import torch
    try:
        nl.BatchNorm2d(4)(torch.randn(8, 3, 5, 5))
    except ValueError as error:
        nl.i18n.set_language("ko")
        try:
            assert nl.i18n.explain(error).startswith("BatchNorm2d(4): 입력의 채널이 3개입니다")
        finally:
            nl.i18n.set_language("en")
        assert nl.i18n.explain(error) == str(error)
    assert nl.i18n.explain(ValueError("anything else")) == "anything else"


def test_stored_claims_reads_every_chapters_summary_box():
    """The closing chapter's summary is read from the stored notebooks: every chapter's box, with
    as many claims as its title says, in both editions alike."""
    from normlib.notebook.claims import stored_claims
    book = pathlib.Path(__file__).parents[1] / "book"
    editions = {lang: stored_claims(book / lang) for lang in ("ko", "en")}
    chapters = sorted(p.name for p in (book / "en").glob("[0-9][0-9]_*.ipynb"))
    for lang, found in editions.items():
        assert [name for name, _, _ in found] == chapters, lang
        for name, title, texts in found:
            assert title[0].isdigit(), (lang, name, title)
            box = json.loads((book / lang / name).read_text(encoding="utf-8"))
            counts = [int(m) for c in box["cells"] if c["cell_type"] == "code"
                      and "".join(c["source"]).strip() == "nl.summary()"
                      for o in c.get("outputs", []) for m in re.findall(
                          r"\((\d+)(?: claims|개)\)", "".join(o.get("data", {}).get("text/plain", [])))]
            assert counts == [len(texts)], (lang, name, counts, len(texts))
    assert [len(t) for _, _, t in editions["ko"]] == [len(t) for _, _, t in editions["en"]]
    assert stored_claims(book / "en", exclude=chapters[:1])[0][0] == chapters[1]


def test_book_summary_lists_every_chapter_in_text_and_html():
    nl.setup(lang="en", quiet=True)
    book = claims.BookSummary([("01_a.ipynb", "1. A", ["x < y", "z"]), ("02_b.ipynb", "2. B", ["w"])])
    assert repr(book).splitlines() == ["1. A (2 claims)", "  1. ✓ x < y", "  2. ✓ z", "2. B (1 claims)", "  1. ✓ w"]
    page = book._repr_html_()
    assert page.count("<details>") == 2 and "x &lt; y" in page and "<summary>2. B (1 claims)</summary>" in page
    nl.setup(lang="ko", quiet=True)
    assert repr(book).splitlines()[0] == "1. A (주장 2개)"
    nl.setup(lang="en", quiet=True)


KOREAN_ERRORS = [
    (lambda: nl.InstanceNorm1d(4)(torch.randn(6, 4)), ValueError,
     "InstanceNorm1d(4): 입력의 채널이 6개입니다(모양 (6, 4)의 0번 차원). 채널은 4개여야 합니다. "
     "2차원 입력은 배치 축이 없는 예제 하나, 곧 (C, L)로 읽습니다"),
    (lambda: nl.InstanceNorm2d(3)(torch.randn(2, 3, 1, 1)), ValueError,
     "InstanceNorm2d: 인스턴스 통계량을 구하려면 채널마다 값이 2개 이상 있어야 하는데, 입력의 모양이 "
     "(2, 3, 1, 1)입니다. 위치가 하나뿐인 채널에는 분산이 없습니다(인스턴스 통계량에는 공간 위치가 둘 이상 "
     "필요합니다)"),
    (lambda: nl.BatchNorm2d(4)(torch.randn(8, 4)), ValueError,
     "BatchNorm2d: 입력은 4차원이어야 합니다(모양 (N, C, H, W)). 받은 입력은 2차원이고 모양은 (8, 4)입니다"),
    (lambda: nl.BatchNorm1d(4)(torch.randn(8, 4, 2, 2)), ValueError,
     "BatchNorm1d: 입력은 2차원 또는 3차원이어야 합니다(모양 (N, C) 또는 (N, C, L)). "
     "받은 입력은 4차원이고 모양은 (8, 4, 2, 2)입니다"),
    (lambda: nl.GroupNorm(2, 4)(torch.randn(4)), ValueError,
     "GroupNorm: 입력은 2차원 이상이어야 합니다(모양 (N, C, *)). 받은 입력은 1차원이고 모양은 (4,)입니다"),
    (lambda: nl.LayerNorm(4)(torch.randn(2, 4, dtype=torch.float64)), TypeError,
     "LayerNorm: 입력의 자료형은 torch.float64인데 층의 파라미터와 버퍼는 torch.float32입니다. "
     "둘 중 하나를 바꾸십시오(예: input.to(torch.float32))"),
]


@pytest.mark.parametrize("call, kind, korean", KOREAN_ERRORS)
def test_explain_renders_normlib_errors_in_korean(call, kind, korean):
    """Instance-norm, wrong-rank and dtype errors, each rendered in Korean (and left as it is in
    English)."""
    with pytest.raises(kind) as info:
        call()
    nl.i18n.set_language("ko")
    try:
        assert nl.i18n.explain(info.value) == korean
    finally:
        nl.i18n.set_language("en")
    assert nl.i18n.explain(info.value) == str(info.value)


def test_a_korean_notebook_shows_normlib_errors_in_korean_under_the_traceback():
    """In IPython, setup(lang="ko") makes an uncaught normlib error print its Korean rendering after
    the usual traceback; in English nothing is added, and other errors are left alone."""
    import contextlib
    import io

    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    try:
        def run(lang, code):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                shell.run_cell(f'import normlib as nl, torch\nnl.setup(lang="{lang}", quiet=True)')
                result = shell.run_cell(code)
            assert isinstance(result.error_in_exec, ValueError)
            return out.getvalue()
        bad = "nl.BatchNorm2d(4)(torch.randn(8, 3, 5, 5))"
        korean = run("ko", bad)
        assert "ValueError" in korean and "BatchNorm2d(4): input has 3 channels" in korean
        assert "오류 설명: BatchNorm2d(4): 입력의 채널이 3개입니다" in korean
        assert "오류 설명" not in run("en", bad)
        assert "오류 설명" not in run("ko", "raise ValueError('not from normlib')")
    finally:
        InteractiveShell.clear_instance()
        nl.i18n.set_language("en")
