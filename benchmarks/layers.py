"""Benchmark normlib's layers against their torch.nn twins: ``python benchmarks/layers.py`` (``make bench``).

For each layer, at a representative size, it measures forward + backward time (the best of several
samples, normlib's and torch's taking turns, after a warm-up) and memory:

- on the CPU, the bytes autograd saves for the backward pass (exact and repeatable);
- on CUDA, the peak memory allocated during one forward + backward pass.

It prints one row per layer of :data:`normlib.twins.TWINS` with the ratio normlib / torch.
normlib's layers are a few tensor operations differentiated by autograd; torch's are fused
kernels.  The target is a time ratio of at most 4 on the CPU; the exit status is 1 if a layer's
median ratio misses it (``--no-fail`` to only report).  Timings depend on the machine, so the tests
check only that it runs.

The same code measured twice in one process can differ by half: autograd's full-size temporaries
are fresh allocations, and whether the C library serves them from memory it kept or from pages it
handed back to the operating system (which must then be faulted in again, page by page) depends on
the allocator's state, which differs from process to process.  So the measurement runs in
``--processes`` fresh processes (5 by default) and reports, per layer, the median ratio and its
range, with the minor page faults per pass where the platform counts them (Linux, macOS).
For LayerNorm, ``benchmarks/layernorm_autograd.py`` shows where the time goes.
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import time

import torch

from normlib.twins import TWINS

try:
    import resource
except ImportError:          # Windows: no page-fault counts
    resource = None

# (name, ours, theirs, constructor args, input shape): sizes typical of a small CNN or transformer;
# the quick smoke test uses each twin's first (small) test case instead
CASES = [(t.name, t.ours, t.theirs) + t.bench for t in TWINS]
QUICK = {t.name: t.cases[0] for t in TWINS}
TARGET = 4.0


def _faults():
    """Minor page faults of this process so far (None where the platform does not count them)."""
    return None if resource is None else resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _step(layer, x):
    y = layer(x)
    y.backward(torch.ones_like(y))


def _sample(layer, x, inner):
    """Seconds per pass, and minor page faults per pass (None if not counted), over ``inner`` passes."""
    if x.is_cuda:
        torch.cuda.synchronize()
    faults, start = _faults(), time.perf_counter()
    for _ in range(inner):
        _step(layer, x)
    if x.is_cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / inner
    return seconds, None if faults is None else (_faults() - faults) / inner


def time_pair(layers, x, repeats, inner, min_repeat_s=0.05):
    """Seconds for one forward + backward pass of each layer: the best of ``repeats`` samples.

    The layers take turns, sample by sample, so that a busy spell of a shared machine slows both
    alike; the best sample is the one least disturbed by other processes.  Each sample times at
    least ``inner`` passes, and enough of them to last ``min_repeat_s``, so that sub-millisecond
    layers are not timed at the clock's resolution.  Also returns each layer's minor page faults
    per pass in its best sample (None where the platform does not count them).
    """
    inners = []
    for layer in layers:
        for _ in range(3):
            _step(layer, x)
        one = max(_sample(layer, x, 1)[0], 1e-6)
        inners.append(max(inner, math.ceil(min_repeat_s / one)) if min_repeat_s else inner)
    best = [(math.inf, None)] * len(layers)
    for _ in range(repeats):
        for i, layer in enumerate(layers):
            best[i] = min(best[i], _sample(layer, x, inners[i]), key=lambda sample: sample[0])
    return [seconds for seconds, _ in best], [faults for _, faults in best]


def memory_layer(layer, x):
    """Bytes saved for backward (CPU), or peak bytes allocated (CUDA), for one pass."""
    if x.is_cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(x.device)
        base = torch.cuda.memory_allocated(x.device)
        _step(layer, x)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(x.device) - base
    storages = {}

    def pack(t):      # each storage once: a view (say, a mean expanded to x's shape) adds nothing
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = layer(x)
    y.backward(torch.ones_like(y))
    return sum(storages.values())


def run(device="cpu", repeats=9, inner=3, quick=False, timing=True):
    """One row per layer, measured in this process: seconds and minor page faults per pass
    (``timing=False``: not measured, NaN and None) and bytes, both libraries."""
    rows = []
    for name, ours_cls, theirs_cls, args, shape in CASES:
        if quick:  # a smoke test: tiny inputs, one repeat
            args, shape = QUICK[name]
        row = {"layer": name, "shape": list(shape)}
        x = torch.randn(shape, device=device, requires_grad=True)
        layers = [ours_cls(*args).to(device), theirs_cls(*args).to(device)]
        times, faults = (time_pair(layers, x, 1 if quick else repeats, 1 if quick else inner,
                                   min_repeat_s=0 if quick else 0.05)
                         if timing else ([math.nan] * 2, [None] * 2))
        for tag, layer, seconds, count in zip(("normlib", "torch"), layers, times, faults):
            row[f"{tag}_s"] = seconds
            row[f"{tag}_faults"] = count
            row[f"{tag}_bytes"] = memory_layer(layer, x)
        row["time_ratio"] = row["normlib_s"] / row["torch_s"]
        row["memory_ratio"] = row["normlib_bytes"] / max(row["torch_bytes"], 1)
        rows.append(row)
    return rows


def in_fresh_process(device, threads):
    """:func:`run` in a new Python process (this script with ``--one``), which starts with a fresh
    allocator."""
    done = subprocess.run([sys.executable, __file__, "--one", "--device", device,
                           "--threads", str(threads)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def combine(runs):
    """One row per layer from several processes' rows: the median time of each library, the median
    ratio and its range (min and max), the median page faults per pass."""
    rows = []
    for same_layer in zip(*runs):
        row = dict(same_layer[0])
        ratios = [r["time_ratio"] for r in same_layer]
        row.update(time_ratio=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios))
        for tag in ("normlib", "torch"):
            row[f"{tag}_s"] = statistics.median(r[f"{tag}_s"] for r in same_layer)
            counts = [r[f"{tag}_faults"] for r in same_layer]
            row[f"{tag}_faults"] = None if None in counts else statistics.median(counts)
        rows.append(row)
    return rows


def report(rows, device, processes=1):
    memory = "peak MiB" if device != "cpu" else "saved MiB"
    print(f"device: {device} · torch {torch.__version__} · threads {torch.get_num_threads()}"
          f" · {processes} process{'es' if processes > 1 else ''}: median time and ratio,"
          f" the ratio's range, page faults per pass")
    print(f"{'layer':28s} {'input shape':20s} {'normlib ms':>10s} {'torch ms':>9s} {'ratio':>6s}"
          f" {'range':>11s} {'faults':>13s} {'normlib ' + memory:>17s} {'torch ' + memory:>15s} {'ratio':>6s}")
    for r in rows:
        faults = ("-" if r["normlib_faults"] is None or r["torch_faults"] is None
                  else f"{r['normlib_faults']:.0f}/{r['torch_faults']:.0f}")
        spread = f"{r.get('ratio_min', r['time_ratio']):.2f}-{r.get('ratio_max', r['time_ratio']):.2f}"
        print(f"{r['layer']:28s} {str(tuple(r['shape'])):20s} {r['normlib_s'] * 1e3:10.3f} {r['torch_s'] * 1e3:9.3f}"
              f" {r['time_ratio']:6.2f} {spread:>11s} {faults:>13s} {r['normlib_bytes'] / 2**20:17.2f}"
              f" {r['torch_bytes'] / 2**20:15.2f} {r['memory_ratio']:6.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or all (cpu and cuda if present)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--processes", type=int, default=5,
                        help="fresh processes to measure in (default 5); the ratio is their median")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one repeat, in this process: a smoke test")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0 even if slow")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: print JSON rows
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f"--processes must be at least 1, got {args.processes}")
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    if not devices:
        parser.error(f"device {args.device!r} is not available here")
    if args.one:
        print(json.dumps(run(devices[0])))
        return 0
    slow = []
    for device in devices:
        if args.quick:
            runs = [run(device, quick=True)]
        else:
            print(f"measuring on {device} in {args.processes} fresh processes ...", flush=True)
            runs = [in_fresh_process(device, args.threads) for _ in range(args.processes)]
        rows = combine(runs)
        report(rows, device, len(runs))
        if device == "cpu" and not args.quick:
            slow += [r["layer"] for r in rows if r["time_ratio"] > TARGET]
        print()
    if slow:
        print(f"median slower than {TARGET:g}x torch on the CPU: {', '.join(slow)}")
        return 0 if args.no_fail else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
