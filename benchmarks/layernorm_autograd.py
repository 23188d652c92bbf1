"""What autograd costs layer norm: ``python benchmarks/layernorm_autograd.py`` (about a minute).

LayerNorm is the layer of ``make bench`` (benchmarks/layers.py) whose time ratio to torch lies
nearest its target of 4: unlike batch, instance and group norm, its γ and β are per feature, so
they cannot go into the per-sample scale and shift (see normlib.functional), and autograd keeps a
second tensor of the input's size.  This script shows where the time goes.  At ``make bench``'s
LayerNorm size, on one CPU thread, it times one forward + backward pass of three implementations
of the same function:

    normlib   ``normlib.LayerNorm``: tensor operations, differentiated by autograd
    written   the same forward, with the backward pass written out in tensor operations (chapter
              3.4's closed form, for layer norm), several of them in place
    torch     ``torch.nn.LayerNorm``: one fused kernel for each pass

``written`` is a yardstick, not a proposal: normlib's layers are their forward pass, which autograd
differentiates, so that a reader finds each method's math in one place (chapter 3.4 shows batch
norm's closed-form backward beside it).  The gap between ``written`` and ``normlib`` is what
autograd's chain of out-of-place operations costs: more full-size temporaries, each a fresh
allocation, where the written backward reuses its buffers.

A fresh full-size temporary costs more than its arithmetic when the C library hands its memory
back to the operating system between steps and the next step has to fault the pages in again.
How often that happens depends on the allocator's state, which differs from process to process
and with what ran before: here each process runs only these three, on a fresh allocator, where
``make bench`` runs LayerNorm after the other layers.  So each implementation is measured in
``--processes`` fresh processes.  Each process reports its
time (the best of several samples, the three taking turns, as in ``make bench``) and, where the
platform counts them (Linux, macOS), the minor page faults per pass in that sample; the script
prints every process's figures and the median ratio to torch.  Nothing is asserted: the figures
depend on the machine.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import normlib as nl  # noqa: E402
from normlib.twins import TWINS  # noqa: E402

(_, SHAPE), = [t.bench for t in TWINS if t.name == "LayerNorm"]
QUICK_SHAPE = (2, 3, 8)


class _WrittenLayerNorm(torch.autograd.Function):
    """Layer norm over the last axis with its backward pass written out.  With g = ∂L/∂y,
    x̂ = (x − μ)/σ, g' = g·γ and n values per row:

        ∂L/∂β = Σ_rows g     ∂L/∂γ = Σ_rows g·x̂     ∂L/∂x = (1/σ) · (g' − mean(g') − x̂ · mean(g'·x̂))
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        d = x - x.mean(-1, keepdim=True)
        inv_std = torch.rsqrt((d * d).mean(-1, keepdim=True) + eps)
        x_hat = d.mul_(inv_std)                      # d is not needed again: x̂ takes its memory
        ctx.save_for_backward(x_hat, inv_std, weight)
        return torch.addcmul(bias, x_hat, weight)

    @staticmethod
    def backward(ctx, g):
        x_hat, inv_std, weight = ctx.saved_tensors
        rows = tuple(range(g.dim() - 1))
        grad_weight, grad_bias = (g * x_hat).sum(rows), g.sum(rows)
        g1 = g * weight                                                    # g'
        mean_g1, mean_g1_x_hat = g1.mean(-1, keepdim=True), (g1 * x_hat).mean(-1, keepdim=True)
        grad_x = g1.sub_(mean_g1).addcmul_(x_hat, mean_g1_x_hat, value=-1).mul_(inv_std)
        return grad_x, grad_weight, grad_bias, None


class WrittenLayerNorm(torch.nn.Module):
    """``torch.nn.LayerNorm(n)`` (one normalized axis, affine) with the written backward pass."""

    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.weight, self.bias = torch.nn.Parameter(torch.ones(n)), torch.nn.Parameter(torch.zeros(n))
        self.eps = eps

    def forward(self, x):
        return _WrittenLayerNorm.apply(x, self.weight, self.bias, self.eps)


IMPLEMENTATIONS = {"normlib": nl.LayerNorm, "written": WrittenLayerNorm, "torch": torch.nn.LayerNorm}


def _bench():
    """benchmarks/layers.py, loaded from its file (a script beside the package, not part of it)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_layers", ROOT / "benchmarks" / "layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_process(shape=SHAPE, repeats=9, inner=3):
    """Seconds and minor page faults per forward + backward pass of each implementation."""
    bench = _bench()
    torch.set_num_threads(1)
    x = torch.randn(shape, requires_grad=True)
    layers = [make(shape[-1]) for make in IMPLEMENTATIONS.values()]
    seconds, faults = bench.time_pair(layers, x, repeats, inner)
    return {name: {"seconds": s, "faults": f} for name, s, f in zip(IMPLEMENTATIONS, seconds, faults)}


def report(runs, shape=SHAPE):
    print(f"LayerNorm({shape[-1]}) on input {shape}, forward + backward, torch {torch.__version__}, one thread")
    print(f"{'process':>7s}" + "".join(f" {name + ' ms':>11s} {'faults':>7s}" for name in IMPLEMENTATIONS)
          + "".join(f" {name + '/torch':>14s}" for name in IMPLEMENTATIONS if name != "torch"))
    for i, run in enumerate(runs, 1):
        cells = "".join(f" {run[n]['seconds'] * 1e3:11.3f} "
                        + (f"{run[n]['faults']:7.0f}" if run[n]["faults"] is not None else f"{'-':>7s}")
                        for n in IMPLEMENTATIONS)
        ratios = "".join(f" {run[n]['seconds'] / run['torch']['seconds']:14.2f}"
                         for n in IMPLEMENTATIONS if n != "torch")
        print(f"{i:7d}{cells}{ratios}")
    for name in IMPLEMENTATIONS:
        if name == "torch":
            continue
        ratios = [run[name]["seconds"] / run["torch"]["seconds"] for run in runs]
        print(f"{name}/torch: median {statistics.median(ratios):.2f}, "
              f"range {min(ratios):.2f}-{max(ratios):.2f} over {len(runs)} processes")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5, help="fresh processes (default 5)")
    parser.add_argument("--one", action="store_true", help="measure in this process, print JSON")
    parser.add_argument("--quick", action="store_true", help="tiny input, one sample: a smoke test")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f"--processes must be at least 1, got {args.processes}")
    if args.quick:
        run = one_process(QUICK_SHAPE, repeats=1, inner=1)
        report([run], QUICK_SHAPE)
        return 0
    if args.one:
        print(json.dumps(one_process()))
        return 0
    runs = []
    for _ in range(args.processes):
        done = subprocess.run([sys.executable, __file__, "--one"], check=True, capture_output=True,
                              text=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
