"""Chapter 3, section 3.8: the runs too long for the notebook's time budget.

    .venv/bin/python benchmarks/ch3_miniature.py              # a few minutes on one CPU thread
    .venv/bin/python benchmarks/ch3_miniature.py --portable   # the same on torch's portable CPU path

1. Chooses the base learning rate of the network WITHOUT BN on a validation split: 300 images
   held out of the training set (``nl.data.holdout``), seeds 0-4, every rate of ``LR_GRID``; the
   rate with the best mean validation accuracy wins.  The test set is not used for the choice.
2. Trains every variant of the chapter's miniature at that rate on the full training set, seeds
   0-9, and records the final test accuracy, whether it failed (diverged or below 20%), and the
   step at which it first reached the no-BN baseline's final accuracy on the same seed.

Writes normlib/records/ch3_miniature.json, which chapter 3 reads (``nl.data.record("ch3_miniature")``),
shows and checks claims against. It ships inside normlib, so the chapter finds it on Colab too.
The notebook itself reruns seeds 0-2 of the same code; this script is the 10-seed record.

The runs depend on the CPU: torch picks its kernels by the processor's vector instructions, and a
different kernel rounds differently, which over 500 steps of training moves a seed's final accuracy
by a few test images and the step at which it reaches a target by up to hundreds of steps.
``--portable`` therefore makes a second record, normlib/records/ch3_miniature_portable.json, with
the same code on the kernels any x86-64 CPU has (ATEN_CPU_CAPABILITY=default,
MKL_ENABLE_INSTRUCTIONS=SSE4_2, set by the script itself before torch loads); the chapter checks its
claims on both records.  Each file says where it was made and on which kernels.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys

PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}
if "--portable" in sys.argv[1:] and any(os.environ.get(k) != v for k, v in PORTABLE_ENV.items()):
    # torch reads these when it loads: start again with them set
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **PORTABLE_ENV})

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import normlib as nl  # noqa: E402

LR_GRID = [0.01, 0.02, 0.03, 0.05]
TUNE_SEEDS = [0, 1, 2, 3, 4]
SEEDS = list(range(10))
STEPS = 500
VARIANTS = {  # name: (normalization, activation, learning-rate multiplier); as in the chapter
    "no_bn": ("none", "relu", 1), "bn": ("bn", "relu", 1), "bn_x5": ("bn", "relu", 5),
    "bn_x30": ("bn", "relu", 30), "no_bn_x5": ("none", "relu", 5), "no_bn_x30": ("none", "relu", 30),
    "sigmoid": ("none", "sigmoid", 1), "bn_sigmoid_x5": ("bn", "sigmoid", 5),
}


def run(data, seed, norm, activation, lr):
    torch.manual_seed(seed)
    model = nl.models.mlp(64, 100, 12, 10, norm=norm, activation=activation, backend="torch")
    return nl.train.train_classifier(model, data, steps=STEPS, lr=lr, seed=seed)


def score(history):
    """Final accuracy, with a diverged run counted as 0 (it never recovers)."""
    return 0.0 if history.diverged else history.final_accuracy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portable", action="store_true",
                        help="run on torch's portable CPU kernels and write ch3_miniature_portable.json")
    portable = parser.parse_args().portable
    nl.setup(lang="en", seed=0)
    capability = torch.backends.cpu.get_cpu_capability()
    if portable and capability != "DEFAULT":
        sys.exit(f"--portable: torch still uses its {capability} kernels")
    digits = nl.data.digits(n_test=500, seed=0)
    val = nl.data.holdout(digits, 300, seed=0)

    search = {}
    for lr in LR_GRID:
        search[str(lr)] = [round(score(run(val, s, "none", "relu", lr)), 4) for s in TUNE_SEEDS]
        print(f"lr {lr}: validation", search[str(lr)], flush=True)
    lr0 = max(LR_GRID, key=lambda lr: sum(search[str(lr)]) / len(TUNE_SEEDS))
    print("chosen base rate", lr0, flush=True)

    runs = {}
    for seed in SEEDS:
        hist = {n: run(digits, seed, norm, act, lr0 * k) for n, (norm, act, k) in VARIANTS.items()}
        target = hist["no_bn"].final_accuracy()
        runs[seed] = {}
        for n, h in hist.items():
            reached = None if h.diverged else h.steps_to_reach(target)
            runs[seed][n] = dict(final=round(score(h), 4),
                                 failed=bool(h.diverged or h.final_accuracy() < 0.2),
                                 steps=reached)
        print(f"seed {seed}:", {n: (r["final"], r["steps"]) for n, r in runs[seed].items()}, flush=True)

    out = dict(
        about="Written by benchmarks/ch3_miniature.py; read by chapter 3 (section 3.8). Do not edit by hand.",
        made=dict(date=datetime.date.today().isoformat(), platform=platform.platform(),
                  processor=platform.processor() or platform.machine(), torch=torch.__version__,
                  threads=torch.get_num_threads(), cpu_capability=capability),
        steps=STEPS, validation_size=len(val.X_test), lr_grid=LR_GRID, tune_seeds=TUNE_SEEDS,
        validation_accuracy=search, base_lr=lr0, seeds=SEEDS,
        runs={str(s): r for s, r in runs.items()},
    )
    name = "ch3_miniature_portable" if portable else "ch3_miniature"
    path = ROOT / "normlib" / "records" / f"{name}.json"   # shipped with normlib: nl.data.record
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
