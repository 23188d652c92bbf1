"""Chapter 10: the 3D U-Net at batch size 1, with the runs too long for the notebook's time budget.

    .venv/bin/python benchmarks/ch10_unet3d.py          # about 15 minutes of one CPU core; or a GPU

It uses a GPU when torch sees one (``--device auto``, the default; ``--device cpu`` or ``cuda`` to
choose) and one CPU thread otherwise.  ``--quick`` is a smoke test of a few seconds (tiny sizes,
written to ``--out``, never to the chapter's record).

Every run trains ``nl.models.unet3d`` one volume per step (batch size 1) with Adam and
``nl.train.train_segmenter`` (cross-entropy plus soft Dice), on volumes from ``nl.data.volumes``
whose intensity offset and gain vary from volume to volume, and measures the Dice score of the
held-out test volumes in evaluation mode (``model.eval()``).  BN and IN share their training: at
batch size 1 a BN network trains exactly as an IN network (chapter 10 checks it), so "in" is the
trained BN network evaluated with each volume's own statistics (its γ and β copied into the same
network with IN layers); part 4 trains IN on its own once to confirm it.

1. Notebook scale (16³ volumes, base 4, depth 2, 200 steps; 16 training, 8 validation and 16 test
   volumes): the learning rate of each normalizer, chosen from ``LR_GRID`` by the mean Dice of
   the *validation* volumes over seeds 0-2 (the test volumes play no part).  Chapter 10 reads these
   choices and trains with them; the test Dice at the chosen rates is recorded too, LN included.
2. Larger scale (32³ volumes, depth 3, 250 steps; 32 training, 8 validation, 16 test volumes):
   the same choice on validation volumes over seeds 0-1, then the test Dice of seeds 0-4 at the
   chosen rates.
3. Larger scale, inputs standardized per volume (each volume minus its mean, divided by its
   standard deviation), seeds 0-2, no normalization and BN (so IN too), at the rates of part 2.
4. Larger scale, IN trained on its own (seed 0), against BN's weights evaluated as IN.

Writes normlib/records/ch10_unet3d.json, which chapter 10 reads (``nl.data.record("ch10_unet3d")``),
shows and checks claims against.  The record says where and when it was made and how long it took.
"""

import argparse
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import normlib as nl  # noqa: E402
import record_run  # noqa: E402

LR_GRID = [0.001, 0.003, 0.01]
SCALES = {   # the notebook's scale and the larger one
    "notebook": dict(size=16, base=4, depth=2, steps=200, n_train=16, n_val=8, n_test=16,
                     tune_seeds=[0, 1, 2], seeds=[0, 1, 2], trained=["none", "bn", "gn", "ln"]),
    "large": dict(size=32, base=4, depth=3, steps=250, n_train=32, n_val=8, n_test=16,
                  tune_seeds=[0, 1], seeds=[0, 1, 2, 3, 4], trained=["none", "bn", "gn"]),
}
QUICK = {   # a smoke test
    "notebook": dict(size=8, base=2, depth=1, steps=3, n_train=3, n_val=2, n_test=2,
                     tune_seeds=[0], seeds=[0, 1], trained=["none", "bn", "gn", "ln"]),
    "large": dict(size=8, base=2, depth=1, steps=3, n_train=3, n_val=2, n_test=2,
                  tune_seeds=[0], seeds=[0, 1], trained=["none", "bn", "gn"]),
}
ZSCORE_SEEDS, ZSCORE_TRAINED = [0, 1, 2], ["none", "bn"]


def standardize_volumes(x):
    """Each volume minus its own mean, divided by its own standard deviation."""
    dims = tuple(range(1, x.dim()))
    return (x - x.mean(dims, keepdim=True)) / x.std(dims, keepdim=True)


def data(scale, zscore=False):
    """Training, validation and test volumes: three sets drawn from seeds 0, 2 and 1."""
    sets = [nl.data.volumes(scale[n], size=scale["size"], seed=s)
            for n, s in (("n_train", 0), ("n_val", 2), ("n_test", 1))]
    if zscore:
        sets = [(standardize_volumes(x), m) for x, m in sets]
    return sets


def unet(scale, norm):
    return nl.models.unet3d(norm=norm, base=scale["base"], depth=scale["depth"], backend="torch")


def train(scale, norm, lr, seed, train_set):
    torch.manual_seed(seed)
    model = unet(scale, norm)
    nl.train.train_segmenter(model, *train_set, scale["steps"], lr, seed=seed)
    return model


def as_instance_norm(scale, bn_model):
    """The trained BN network with IN layers in place of BN: each volume normalized by its own
    statistics, as in training at batch size 1."""
    model = unet(scale, "in").to(next(bn_model.parameters()).device)
    weights = {k: v for k, v in bn_model.state_dict().items()
               if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    model.load_state_dict(weights)
    return model


def evaluated(scale, trained_models):
    """{arm: model} for the arms a set of trained models gives ("bn" gives "bn" and "in")."""
    arms = {}
    for norm, model in trained_models.items():
        arms[norm] = model
        if norm == "bn":
            arms["in"] = as_instance_norm(scale, model)
    return arms


def dice(model, volumes):
    x, masks = volumes
    return round(nl.train.dice(nl.train.segment(model, x), masks).mean().item(), 4)


def run_scale(scale, tune_seeds, log):
    """Choose each arm's learning rate on the validation volumes, then test at the chosen rate."""
    train_set, val_set, test_set = data(scale)
    trained = {}   # (norm, lr, seed) -> model

    def model(norm, lr, seed):
        if (norm, lr, seed) not in trained:
            trained[norm, lr, seed] = train(scale, norm, lr, seed, train_set)
        return trained[norm, lr, seed]

    val = {}
    for lr in LR_GRID:
        for seed in tune_seeds:
            trained_now = {n: model(n, lr, seed) for n in scale["trained"]}
            for arm, m in evaluated(scale, trained_now).items():
                val.setdefault(arm, {}).setdefault(str(lr), []).append(dice(m, val_set))
        log(f"lr {lr:g}: validation Dice", {a: v[str(lr)] for a, v in val.items()})
    chosen = {arm: max(LR_GRID, key=lambda lr: sum(v[str(lr)]) / len(v[str(lr)]))
              for arm, v in val.items()}          # the best mean; a tie goes to the smaller rate
    log("chosen learning rates", chosen)
    test = {}
    for seed in scale["seeds"]:
        for arm, lr in chosen.items():
            norm = "bn" if arm == "in" else arm
            m = evaluated(scale, {norm: model(norm, lr, seed)})[arm]
            test.setdefault(arm, []).append(dice(m, test_set))
        log(f"seed {seed}: test Dice", {a: v[-1] for a, v in test.items()})
    return val, chosen, test


def settings(scale):
    return {k: v for k, v in scale.items() if k not in ("tune_seeds", "trained")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto",
                        help="auto (a GPU if torch sees one), cpu or cuda")
    parser.add_argument("--quick", action="store_true", help="a smoke test of a few seconds")
    parser.add_argument("--out", default=None,
                        help="where to write the record (required with --quick)")
    args = parser.parse_args(argv)
    record_run.quick_needs_out(parser, args)
    scales = QUICK if args.quick else SCALES
    zscore_seeds = [0] if args.quick else ZSCORE_SEEDS
    device = nl.setup(lang="en", seed=0, device=args.device, quiet=True)
    run = record_run.Run()
    log = run.log
    out = dict(about="Written by benchmarks/ch10_unet3d.py; read by chapter 10. "
                     "Do not edit by hand.",
               command="python benchmarks/ch10_unet3d.py" + (" --quick" if args.quick else ""),
               lr_grid=LR_GRID)
    for name, scale in scales.items():
        log(f"{name} scale:", settings(scale))
        val, chosen, test = run_scale(scale, scale["tune_seeds"], log)
        out[name] = dict(settings(scale), tune_seeds=scale["tune_seeds"], validation_dice=val,
                         lr=chosen, test_dice=test)
    large = scales["large"]

    log("large scale, inputs standardized per volume")
    train_set, _, test_set = data(large, zscore=True)
    zscore = {}
    for seed in zscore_seeds:
        models = {n: train(large, n, out["large"]["lr"][n], seed, train_set)
                  for n in ZSCORE_TRAINED}
        for arm, m in evaluated(large, models).items():
            zscore.setdefault(arm, []).append(dice(m, test_set))
        log(f"seed {seed}: test Dice", {a: v[-1] for a, v in zscore.items()})
    out["large"].update(zscore_seeds=zscore_seeds, zscore_test_dice=zscore)

    log("large scale, IN trained on its own")
    train_set, _, test_set = data(large)
    alone = train(large, "in", out["large"]["lr"]["in"], 0, train_set)
    out["large"]["in_trained_alone"] = dict(seed=0, test_dice=dice(alone, test_set))
    log("IN trained alone, seed 0:", out["large"]["in_trained_alone"])

    out["made"] = run.made(device=(torch.cuda.get_device_name(device) if device.type == "cuda"
                                   else "cpu"))
    run.write(out, pathlib.Path(args.out) if args.out else ROOT / "normlib" / "records" / "ch10_unet3d.json")
    return out


if __name__ == "__main__":
    main()
