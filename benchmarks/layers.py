"""Benchmark normlib's layers against their torch.nn twins: ``python benchmarks/layers.py`` (``make bench``).

For each layer, at a representative size, it measures forward + backward time (the best of several
samples, normlib's and torch's taking turns, after a warm-up) and memory:

- on the CPU, the bytes autograd saves for the backward pass (exact and repeatable);
- on CUDA, the peak memory allocated during one forward + backward pass.

It prints one row per layer of :data:`normlib.twins.TWINS` with the ratio normlib / torch.
normlib's layers are a few tensor operations differentiated by autograd; torch's are fused
kernels.  The target is a time ratio of at most 4 on the CPU; the exit status is 1 if a layer
misses it (``--no-fail`` to only report).  Timings depend on the machine, so the tests check only
that it runs.  LayerNorm lies nearest the target, on either side of it from run to run;
``benchmarks/layernorm_autograd.py`` shows where its time goes.
"""

import argparse
import math
import sys
import time

import torch

from normlib.twins import TWINS

# (name, ours, theirs, constructor args, input shape): sizes typical of a small CNN or transformer;
# the quick smoke test uses each twin's first (small) test case instead
CASES = [(t.name, t.ours, t.theirs) + t.bench for t in TWINS]
QUICK = {t.name: t.cases[0] for t in TWINS}
TARGET = 4.0


def _step(layer, x):
    y = layer(x)
    y.backward(torch.ones_like(y))


def _sample(layer, x, inner):
    if x.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(inner):
        _step(layer, x)
    if x.is_cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / inner


def time_pair(layers, x, repeats, inner, min_repeat_s=0.05):
    """Seconds for one forward + backward pass of each layer: the best of ``repeats`` samples.

    The layers take turns, sample by sample, so that a busy spell of a shared machine slows both
    alike; the best sample is the one least disturbed by other processes.  Each sample times at
    least ``inner`` passes, and enough of them to last ``min_repeat_s``, so that sub-millisecond
    layers are not timed at the clock's resolution.
    """
    inners = []
    for layer in layers:
        for _ in range(3):
            _step(layer, x)
        one = max(_sample(layer, x, 1), 1e-6)
        inners.append(max(inner, math.ceil(min_repeat_s / one)) if min_repeat_s else inner)
    best = [math.inf] * len(layers)
    for _ in range(repeats):
        for i, layer in enumerate(layers):
            best[i] = min(best[i], _sample(layer, x, inners[i]))
    return best


def memory_layer(layer, x):
    """Bytes saved for backward (CPU), or peak bytes allocated (CUDA), for one pass."""
    if x.is_cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(x.device)
        base = torch.cuda.memory_allocated(x.device)
        _step(layer, x)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(x.device) - base
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = layer(x)
    unique = {(t.data_ptr(), t.numel(), t.element_size()) for t in saved if t.numel()}
    y.backward(torch.ones_like(y))
    return sum(n * size for _, n, size in unique)


def run(device="cpu", repeats=9, inner=3, quick=False, timing=True):
    """One row per layer: seconds (``timing=False``: not measured, NaN) and bytes, both libraries."""
    rows = []
    for name, ours_cls, theirs_cls, args, shape in CASES:
        if quick:  # a smoke test: tiny inputs, one repeat
            args, shape = QUICK[name]
        row = {"layer": name, "shape": shape}
        x = torch.randn(shape, device=device, requires_grad=True)
        layers = [ours_cls(*args).to(device), theirs_cls(*args).to(device)]
        times = time_pair(layers, x, 1 if quick else repeats, 1 if quick else inner,
                          min_repeat_s=0 if quick else 0.05) if timing else [math.nan] * 2
        for tag, layer, seconds in zip(("normlib", "torch"), layers, times):
            row[f"{tag}_s"] = seconds
            row[f"{tag}_bytes"] = memory_layer(layer, x)
        row["time_ratio"] = row["normlib_s"] / row["torch_s"]
        row["memory_ratio"] = row["normlib_bytes"] / max(row["torch_bytes"], 1)
        rows.append(row)
    return rows


def report(rows, device):
    memory = "peak MiB" if device != "cpu" else "saved MiB"
    print(f"device: {device} · torch {torch.__version__} · threads {torch.get_num_threads()}")
    print(f"{'layer':22s} {'input shape':20s} {'normlib ms':>10s} {'torch ms':>9s} {'ratio':>6s}"
          f" {'normlib ' + memory:>17s} {'torch ' + memory:>15s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['layer']:22s} {str(r['shape']):20s} {r['normlib_s'] * 1e3:10.3f} {r['torch_s'] * 1e3:9.3f}"
              f" {r['time_ratio']:6.2f} {r['normlib_bytes'] / 2**20:17.2f} {r['torch_bytes'] / 2**20:15.2f}"
              f" {r['memory_ratio']:6.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or all (cpu and cuda if present)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke test")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0 even if slow")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    if not devices:
        parser.error(f"device {args.device!r} is not available here")
    slow = []
    for device in devices:
        rows = run(device, quick=args.quick)
        report(rows, device)
        if device == "cpu" and not args.quick:
            slow += [r["layer"] for r in rows if r["time_ratio"] > TARGET]
        print()
    if slow:
        print(f"slower than {TARGET:g}x torch on the CPU: {', '.join(slow)}")
        return 0 if args.no_fail else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
