"""The portable notebook check (tests/nbcheck.py): what it lets through and what it still catches.

The unit tests pin the comparison rules. The end-to-end test executes a small notebook that trains
a model, then runs nbval (with the portable comparison) on it and on altered copies: it must pass
unchanged, natively and on another CPU code path with two threads, and fail when a stored output
is edited to a wrong value, when a claim is made false, and when the code is changed so that its
results change but the notebook is not re-executed (stale outputs).
"""

import copy
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from nbcheck import Tolerance, texts_match

EXACT = Tolerance()


@pytest.mark.parametrize("stored, new", [
    ("accuracy 0.956", "accuracy 0.956"),
    ("accuracy 0.956", "accuracy 0.957"),          # one unit in the last digit: rounding
    ("whitened -0.000", "whitened 0.000"),        # the sign of a rounded zero
    ("mean −0.000 ± 0.012", "mean 0.000 ± 0.011"),
    ("tiny 1.5e-05", "tiny 1.6e-05"),
])
def test_exact_tolerance_allows_only_last_digit_rounding(stored, new):
    assert texts_match(stored, new, EXACT) is None


@pytest.mark.parametrize("stored, new", [
    ("accuracy 0.956", "accuracy 0.958"),
    ("step 350", "step 351"),                     # integers are exact
    ("no BN 0.093", "no BN diverged (step 41)"),  # words changed: never a rounding difference
    ("seed 0: 0.95", "seed 1: 0.95"),
    ("0.95, 0.96", "0.95"),
    ("loss 2.30", "loss nan"),
])
def test_exact_tolerance_catches_real_changes(stored, new):
    assert texts_match(stored, new, EXACT) is not None


def test_declared_tolerance_for_training_results():
    tol = Tolerance({"abs": 0.02, "integers": {"abs": 60}, "why": "seed spread 0.012 / 40 steps"})
    assert texts_match("acc 0.956 at step 350", "acc 0.940 at step 390", tol) is None
    assert texts_match("acc 0.956 at step 350", "acc 0.930 at step 350", tol) is not None
    assert texts_match("acc 0.956 at step 350", "acc 0.956 at step 420", tol) is not None
    assert texts_match("acc 0.956", "accuracy 0.956", tol) is not None
    rel = Tolerance({"rel": 0.1, "why": "timing-free ratio, spread 5%"})
    assert texts_match("ratio 2.00", "ratio 2.19", rel) is None
    assert texts_match("ratio 2.00", "ratio 2.25", rel) is not None


@pytest.mark.parametrize("spec", [{"abs": 0.02}, {"abs": -1, "why": "x"}, {"rel": float("inf"), "why": "x"}])
def test_a_tolerance_needs_a_reason_and_sane_values(spec):
    with pytest.raises(ValueError):
        Tolerance(spec)


# --------------------------------------------------------------------------------------------
# End to end: nbval with the portable comparison on a small training notebook

TRAIN = """\
import torch
from torch import nn
torch.manual_seed(0)
X = torch.randn(512, 8)
y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
for step in range(60):
    loss = nn.functional.cross_entropy(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
accuracy = (model(X).argmax(1) == y).float().mean().item()
print(f"final loss {loss.item():.3f} · accuracy {accuracy:.3f}")"""


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    train = nbformat.v4.new_code_cell(TRAIN.replace("LR", "0.05"))
    train.metadata["nbcheck"] = {"abs": 0.02, "why": "loss and accuracy move by < 0.01 across CPUs"}
    nb.cells = [
        nbformat.v4.new_code_cell('import normlib as nl\nnl.setup(lang="en", seed=0)'),
        train,
        nbformat.v4.new_code_cell('nl.claim("training fits the data: accuracy above 90%", accuracy > 0.9)'),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _run_nbval(paths, env_extra=None):
    """Names of the notebooks that failed, and nbval's output."""
    report = paths[0].parent / f"report-{len(env_extra or {})}.xml"
    # As make test runs the book: the comparison is installed by book/conftest.py (loaded here as a
    # plugin, since these notebooks live outside book/), with the same sanitizer file
    env = {**os.environ, "PYTHONPATH": str(ROOT / "book"), **(env_extra or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q",
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "tests" / "sanitize.cfg"),
         "--junit-xml", str(report), "--rootdir", str(paths[0].parent),
         *map(str, paths)], cwd=paths[0].parent, env=env, capture_output=True, text=True, timeout=600)
    failed = set()
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(case.get("classname"))
    return {name.removesuffix(".ipynb") for name in failed}, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    d = tmp_path_factory.mktemp("nbcheck")
    nb = _notebook()
    variants = {"unchanged": nb}
    edited = copy.deepcopy(nb)                     # a stored output edited to a wrong value
    out = edited.cells[1].outputs[0]
    loss = out["text"].split()[2]
    out["text"] = out["text"].replace(loss, f"{float(loss) + 0.1:.3f}", 1)
    variants["edited_output"] = edited
    nudged = copy.deepcopy(nb)                     # moved within the cell's declared tolerance: only
    out = nudged.cells[1].outputs[0]               # the portable comparison lets this pass
    out["text"] = out["text"].replace(loss, f"{float(loss) + 0.005:.3f}", 1)
    variants["within_tolerance"] = nudged
    false_claim = copy.deepcopy(nb)                # a claim made false
    false_claim.cells[2].source = false_claim.cells[2].source.replace("0.9", "1.01")
    variants["false_claim"] = false_claim
    stale = copy.deepcopy(nb)                      # code changed, outputs not re-executed
    stale.cells[1].source = TRAIN.replace("LR", "0.2")
    variants["stale"] = stale
    paths = []
    for name, v in variants.items():
        path = d / f"{name}.ipynb"
        path.write_text(json.dumps(v), encoding="utf-8")
        paths.append(path)
    return paths


def test_nbval_passes_unchanged_and_catches_three_kinds_of_fault(notebooks):
    failed, log = _run_nbval(notebooks)
    assert failed == {"edited_output", "false_claim", "stale"}, log   # within_tolerance passes


def test_unchanged_notebook_passes_on_other_cpu_kernels_with_two_threads(notebooks):
    failed, log = _run_nbval(notebooks[:1], {"ATEN_CPU_CAPABILITY": "default",
                                             "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
                                             "NORMLIB_THREADS": "2"})
    assert failed == set(), log
