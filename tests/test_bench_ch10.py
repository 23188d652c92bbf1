"""benchmarks/ch10_unet3d.py: a quick smoke run writes a record of the shape chapter 10 reads, and
the shipped record was made with the script's current settings."""

import json

import pytest

import normlib as nl
from conftest import load_script

bench = load_script("ch10_unet3d")


def _check_shape(record, scales):
    assert record["lr_grid"] == bench.LR_GRID
    for name, scale in scales.items():
        part = record[name]
        arms = scale["trained"] + ["in"]
        assert set(part["validation_dice"]) == set(part["lr"]) == set(arms)
        assert set(part["test_dice"]) == set(arms)
        for arm in arms:
            assert part["lr"][arm] in bench.LR_GRID
            assert len(part["test_dice"][arm]) == len(scale["seeds"])
            assert all(0 <= d <= 1 for d in part["test_dice"][arm])
            for lr in bench.LR_GRID:
                assert len(part["validation_dice"][arm][str(lr)]) == len(scale["tune_seeds"])
        for key in ("size", "base", "depth", "steps", "n_train", "n_val", "n_test", "seeds"):
            assert part[key] == scale[key], key
    large = record["large"]
    assert set(large["zscore_test_dice"]) == set(bench.ZSCORE_TRAINED + ["in"])
    assert 0 <= large["in_trained_alone"]["test_dice"] <= 1
    assert {"date", "platform", "device", "cpu_seconds", "wall_seconds"} <= set(record["made"])


def test_quick_run_writes_a_record_of_the_chapters_shape(tmp_path):
    out = tmp_path / "quick.json"
    bench.main(["--quick", "--device", "cpu", "--out", str(out)])
    record = json.loads(out.read_text(encoding="utf-8"))
    _check_shape(record, bench.QUICK)
    assert record["command"].endswith("--quick")


def test_quick_run_never_overwrites_the_chapters_record():
    with pytest.raises(SystemExit):
        bench.main(["--quick"])


def test_the_shipped_record_was_made_with_the_current_settings():
    record = nl.data.record("ch10_unet3d")
    _check_shape(record, bench.SCALES)
    assert not record["command"].endswith("--quick")
