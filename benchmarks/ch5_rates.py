"""Chapter 5, section 5.2: the GN-paper miniature with BN's learning-rate grid extended to 1.0 and 3.0.

    .venv/bin/python benchmarks/ch5_rates.py              # about two minutes on one CPU thread
    .venv/bin/python benchmarks/ch5_rates.py --portable   # the same on torch's portable CPU path

Section 5.2 chooses each normalizer's learning rate from 0.03, 0.1 and 0.3 on a validation split,
and BN chooses 0.3, the top of that grid.  Its last exercise asks what happens with 1.0 and 3.0
added; this script runs that experiment so that the chapter can read and check the answer.

The chapter's functions live in the notebook, not in normlib, so this script reproduces its setup
line for line (cell "digits = nl.data.digits() ..." of book/{ko,en}/05_bn_limits.ipynb; a test
checks that ``PerDeviceBatchNorm2d``, ``norm_layer`` and ``cnn`` here are the chapter's code): the
digits as 1×8×8 images, 300 training images held out for validation (``nl.data.holdout``, seed 0),
the CNN of three 3×3 convolutions (16, 32, 32 channels) each followed by a normalization and a
ReLU, ``PerDeviceBatchNorm2d`` (BN whose training statistics come from groups of ``b`` images of
each batch of 32), 300 steps of SGD via ``nl.train.train_classifier``, the test error in
evaluation mode, and ``nl.setup(seed=0)`` with one thread.  At the rates 0.03, 0.1 and 0.3 it
therefore computes what the chapter computes (on the same CPU path, the same numbers).

1. Validation: every normalizer (none, BN, LN, GN) at every rate of ``RATES``, seed 0, trained on
   the training images minus the 300 held out and scored by the loss on those 300; a run that
   diverges (NaN loss) ranks last.  The chosen rate is the one with the lowest validation loss, in
   the chapter's grid (``CHAPTER_RATES``) and in the extended one.
2. Test: BN at every rate of ``RATES`` with ``b`` = 32, 8, 2 and 1 images per device, seeds 0-2,
   trained on the full training set: the test error in evaluation mode (running statistics), and
   for ``b`` = 1 also with each test image's own statistics (train mode on a copy, as the chapter's
   ``error_with_own_statistics``).

Writes normlib/records/ch5_rates.json (``--portable``: ch5_rates_portable.json, on the kernels any
x86-64 CPU has: ATEN_CPU_CAPABILITY=default, MKL_ENABLE_INSTRUCTIONS=SSE4_2, set by the script
itself before torch loads), which chapter 5 reads (``nl.data.record("ch5_rates")``) and checks
claims against.  Each record says where and when it was made, on which kernels, and how long it
took.  ``--quick`` is a smoke test of a few seconds (tiny settings, written to ``--out``, never to
the chapter's record).
"""

import argparse
import copy
import os
import pathlib
import sys

PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}
if "--portable" in sys.argv[1:] and any(os.environ.get(k) != v for k, v in PORTABLE_ENV.items()):
    # torch reads these when it loads: start again with them set
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **PORTABLE_ENV})

import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import normlib as nl  # noqa: E402
import record_run  # noqa: E402

CHAPTER_RATES = [0.03, 0.1, 0.3]          # section 5.2's grid
RATES = CHAPTER_RATES + [1.0, 3.0]        # the exercise's extended grid
KINDS = ["none", "bn", "ln", "gn"]
SETTINGS = dict(steps=300, batch=32, width=16, held_out=300, tune_seed=0, seeds=[0, 1, 2],
                per_device=[32, 8, 2, 1], rates=RATES)               # as in the chapter
QUICK = dict(steps=3, batch=32, width=4, held_out=300, tune_seed=0, seeds=[0, 1],
             per_device=[32, 1], rates=[0.1, 1.0])                  # a smoke test


# --- the chapter's code (section 5.2), unchanged but for the settings passed in -----------------

def as_images(split):
    return nl.data.Split(*(t.view(-1, 1, 8, 8) if t.is_floating_point() else t for t in split))


class PerDeviceBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics come from groups of `per_device` images of the batch,
    as when a batch is spread over devices that each normalize their own share (no SyncBN)."""

    def __init__(self, num_features, per_device):
        super().__init__(num_features)
        self.per_device = per_device

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        groups = x.view(-1, self.per_device, *x.shape[1:])           # (devices, images per device, C, H, W)
        mean = groups.mean(dim=(1, 3, 4), keepdim=True)
        var = groups.var(dim=(1, 3, 4), keepdim=True, correction=0)
        x_hat = ((groups - mean) / torch.sqrt(var + self.eps)).view_as(x)
        with torch.no_grad():                                         # running statistics: the devices' averages, unbiased variance as in nn.BatchNorm2d
            n = self.per_device * x.shape[2] * x.shape[3]
            self.running_mean.lerp_(mean.mean(dim=0).flatten(), self.momentum)
            self.running_var.lerp_(var.mean(dim=0).flatten() * n / (n - 1), self.momentum)
            self.num_batches_tracked += 1
        return x_hat * self.weight[:, None, None] + self.bias[:, None, None]


def norm_layer(kind, channels, per_device):
    if kind == "bn":
        return PerDeviceBatchNorm2d(channels, per_device)
    if kind == "ln":
        return nn.GroupNorm(1, channels)   # LN: one group holding every channel of an example
    if kind == "gn":
        return nn.GroupNorm(4, channels)   # GN: four groups of channels per example
    return nn.Identity()


def cnn(kind, per_device=32, width=16):
    layers, c_in = [], 1
    for c_out, stride in [(width, 1), (2 * width, 2), (2 * width, 1)]:
        layers += [nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=kind == "none"),
                   norm_layer(kind, c_out, per_device), nn.ReLU()]
        c_in = c_out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 10))


def train_cnn(kind, seed, lr, split, settings, per_device=None):
    """Train for `steps` steps of SGD batches of 32; return the model, its test loss and test error."""
    steps, batch = settings["steps"], settings["batch"]
    torch.manual_seed(seed)
    model = cnn(kind, batch if per_device is None else per_device, settings["width"])
    nl.train.train_classifier(model, split, steps=steps, lr=lr, batch_size=batch, seed=seed,
                              eval_every=steps)
    loss, accuracy = nl.train.evaluate(model, split.X_test, split.y_test)
    return model, loss, 1 - accuracy


def error_with_own_statistics(model, split):
    """Test error when every BN standardizes each test image with that image's own statistics,
    as in training with one image per device (train mode on a copy; the model is untouched)."""
    twin = copy.deepcopy(model).train()
    with torch.no_grad():
        return (twin(split.X_test).argmax(1) != split.y_test).float().mean().item()


# --- the experiment ------------------------------------------------------------------------------

def best(rates, losses):
    """The rate with the lowest validation loss; a diverged run (None) ranks last, a tie goes to
    the first (smaller) rate, as min() does in the chapter."""
    return min(rates, key=lambda lr: float("inf") if losses[str(lr)] is None else losses[str(lr)])


def experiment(settings, log):
    digits = nl.data.digits()
    data = as_images(digits)
    tune = as_images(nl.data.holdout(digits, settings["held_out"], seed=settings["tune_seed"]))
    rates = settings["rates"]

    val_loss = {}
    for kind in KINDS:
        val_loss[kind] = {}
        for lr in rates:
            loss = train_cnn(kind, settings["tune_seed"], lr, tune, settings)[1]
            val_loss[kind][str(lr)] = round(loss, 4) if loss == loss else None   # NaN: diverged
        log(f"{kind}: validation loss", val_loss[kind])
    chapter_rates = [lr for lr in rates if lr in CHAPTER_RATES]
    chosen = {"chapter_grid": {k: best(chapter_rates, val_loss[k]) for k in KINDS},
              "extended_grid": {k: best(rates, val_loss[k]) for k in KINDS}}
    log("chosen rates", chosen)

    test_eval, test_own = {}, {}
    for lr in rates:
        test_eval[str(lr)] = {}
        for b in settings["per_device"]:
            runs = [train_cnn("bn", s, lr, data, settings, per_device=b) for s in settings["seeds"]]
            test_eval[str(lr)][str(b)] = [round(e, 4) for _, _, e in runs]
            if b == 1:
                test_own[str(lr)] = [round(error_with_own_statistics(m, data), 4) for m, _, _ in runs]
        log(f"BN at rate {lr:g}: test error in eval mode per b", test_eval[str(lr)],
            "own statistics at b = 1", test_own.get(str(lr)))
    return dict(validation_loss=val_loss, chosen_lr=chosen,
                bn_test_error_eval=test_eval, bn_test_error_own_statistics_b1=test_own)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portable", action="store_true",
                        help="run on torch's portable CPU kernels and write ch5_rates_portable.json")
    parser.add_argument("--quick", action="store_true", help="a smoke test of a few seconds")
    parser.add_argument("--out", default=None,
                        help="where to write the record (required with --quick)")
    args = parser.parse_args(argv)
    record_run.quick_needs_out(parser, args)
    settings = QUICK if args.quick else SETTINGS
    nl.setup(lang="en", seed=0, quiet=True)
    capability = torch.backends.cpu.get_cpu_capability()
    if args.portable and capability != "DEFAULT":
        sys.exit(f"--portable: torch still uses its {capability} kernels")
    run = record_run.Run()
    run.log("settings", settings, "CPU capability", capability)
    results = experiment(settings, run.log)
    name = "ch5_rates_portable" if args.portable else "ch5_rates"
    out = dict(
        about="Written by benchmarks/ch5_rates.py; read by chapter 5 (section 5.2 and its last "
              "exercise). Do not edit by hand.",
        command="python benchmarks/ch5_rates.py" + (" --portable" if args.portable else "")
                + (" --quick" if args.quick else ""),
        chapter_rates=CHAPTER_RATES, kinds=KINDS, settings=settings, **results,
        made=run.made(cpu_capability=capability),
    )
    run.write(out, pathlib.Path(args.out) if args.out else ROOT / "normlib" / "records" / f"{name}.json")
    return out


if __name__ == "__main__":
    main()
