"""benchmarks/ch5_rates.py: a quick smoke run writes a record of the shape chapter 5 reads, the
script's copy of the chapter's model is the chapter's code (in both editions) and its per-device BN
agrees with nn.BatchNorm2d, and the shipped records were made with the script's current settings."""

import ast
import json

import pytest
import torch

import normlib as nl
from book_tools import EDITIONS, load, source
from conftest import ROOT, load_script

bench = load_script("ch5_rates")


def _check_shape(record, settings):
    rates, kinds = settings["rates"], bench.KINDS
    assert record["settings"] == settings
    assert record["chapter_rates"] == bench.CHAPTER_RATES and record["kinds"] == kinds
    assert set(record["validation_loss"]) == set(kinds)
    for kind in kinds:
        assert set(record["validation_loss"][kind]) == {str(lr) for lr in rates}
        for loss in record["validation_loss"][kind].values():
            assert loss is None or loss >= 0
    for grid in ("chapter_grid", "extended_grid"):
        assert set(record["chosen_lr"][grid]) == set(kinds)
    for kind in kinds:
        assert record["chosen_lr"]["extended_grid"][kind] in rates
    assert set(record["bn_test_error_eval"]) == set(record["bn_test_error_own_statistics_b1"]) == {str(lr) for lr in rates}
    for lr in rates:
        per_b = record["bn_test_error_eval"][str(lr)]
        assert set(per_b) == {str(b) for b in settings["per_device"]}
        for errors in list(per_b.values()) + [record["bn_test_error_own_statistics_b1"][str(lr)]]:
            assert len(errors) == len(settings["seeds"]) and all(0 <= e <= 1 for e in errors)
    assert {"date", "platform", "torch", "threads", "cpu_capability", "cpu_seconds",
            "wall_seconds"} <= set(record["made"])


def test_quick_run_writes_a_record_of_the_chapters_shape(tmp_path):
    out = tmp_path / "quick.json"
    bench.main(["--quick", "--out", str(out)])
    record = json.loads(out.read_text(encoding="utf-8"))
    _check_shape(record, bench.QUICK)
    assert record["command"].endswith("--quick")


def test_quick_run_never_overwrites_the_chapters_record():
    with pytest.raises(SystemExit):
        bench.main(["--quick"])


def test_per_device_batchnorm_with_the_whole_batch_is_batchnorm2d():
    x = torch.randn(32, 4, 8, 8)
    reference, per_device = torch.nn.BatchNorm2d(4), bench.PerDeviceBatchNorm2d(4, 32)
    assert torch.allclose(reference(x), per_device(x), atol=1e-5)
    assert torch.allclose(reference.running_var, per_device.running_var, atol=1e-6)


@pytest.mark.parametrize("name", ["ch5_rates", "ch5_rates_portable"])
def test_the_shipped_records_were_made_with_the_current_settings(name):
    record = nl.data.record(name)
    _check_shape(record, bench.SETTINGS)
    assert not record["command"].endswith("--quick")
    assert (record["made"]["cpu_capability"] == "DEFAULT") == name.endswith("_portable")


def _definitions(code):
    """The functions and classes defined at the top of ``code``, by name."""
    return {node.name: node for node in ast.parse(code).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def _without_docstrings(node):
    """``node`` as text, its docstrings left out: they follow the edition's language (BOOK_GUIDE §4)."""
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if (isinstance(inner, (ast.FunctionDef, ast.ClassDef)) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            inner.body = body[1:]
    return ast.dump(node)


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_scripts_copy_of_the_chapters_model_is_the_chapters(edition):
    """The script copies chapter 5's model code (the notebook's functions are not importable): the
    copy must stay the chapter's, or the records would answer for a different experiment."""
    chapter = {}
    for cell in load(ROOT / "book" / edition / "05_bn_limits.ipynb")["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:
            chapter.update(_definitions(source(cell)))
        except SyntaxError:      # the set-up cell's %pip line
            continue
    script = _definitions((ROOT / "benchmarks" / "ch5_rates.py").read_text(encoding="utf-8"))
    for name in ("PerDeviceBatchNorm2d", "norm_layer", "cnn"):
        assert _without_docstrings(script[name]) == _without_docstrings(chapter[name]), name
