"""The benchmark runs and reports every layer (timings themselves are not tested: they depend on
the machine; run `python -m normlib.bench` to see them)."""

import normlib.bench as bench


def test_bench_quick_mode_reports_every_layer(capsys):
    assert bench.main(["--quick", "--no-fail"]) == 0
    out = capsys.readouterr().out
    for name, *_ in bench.CASES:
        assert name in out
    assert "saved MiB" in out


def test_normlib_saves_no_more_for_backward_than_torch():
    # memory is exact on the CPU (bytes autograd keeps for the backward pass), so it is testable
    for row in bench.run("cpu", quick=True):
        assert row["memory_ratio"] <= 1.0, row["layer"]
