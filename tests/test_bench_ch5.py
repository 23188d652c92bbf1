"""benchmarks/ch5_rates.py: a quick smoke run writes a record of the shape chapter 5 reads, the
script's copy of the chapter's model is the chapter's code (in both editions) and its per-device BN
agrees with nn.BatchNorm2d, and the shipped records were made with the script's current settings."""

import importlib.util
import json
import pathlib

import pytest
import torch

import normlib as nl

_spec = importlib.util.spec_from_file_location(
    "bench_ch5", pathlib.Path(__file__).parents[1] / "benchmarks" / "ch5_rates.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


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


@pytest.mark.parametrize("edition", ["ko", "en"])
def test_the_scripts_copy_of_the_chapters_model_is_the_chapters(edition):
    """The script copies chapter 5's model code (the notebook's functions are not importable): the
    copy must stay the chapter's, or the records would answer for a different experiment."""
    import ast

    path = pathlib.Path(__file__).parents[1] / "book" / edition / "05_bn_limits.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    chapter = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        try:
            body = ast.parse("".join(cell["source"])).body
        except SyntaxError:      # the set-up cell's %pip line
            continue
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                chapter[node.name] = node
    script_path = pathlib.Path(__file__).parents[1] / "benchmarks" / "ch5_rates.py"
    script = {node.name: node for node in ast.parse(script_path.read_text(encoding="utf-8")).body
              if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    def code(node):      # docstrings follow the edition's language (BOOK_GUIDE §4): compare the rest
        for inner in ast.walk(node):
            body = getattr(inner, "body", None)
            if (isinstance(inner, (ast.FunctionDef, ast.ClassDef)) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
                inner.body = body[1:]
        return ast.dump(node)

    for name in ("PerDeviceBatchNorm2d", "norm_layer", "cnn"):
        assert code(script[name]) == code(chapter[name]), name
