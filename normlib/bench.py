"""Benchmark normlib's layers against their torch.nn twins: ``python -m normlib.bench``.

For each layer, at a representative size, it measures forward + backward time (median of several
repeats, after a warm-up) and memory:

- on the CPU, the bytes autograd saves for the backward pass (exact and repeatable);
- on CUDA, the peak memory allocated during one forward + backward pass.

It prints one row per layer with the ratio normlib / torch.  The target is a time ratio of at most
3 on the CPU; the exit status is 1 if a layer misses it (``--no-fail`` to only report).
Timings depend on the machine, so nothing here is checked by the tests except that it runs.
"""

import argparse
import math
import statistics
import sys
import time

import torch
from torch import nn

import normlib as nl

# (name, ours, theirs, input shape); sizes typical of the book's models and of a small CNN
CASES = [
    ("BatchNorm1d (N, C)", nl.BatchNorm1d, nn.BatchNorm1d, (256, 512)),
    ("BatchNorm1d (N, C, L)", nl.BatchNorm1d, nn.BatchNorm1d, (32, 64, 256)),
    ("BatchNorm2d", nl.BatchNorm2d, nn.BatchNorm2d, (32, 64, 32, 32)),
    ("BatchNorm3d", nl.BatchNorm3d, nn.BatchNorm3d, (4, 32, 16, 32, 32)),
]
TARGET = 3.0


def _step(layer, x):
    y = layer(x)
    y.backward(torch.ones_like(y))


def time_layer(layer, x, repeats, inner, min_repeat_s=0.05):
    """Median seconds for one forward + backward pass.

    Each of the ``repeats`` samples times at least ``inner`` passes, and enough of them to last
    ``min_repeat_s``, so that sub-millisecond layers are not timed at the clock's resolution.
    """
    for _ in range(3):
        _step(layer, x)
    if min_repeat_s:
        start = time.perf_counter()
        _step(layer, x)
        if x.is_cuda:
            torch.cuda.synchronize()
        one = max(time.perf_counter() - start, 1e-6)
        inner = max(inner, math.ceil(min_repeat_s / one))
    samples = []
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(inner):
            _step(layer, x)
        if x.is_cuda:
            torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


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


def run(device="cpu", repeats=7, inner=5, quick=False):
    rows = []
    for name, ours_cls, theirs_cls, shape in CASES:
        if quick:  # a smoke test: tiny inputs, one repeat
            shape = (4,) + shape[1:2] + tuple(min(s, 4) for s in shape[2:])
        row = {"layer": name, "shape": shape}
        for tag, cls in (("normlib", ours_cls), ("torch", theirs_cls)):
            layer = cls(shape[1]).to(device)
            x = torch.randn(shape, device=device, requires_grad=True)
            row[f"{tag}_s"] = time_layer(layer, x, 1 if quick else repeats, 1 if quick else inner,
                                         min_repeat_s=0 if quick else 0.05)
            row[f"{tag}_bytes"] = memory_layer(layer, x)
        row["time_ratio"] = row["normlib_s"] / row["torch_s"]
        row["memory_ratio"] = row["normlib_bytes"] / max(row["torch_bytes"], 1)
        rows.append(row)
    return rows


def report(rows, device):
    memory = "peak MiB" if device != "cpu" else "saved MiB"
    print(f"device: {device} · torch {torch.__version__} · threads {torch.get_num_threads()}")
    print(f"{'layer':24s} {'input shape':20s} {'normlib ms':>10s} {'torch ms':>9s} {'ratio':>6s}"
          f" {'normlib ' + memory:>17s} {'torch ' + memory:>15s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['layer']:24s} {str(r['shape']):20s} {r['normlib_s'] * 1e3:10.3f} {r['torch_s'] * 1e3:9.3f}"
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
