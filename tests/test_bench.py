"""The benchmarks run and report every layer (timings themselves are not tested: they depend on
the machine; run `make bench` to see them)."""

import torch

from conftest import load_script

bench = load_script("layers")


def test_bench_quick_mode_reports_every_layer(capsys):
    assert bench.main(["--quick", "--no-fail"]) == 0
    out = capsys.readouterr().out
    for name, *_ in bench.CASES:
        assert name in out
    assert "saved MiB" in out


def test_normlib_saves_about_what_torch_saves_for_backward():
    """Memory is exact on the CPU (bytes autograd keeps for the backward pass, each storage once),
    so it is testable.  At the benchmark's sizes every layer keeps what torch keeps (the input
    itself) to within 1%, except LayerNorm: its γ is per feature while its scale and shift are per
    sample, so γ cannot go into them, and autograd keeps x̂ for γ's gradient as well as x (2x
    torch's)."""
    for row in bench.run("cpu", timing=False):
        limit = 2.01 if row["layer"] == "LayerNorm" else 1.01
        assert row["memory_ratio"] <= limit, (row["layer"], row["memory_ratio"])



def test_several_processes_combine_into_medians_and_ranges():
    rows = [bench.run("cpu", quick=True, timing=False) for _ in range(3)]
    for k, (ours, theirs, faults) in enumerate([(3.0, 1.0, 10), (8.0, 2.0, None), (5.0, 1.0, 30)]):
        rows[k][0].update(normlib_s=ours, torch_s=theirs, time_ratio=ours / theirs,
                          normlib_faults=faults, torch_faults=0)
    first = bench.combine(rows)[0]
    assert (first["time_ratio"], first["ratio_min"], first["ratio_max"]) == (4.0, 3.0, 5.0)
    assert (first["normlib_s"], first["torch_s"]) == (5.0, 1.0)
    assert first["normlib_faults"] is None and first["torch_faults"] == 0   # not counted in one process
    assert len(bench.combine(rows)) == len(bench.CASES)

# benchmarks/layernorm_autograd.py: its written backward pass is a yardstick, so it must be right
bench_ln = load_script("layernorm_autograd")


def test_the_written_layernorm_backward_equals_autograds():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 16, dtype=torch.float64, requires_grad=True)
    written, reference = bench_ln.WrittenLayerNorm(16).double(), torch.nn.LayerNorm(16).double()
    with torch.no_grad():
        for layer in (written, reference):
            layer.weight.copy_(torch.linspace(0.5, 2.0, 16))
            layer.bias.copy_(torch.linspace(-1.0, 1.0, 16))
    g = torch.randn(3, 5, 16, dtype=torch.float64)
    ours = torch.autograd.grad(written(x), (x, written.weight, written.bias), g)
    theirs = torch.autograd.grad(reference(x), (x, reference.weight, reference.bias), g)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(written(x), reference(x), rtol=1e-10, atol=1e-10)


def test_layernorm_autograd_quick_mode_reports_three_implementations(capsys):
    assert bench_ln.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("normlib", "written", "torch", "written/torch: median"):
        assert name in out
