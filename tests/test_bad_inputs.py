"""The bad-input corpus: what normlib's public API does with input it cannot use.

Every case in ``CASES`` must raise a ``ValueError`` or ``TypeError`` whose message names the
argument that is wrong (the ``match`` regex), never return a silent NaN or hang.  Where a case has
a torch twin (the batch-norm layers), the table also records whether ``torch.nn`` refuses the same
call (``"raises"``) or runs it (``"runs"``): normlib may be stricter than torch, never looser.

Inputs that are *not* errors (NaN and inf values, an empty batch in evaluation, ...) are at the end:
there normlib does exactly what torch does, and the tests check that it does.
"""

import math
import warnings
from collections import namedtuple

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import normlib as nl
from normlib.data import Split

Bad = namedtuple("Bad", "id api call exc match torch")
# id     a short name for the case
# api    the public function or class it exercises (for the coverage count below)
# call   a function of ``lib``: normlib for the case itself, torch.nn for its twin (if any)
# exc    the exception normlib must raise, ValueError or TypeError
# match  a regex, searched in the message, that names the offending argument
# torch  "raises" / "runs": what torch.nn does with the same call; None: no torch twin


def X(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def _tiny_split(n=20, y_dtype=torch.long):
    g = torch.Generator().manual_seed(0)
    return Split(torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g).to(y_dtype),
                 torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g))


def _train(**kwargs):
    args = dict(model=nn.Linear(4, 3), data=_tiny_split(), steps=2, lr=0.1, batch_size=4)
    args.update(kwargs)
    return nl.train.train_classifier(**args)


def _eval(X_, y_, model=None):
    return nl.train.evaluate(nn.Linear(4, 3) if model is None else model, X_, y_)


CASES = [
    # ---- BatchNorm1d/2d/3d: constructor arguments ------------------------------------------
    Bad("bn-num_features-zero", "BatchNorm", lambda lib: lib.BatchNorm2d(0),
        ValueError, r"num_features must be ≥ 1", "runs"),
    Bad("bn-num_features-negative", "BatchNorm", lambda lib: lib.BatchNorm1d(-3),
        ValueError, r"num_features must be ≥ 1", "raises"),
    Bad("bn-num_features-float", "BatchNorm", lambda lib: lib.BatchNorm3d(2.5),
        TypeError, r"num_features must be an int", "raises"),
    Bad("bn-num_features-bool", "BatchNorm", lambda lib: lib.BatchNorm2d(True),
        TypeError, r"num_features must be an int", "raises"),
    Bad("bn-eps-negative", "BatchNorm", lambda lib: lib.BatchNorm2d(3, eps=-1e-5)(X(2, 3, 2, 2)),
        ValueError, r"eps must be a finite number ≥ 0", "raises"),
    Bad("bn-eps-nan", "BatchNorm", lambda lib: lib.BatchNorm1d(3, eps=math.nan)(X(4, 3)),
        ValueError, r"eps must be a finite number", "runs"),        # torch: all-NaN output
    Bad("bn-eps-string", "BatchNorm", lambda lib: lib.BatchNorm1d(3, eps="1e-5")(X(4, 3)),
        TypeError, r"eps must be a number", "raises"),
    Bad("bn-eps-zero-training", "BatchNorm", lambda lib: lib.BatchNorm1d(3, eps=0.0)(X(4, 3)),
        ValueError, r"eps must be > 0", "raises"),
    Bad("bn-eps-zero-batch-stats-in-eval", "BatchNorm",
        lambda lib: lib.BatchNorm1d(3, eps=0.0, track_running_stats=False).eval()(X(4, 3)),
        ValueError, r"eps must be > 0", "raises"),
    Bad("bn-momentum-above-one", "BatchNorm", lambda lib: lib.BatchNorm2d(3, momentum=1.5),
        ValueError, r"momentum must be in \[0, 1\]", "runs"),
    Bad("bn-momentum-nan", "BatchNorm", lambda lib: lib.BatchNorm1d(3, momentum=math.nan)(X(4, 3)),
        ValueError, r"momentum must be in \[0, 1\]", "runs"),      # torch: NaN running stats
    Bad("bn-momentum-string", "BatchNorm", lambda lib: lib.BatchNorm1d(3, momentum="0.1")(X(4, 3)),
        TypeError, r"momentum must be a number", "raises"),
    Bad("bn-affine-not-bool", "BatchNorm", lambda lib: lib.BatchNorm2d(3, affine="yes"),
        TypeError, r"affine must be True or False", "runs"),
    Bad("bn-track_running_stats-not-bool", "BatchNorm",
        lambda lib: lib.BatchNorm2d(3, track_running_stats=None),
        TypeError, r"track_running_stats must be True or False", "runs"),
    Bad("bn-bias-not-bool", "BatchNorm", lambda lib: lib.BatchNorm2d(3, bias=1),
        TypeError, r"bias must be True or False", "runs"),
    Bad("bn-dtype-integer", "BatchNorm", lambda lib: lib.BatchNorm1d(3, dtype=torch.long),
        TypeError, r"dtype must be a floating-point", "raises"),
    # ---- BatchNorm1d/2d/3d: the input ------------------------------------------------------
    Bad("bn2d-rank-3-input", "BatchNorm", lambda lib: lib.BatchNorm2d(3)(X(2, 3, 4)),
        ValueError, r"expected a 4D input .* got a 3D input", "raises"),
    Bad("bn1d-rank-1-input", "BatchNorm", lambda lib: lib.BatchNorm1d(3)(X(3)),
        ValueError, r"expected a 2D or 3D input .* got a 1D input", "raises"),
    Bad("bn3d-rank-4-input", "BatchNorm", lambda lib: lib.BatchNorm3d(3)(X(2, 3, 4, 5)),
        ValueError, r"expected a 5D input .* got a 4D input", "raises"),
    Bad("bn-wrong-channel-count", "BatchNorm", lambda lib: lib.BatchNorm2d(3)(X(2, 4, 3, 3)),
        ValueError, r"input has 4 channels .* expected 3", "raises"),
    Bad("bn-integer-input", "BatchNorm",
        lambda lib: lib.BatchNorm1d(3)(torch.ones(4, 3, dtype=torch.long)),
        TypeError, r"input must be a floating-point tensor", "raises"),
    Bad("bn-bool-input", "BatchNorm",
        lambda lib: lib.BatchNorm2d(3)(torch.ones(2, 3, 2, 2, dtype=torch.bool)),
        TypeError, r"input must be a floating-point tensor", "raises"),
    Bad("bn-list-input", "BatchNorm", lambda lib: lib.BatchNorm1d(3)([[1.0, 2.0, 3.0]] * 4),
        TypeError, r"input must be a torch.Tensor", "raises"),
    Bad("bn-numpy-input", "BatchNorm", lambda lib: lib.BatchNorm1d(3)(np.ones((4, 3), np.float32)),
        TypeError, r"input must be a torch.Tensor", "raises"),
    Bad("bn-one-value-per-channel-training", "BatchNorm", lambda lib: lib.BatchNorm1d(3)(X(1, 3)),
        ValueError, r"more than 1 value per channel.* input of shape \(1, 3\)", "raises"),
    Bad("bn1d-3D-one-value-per-channel", "BatchNorm", lambda lib: lib.BatchNorm1d(3)(X(1, 3, 1)),
        ValueError, r"more than 1 value per channel.* input", "raises"),
    Bad("bn-one-value-per-channel-batch-stats-in-eval", "BatchNorm",
        lambda lib: lib.BatchNorm1d(3, track_running_stats=False).eval()(X(1, 3)),
        ValueError, r"more than 1 value per channel.* input", "raises"),
    Bad("bn-empty-batch-training", "BatchNorm", lambda lib: lib.BatchNorm1d(3)(X(0, 3)),
        ValueError, r"input is an empty batch", "runs"),            # torch: empty output
    Bad("bn2d-empty-spatial-training", "BatchNorm", lambda lib: lib.BatchNorm2d(3)(X(2, 3, 0, 4)),
        ValueError, r"input is an empty batch", "runs"),
    Bad("bn-float64-input-float32-layer", "BatchNorm",
        lambda lib: lib.BatchNorm1d(3)(X(4, 3, dtype=torch.float64)),
        TypeError, r"input has dtype torch.float64 .* torch.float32", "raises"),
    Bad("bn-float32-input-float16-layer", "BatchNorm",
        lambda lib: lib.BatchNorm2d(3, dtype=torch.float16)(X(2, 3, 2, 2)),
        TypeError, r"input has dtype torch.float32 .* torch.float16", "raises"),
    # (a float16/bfloat16 input to a float32 layer is allowed, as in torch: test_properties.py)
    # ---- normalize, moments, standardize ---------------------------------------------------
    Bad("normalize-list", "normalize", lambda lib: lib.normalize([[1.0, 2.0]], 0),
        TypeError, r"x must be a torch.Tensor", None),
    Bad("normalize-integer-tensor", "normalize",
        lambda lib: lib.normalize(torch.ones(2, 3, dtype=torch.long), 0),
        TypeError, r"x must be a floating-point tensor", None),
    Bad("normalize-dims-out-of-range", "normalize", lambda lib: lib.normalize(X(2, 3), 2),
        ValueError, r"dims \(2,\) out of range", None),
    Bad("normalize-dims-repeated", "normalize", lambda lib: lib.normalize(X(2, 3), (0, -2)),
        ValueError, r"dims \(0, -2\) name the same axis twice", None),
    Bad("normalize-dims-empty", "normalize", lambda lib: lib.normalize(X(2, 3), ()),
        TypeError, r"dims must be a non-empty sequence", None),
    Bad("normalize-dims-float", "normalize", lambda lib: lib.normalize(X(2, 3), 0.5),
        TypeError, r"dims must be an int or a sequence of ints", None),
    Bad("normalize-dims-bool", "normalize", lambda lib: lib.normalize(X(2, 3), True),
        TypeError, r"dims must be a non-empty sequence of ints", None),
    Bad("normalize-eps-negative", "normalize", lambda lib: lib.normalize(X(2, 3), 0, eps=-1.0),
        ValueError, r"eps must be a finite number ≥ 0", None),
    Bad("normalize-eps-inf", "normalize", lambda lib: lib.normalize(X(2, 3), 0, eps=math.inf),
        ValueError, r"eps must be a finite number ≥ 0", None),      # was: silently all zeros
    Bad("normalize-eps-string", "normalize", lambda lib: lib.normalize(X(2, 3), 0, eps="0"),
        TypeError, r"eps must be a number", None),
    Bad("normalize-empty-batch", "normalize", lambda lib: lib.normalize(X(0, 3), 0),
        ValueError, r"no values to normalize over dims \(0,\)", None),
    Bad("normalize-eps-zero-constant-slice", "normalize",
        lambda lib: lib.normalize(torch.ones(4, 3), 0, eps=0.0),
        ValueError, r"variance is 0 and eps=0", None),               # was: silent NaN (0/0)
    Bad("moments-empty-batch", "moments", lambda lib: lib.moments(X(0, 3), 0),
        ValueError, r"no values to average over dims \(0,\)", None),  # was: silent NaN
    Bad("moments-non-tensor", "moments", lambda lib: lib.moments(3.0, 0),
        TypeError, r"x must be a torch.Tensor", None),
    Bad("standardize-negative-var", "standardize",
        lambda lib: lib.standardize(X(4, 3), 0.0, -torch.ones(1, 3)),
        ValueError, r"var must be ≥ 0", None),                       # was: silent NaN
    Bad("standardize-mean-wrong-shape", "standardize",
        lambda lib: lib.standardize(X(4, 3), torch.zeros(4), torch.ones(1, 3)),
        ValueError, r"mean of shape \(4,\) does not broadcast", None),
    Bad("standardize-var-string", "standardize", lambda lib: lib.standardize(X(4, 3), 0.0, "1"),
        TypeError, r"var must be a tensor or a number", None),
    Bad("standardize-zero-var-zero-eps", "standardize",
        lambda lib: lib.standardize(X(4, 3), 0.0, torch.zeros(1, 3), eps=0),
        ValueError, r"variance is 0 and eps=0", None),
    # ---- LayerNorm, GroupNorm, InstanceNorm, RMSNorm, weight_norm --------------------------
    Bad("gn-channels-not-divisible-by-groups", "GroupNorm", lambda lib: lib.GroupNorm(4, 6),
        ValueError, r"num_channels must be divisible by num_groups", "raises"),
    Bad("gn-num_groups-zero", "GroupNorm", lambda lib: lib.GroupNorm(0, 6),
        ValueError, r"num_groups must be ≥ 1", "raises"),
    Bad("gn-wrong-channel-count", "GroupNorm", lambda lib: lib.GroupNorm(2, 6)(X(2, 4, 3)),
        ValueError, r"input has 4 channels", "raises"),
    Bad("gn-rank-1-input", "GroupNorm", lambda lib: lib.GroupNorm(2, 6)(X(6)),
        ValueError, r"expected a 2D or higher input", "raises"),
    Bad("ln-shape-mismatch", "LayerNorm", lambda lib: lib.LayerNorm(5)(X(2, 4)),
        ValueError, r"normalized_shape \(5,\) must match the input's last 1 dimensions", "raises"),
    Bad("ln-rank-too-small", "LayerNorm", lambda lib: lib.LayerNorm((3, 4))(X(4)),
        ValueError, r"expected a 2D or higher input", "raises"),
    Bad("ln-normalized_shape-float", "LayerNorm", lambda lib: lib.LayerNorm(2.5),
        TypeError, r"normalized_shape must be an int", "raises"),
    Bad("ln-normalized_shape-empty", "LayerNorm", lambda lib: lib.LayerNorm(()),
        ValueError, r"normalized_shape must name at least one dimension", "runs"),
    Bad("ln-eps-zero", "LayerNorm", lambda lib: lib.LayerNorm(4, eps=0.0)(X(2, 4)),
        ValueError, r"eps must be > 0", "runs"),                  # torch: NaN on a constant row
    Bad("ln-integer-input", "LayerNorm", lambda lib: lib.LayerNorm(4)(torch.ones(2, 4, dtype=torch.long)),
        TypeError, r"floating-point", "raises"),
    Bad("in2d-rank-2-input", "InstanceNorm", lambda lib: lib.InstanceNorm2d(3)(X(2, 3)),
        ValueError, r"expected a 3D or 4D input", "raises"),
    Bad("in1d-one-value-per-instance", "InstanceNorm", lambda lib: lib.InstanceNorm1d(3)(X(4, 3, 1)),
        ValueError, r"more than 1 value per channel.*more than one spatial position", "raises"),
    # torch reads an (N, F) batch as one unbatched (C, L) example: it warns, then standardizes each
    # row over its features; normlib refuses it and says how a 2D input is read
    Bad("in1d-unbatched-wrong-channels", "InstanceNorm",
        lambda lib: lib.InstanceNorm1d(4)(X(6, 4)),
        ValueError, r"input has 6 channels \(dimension 0 of shape \(6, 4\)\), expected 4; a 2D input "
                    r"is read as one example without a batch axis, \(C, L\)", "runs"),
    Bad("in-wrong-channel-count-affine", "InstanceNorm",
        lambda lib: lib.InstanceNorm2d(3, affine=True)(X(2, 4, 3, 3)),
        ValueError, r"input has 4 channels", "raises"),
    Bad("rms-shape-mismatch", "RMSNorm", lambda lib: lib.RMSNorm(5)(X(2, 4)),
        ValueError, r"normalized_shape \(5,\) must match", "raises"),
    Bad("rms-eps-negative", "RMSNorm", lambda lib: lib.RMSNorm(4, eps=-1.0),
        ValueError, r"eps must be a finite number ≥ 0", "runs"),
    Bad("weight_norm-unknown-name", "weight_norm",
        lambda lib: (nl.weight_norm if lib is nl else lib.utils.parametrizations.weight_norm)(
            nn.Linear(3, 2), name="weights"),
        ValueError, r"name must name a tensor parameter", "raises"),
    # ---- make_norm -------------------------------------------------------------------------
    Bad("make_norm-unknown-kind", "make_norm", lambda lib: lib.make_norm("wn", 8),
        ValueError, r"unknown kind 'wn'", None),          # was "gn", a kind since issue 11
    Bad("make_norm-in-without-space", "make_norm", lambda lib: lib.make_norm("in", 8),
        ValueError, r"make_norm\('in'\): spatial_dims must be one of \(1, 2, 3\)", None),
    Bad("make_norm-rms-on-images", "make_norm", lambda lib: lib.make_norm("rms", 8, spatial_dims=2),
        ValueError, r"make_norm\('rms'\): spatial_dims must be one of \(0,\)", None),
    Bad("make_norm-gn-groups-not-dividing", "make_norm",
        lambda lib: lib.make_norm("gn", 6, spatial_dims=2, num_groups=4),
        ValueError, r"num_channels must be divisible by num_groups", None),
    Bad("make_norm-kind-not-string", "make_norm", lambda lib: lib.make_norm(3, 8),
        TypeError, r"kind must be a string", None),
    Bad("make_norm-num_channels-zero", "make_norm", lambda lib: lib.make_norm("bn", 0),
        ValueError, r"num_channels must be a positive int", None),
    Bad("make_norm-spatial_dims-4", "make_norm", lambda lib: lib.make_norm("bn", 8, spatial_dims=4),
        ValueError, r"spatial_dims must be 0, 1, 2 or 3", None),
    Bad("make_norm-spatial_dims-ignored-by-none", "make_norm",
        lambda lib: lib.make_norm("none", 8, spatial_dims=7),
        ValueError, r"spatial_dims must be 0, 1, 2 or 3", None),    # was: accepted silently
    Bad("make_norm-backend", "make_norm", lambda lib: lib.make_norm("bn", 8, backend="jax"),
        ValueError, r"backend must be one of", None),
    Bad("make_norm-option-for-none", "make_norm", lambda lib: lib.make_norm("none", 8, momentum=0.1),
        TypeError, r"takes no options, got \['momentum'\]", None),
    Bad("make_norm-bad-layer-option", "make_norm", lambda lib: lib.make_norm("bn", 8, momentum=2.0),
        ValueError, r"momentum must be in \[0, 1\]", None),
    # ---- setup, tr, pad, claim --------------------------------------------------------------
    Bad("setup-unknown-language", "setup", lambda lib: lib.setup(lang="fr", quiet=True),
        ValueError, r"lang must be one of", None),
    Bad("setup-negative-seed", "setup", lambda lib: lib.setup(seed=-1, quiet=True),
        ValueError, r"seed must be a non-negative int", None),
    Bad("setup-threads-zero", "setup", lambda lib: lib.setup(threads=0, quiet=True),
        ValueError, r"threads must be a positive int", None),
    Bad("setup-unknown-device", "setup", lambda lib: lib.setup(device="tpu", quiet=True),
        ValueError, r"device must be 'cpu', 'cuda'", None),
    Bad("tr-unknown-key", "tr", lambda lib: lib.tr("no_such_string"),
        ValueError, r"key must be one of normlib's strings", None),  # was: KeyError
    Bad("tr-missing-field", "tr", lambda lib: lib.tr("claims_title"),
        TypeError, r"needs the field 'n'", None),                    # was: KeyError('n')
    Bad("pad-unknown-align", "pad", lambda lib: lib.pad("x", 5, align="^"),
        ValueError, r"align must be '<' or '>'", None),
    Bad("pad-width-string", "pad", lambda lib: lib.pad("x", "5"),
        TypeError, r"width must be an int", None),
    Bad("claim-empty-text", "claim", lambda lib: lib.claim("  ", True),
        TypeError, r"claim\(text=\.\.\.\) must be a non-empty string", None),
    Bad("claim-tensor-condition", "claim", lambda lib: lib.claim("x", torch.tensor([True, False])),
        TypeError, r"claim\(condition=\.\.\.\) needs a single truth value", None),
    Bad("claim-none-condition", "claim", lambda lib: lib.claim("x", None),
        TypeError, r"claim\(condition=\.\.\.\) must be a bool", None),
    # ---- data ------------------------------------------------------------------------------
    Bad("digits-n_test-zero", "data.digits", lambda lib: lib.data.digits(n_test=0),
        ValueError, r"n_test must be an int between 1 and 1796", None),
    Bad("digits-negative-seed", "data.digits", lambda lib: lib.data.digits(seed=-1),
        ValueError, r"seed must be a non-negative int", None),
    Bad("digits-integer-dtype", "data.digits", lambda lib: lib.data.digits(dtype=torch.long),
        TypeError, r"dtype must be a floating-point", None),         # was: truncated pixels
    Bad("minibatches-batch_size-zero", "data.minibatches",
        lambda lib: lib.data.minibatches(10, 0, torch.Generator()),
        ValueError, r"batch_size must be an int between 1 and n=10", None),
    Bad("minibatches-batch-larger-than-data", "data.minibatches",
        lambda lib: lib.data.minibatches(10, 11, torch.Generator()),
        ValueError, r"batch_size must be an int between 1 and n=10", None),  # was: endless loop
    Bad("minibatches-generator-not-a-generator", "data.minibatches",
        lambda lib: lib.data.minibatches(10, 2, 0),
        TypeError, r"generator must be a torch.Generator", None),
    Bad("volumes-size-too-small", "data.volumes", lambda lib: lib.data.volumes(1, size=2),
        ValueError, r"size must be an int ≥ 4 or three of them", None),
    Bad("volumes-radius-reversed", "data.volumes",
        lambda lib: lib.data.volumes(1, size=8, radius=(0.3, 0.1)),
        ValueError, r"radius must be a pair \(smallest, largest\)", None),
    # ---- SyncBatchNorm (one process: batch norm) -------------------------------------------
    Bad("syncbn-rank-1d", "SyncBatchNorm", lambda lib: lib.SyncBatchNorm(3)(X(3)),
        ValueError, r"expected a 2D or higher input \(N, C, \*\)", "raises"),
    Bad("syncbn-channel-mismatch", "SyncBatchNorm", lambda lib: lib.SyncBatchNorm(3)(X(2, 4, 5)),
        ValueError, r"input has 4 channels", "raises"),
    # ---- models ----------------------------------------------------------------------------
    Bad("unet3d-size-not-multiple", "models.unet3d",
        lambda lib: lib.models.unet3d(base=2)(X(1, 1, 6, 8, 8)),
        ValueError, r"must be multiples of 2\*\*depth = 4", None),
    Bad("unet3d-unknown-norm", "models.unet3d", lambda lib: lib.models.unet3d(norm="rms"),
        ValueError, r"unet3d: norm must be one of", None),
    Bad("unet3d-channel-mismatch", "models.unet3d",
        lambda lib: lib.models.unet3d(base=2)(X(1, 2, 8, 8, 8)),
        ValueError, r"input has 2 channels, expected in_channels=1", None),
    Bad("mlp-unknown-activation", "models.mlp",
        lambda lib: lib.models.mlp(4, 8, 2, 3, activation="gelu"),
        ValueError, r"activation must be one of", None),
    Bad("mlp-unknown-norm", "models.mlp", lambda lib: lib.models.mlp(4, 8, 2, 3, norm="wn"),
        ValueError, r"mlp: norm must be one of", None),
    Bad("mlp-unknown-init", "models.mlp", lambda lib: lib.models.mlp(4, 8, 2, 3, init="kaiming"),
        ValueError, r"init must be one of", None),
    Bad("mlp-depth-zero", "models.mlp", lambda lib: lib.models.mlp(4, 8, 0, 3),
        ValueError, r"depth must be a positive int", None),
    # ---- train -----------------------------------------------------------------------------
    Bad("learning_rate-step-zero", "train.learning_rate",
        lambda lib: lib.train.learning_rate(0, 100, 0.1),
        ValueError, r"step must be an int from 1 to steps=100", None),   # was: ZeroDivisionError
    Bad("learning_rate-step-past-end", "train.learning_rate",
        lambda lib: lib.train.learning_rate(150, 100, 0.1),
        ValueError, r"step must be an int from 1 to steps=100", None),   # was: a negative rate
    Bad("learning_rate-steps-zero", "train.learning_rate",
        lambda lib: lib.train.learning_rate(1, 0, 0.1),
        ValueError, r"steps must be an int ≥ 1", None),
    Bad("learning_rate-lr-nan", "train.learning_rate",
        lambda lib: lib.train.learning_rate(1, 10, math.nan),
        ValueError, r"lr must be a positive finite number", None),
    Bad("learning_rate-negative-warmup", "train.learning_rate",
        lambda lib: lib.train.learning_rate(1, 10, 0.1, warmup_steps=-1),
        ValueError, r"warmup_steps must be an int ≥ 0", None),
    Bad("train-steps-zero", "train.train_classifier", lambda lib: _train(steps=0),
        ValueError, r"steps must be a positive int", None),
    Bad("train-lr-inf", "train.train_classifier", lambda lib: _train(lr=math.inf),
        ValueError, r"lr must be a positive finite number", None),
    Bad("train-eval_every-zero", "train.train_classifier", lambda lib: _train(eval_every=0),
        ValueError, r"eval_every must be a positive int", None),
    Bad("train-batch-larger-than-data", "train.train_classifier", lambda lib: _train(batch_size=21),
        ValueError, r"batch_size must be an int between 1 and n=20", None),  # was: endless loop
    Bad("train-model-not-a-module", "train.train_classifier", lambda lib: _train(model=lambda x: x),
        TypeError, r"model must be a torch.nn.Module", None),
    Bad("train-data-not-a-split", "train.train_classifier",
        lambda lib: _train(data=(torch.randn(20, 4), torch.zeros(20, dtype=torch.long))),
        TypeError, r"data must be a normlib.data.Split", None),
    Bad("train-float-labels", "train.train_classifier",
        lambda lib: _train(data=_tiny_split(y_dtype=torch.float32)),
        ValueError, r"y must be a 1-D tensor of integer class labels", None),
    Bad("train-callback-not-callable", "train.train_classifier", lambda lib: _train(callback=1),
        TypeError, r"callback must be callable or None", None),
    Bad("evaluate-empty-batch", "train.evaluate",
        lambda lib: _eval(X(0, 4), torch.zeros(0, dtype=torch.long)),
        ValueError, r"X must hold at least one example", None),       # was: (nan, nan)
    Bad("evaluate-labels-length", "train.evaluate",
        lambda lib: _eval(X(5, 4), torch.zeros(4, dtype=torch.long)),
        ValueError, r"y must be a 1-D tensor of integer class labels, one per row of X \(5\)", None),
    Bad("accuracy-model-not-a-module", "train.accuracy",
        lambda lib: lib.train.accuracy("model", X(5, 4), torch.zeros(5, dtype=torch.long)),
        TypeError, r"model must be a torch.nn.Module", None),
    Bad("dice-float-masks", "train.dice",
        lambda lib: lib.train.dice(X(2, 4), torch.zeros(2, 4, dtype=torch.long)),
        TypeError, r"pred must be a bool or integer tensor of 0s and 1s", None),
    Bad("dice-shape-mismatch", "train.dice",
        lambda lib: lib.train.dice(torch.zeros(2, 4, dtype=torch.long),
                                   torch.zeros(2, 5, dtype=torch.long)),
        ValueError, r"pred and target must have the same shape", None),
    # ---- inspect, widgets ------------------------------------------------------------------
    Bad("layer_outputs-kind-absent", "inspect.layer_outputs",
        lambda lib: lib.inspect.layer_outputs(nn.Sequential(nn.ReLU()), X(2, 4)),
        ValueError, r"no submodule of type kind=", None),
    Bad("layer_outputs-kind-string", "inspect.layer_outputs",
        lambda lib: lib.inspect.layer_outputs(nn.Linear(4, 2), X(2, 4), kind="Linear"),
        TypeError, r"kind must be a module class", None),
    Bad("layer_outputs-model-not-a-module", "inspect.layer_outputs",
        lambda lib: lib.inspect.layer_outputs(lambda x: x, X(2, 4)),
        TypeError, r"model must be a torch.nn.Module", None),
    Bad("batch_statistics-batch-larger-than-data", "widgets.batch_statistics",
        lambda lib: lib.widgets.batch_statistics(X(10), 11, 5, torch.Generator()),
        ValueError, r"batch_size must be an int between 1 and 10", None),
    Bad("batch_statistics-n_batches-zero", "widgets.batch_statistics",
        lambda lib: lib.widgets.batch_statistics(X(10), 2, 0, torch.Generator()),
        ValueError, r"n_batches must be a positive int", None),
    Bad("batch_mean_explorer-batch-sizes", "widgets.batch_mean_explorer",
        lambda lib: lib.widgets.batch_mean_explorer(X(10), batch_sizes=(2, 64)),
        ValueError, r"batch_sizes must be ints between 1 and 10", None),
]


@pytest.fixture(autouse=True)
def _restore_global_state():
    """setup() and claim() change normlib's language, seeds and claim list; put them back."""
    lang, checked, threads = nl.i18n.language(), nl.claims.checked(), torch.get_num_threads()
    yield
    nl.i18n.set_language(lang)
    nl.claims.reset()
    nl.claims._checked.extend(checked)
    torch.set_num_threads(threads)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_a_clear_error(case):
    assert case.exc in (ValueError, TypeError)
    with pytest.raises(case.exc, match=case.match) as info:
        result = case.call(nl)
        if hasattr(result, "__next__"):  # a generator must fail at the call, not at next()
            next(result)
    assert type(info.value) is case.exc  # e.g. not a KeyError or a torch-internal subclass


TWINS = [c for c in CASES if c.torch is not None]


@pytest.mark.parametrize("case", TWINS, ids=[c.id for c in TWINS])
def test_torch_twin_of_each_case_does_what_the_table_says(case):
    """Records how torch.nn answers the same call: normlib refuses everything torch refuses, and
    a few things torch runs (then with a silent NaN, an empty batch or a silently cast output)."""
    if case.torch == "raises":
        with pytest.raises(Exception):
            case.call(nn)
    else:
        with warnings.catch_warnings():  # torch may warn as it runs it (InstanceNorm1d on (N, F))
            warnings.simplefilter("ignore", UserWarning)
            case.call(nn)


def test_the_corpus_is_large_and_broad():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 25
    apis = {c.api for c in CASES}
    assert len(apis) >= 6, apis
    for api in ("BatchNorm", "normalize", "make_norm", "setup", "data.minibatches",
                "models.mlp", "train.train_classifier", "train.learning_rate"):
        assert api in apis, api
    kinds = {"rank": "rank", "shape": "channel", "dtype": "integer", "non-tensor": "list",
             "empty": "empty", "constructor": "momentum", "unknown name": "unknown"}
    for what, word in kinds.items():
        assert any(word in c.id for c in CASES), what


# ---- not errors: the same numbers as torch ---------------------------------------------------

LAYERS = [(nl.BatchNorm1d, nn.BatchNorm1d, (6, 3)),
          (nl.BatchNorm1d, nn.BatchNorm1d, (4, 3, 5)),
          (nl.BatchNorm2d, nn.BatchNorm2d, (3, 3, 2, 4)),
          (nl.BatchNorm3d, nn.BatchNorm3d, (2, 3, 2, 3, 2))]
LAYER_IDS = ["1d-2D", "1d-3D", "2d", "3d"]


def _run_twins(ours_cls, torch_cls, x, train=True, **kwargs):
    """Forward and backward through both layers; returns (ours, ref, y_ours, y_ref, dx_ours, dx_ref)."""
    ours, ref = ours_cls(x.shape[1], **kwargs), torch_cls(x.shape[1], **kwargs)
    ours.train(train), ref.train(train)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), ref(xb)
    g = torch.linspace(-1, 1, x.numel()).reshape(x.shape)
    ya.backward(g), yb.backward(g)
    return ours, ref, ya, yb, xa.grad, xb.grad


def _same(a, b):
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("ours_cls,torch_cls,shape", LAYERS, ids=LAYER_IDS)
def test_nan_in_a_training_batch_propagates_as_in_torch(ours_cls, torch_cls, shape):
    x = torch.randn(shape)
    x[1, 0].view(-1)[0] = math.nan  # one NaN in channel 0
    ours, ref, ya, yb, ga, gb = _run_twins(ours_cls, torch_cls, x)
    _same(ya, yb), _same(ga, gb)
    _same(ours.weight.grad, ref.weight.grad), _same(ours.bias.grad, ref.bias.grad)
    _same(ours.running_mean, ref.running_mean), _same(ours.running_var, ref.running_var)
    assert ya[:, 0].isnan().all() and ya[:, 1:].isfinite().all()   # only channel 0 is lost
    assert ga[:, 0].isnan().all() and ga[:, 1:].isfinite().all()
    assert ours.weight.grad[0].isnan() and ours.weight.grad[1:].isfinite().all()
    assert ours.running_mean[0].isnan() and ours.running_var[0].isnan()


@pytest.mark.parametrize("ours_cls,torch_cls,shape", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("sign", [1, -1], ids=["inf", "-inf"])
def test_inf_in_a_training_batch_as_in_torch(ours_cls, torch_cls, shape, sign):
    x = torch.randn(shape)
    x[0, 0].view(-1)[0] = sign * math.inf
    ours, ref, ya, yb, ga, gb = _run_twins(ours_cls, torch_cls, x)
    _same(ya, yb), _same(ga, gb)
    _same(ours.running_var, ref.running_var)
    _same(ours.running_mean, ref.running_mean)
    assert ya[:, 0].isnan().all() and ya[:, 1:].isfinite().all()
    assert ga[:, 0].isnan().all() and ga[:, 1:].isfinite().all()
    assert ours.running_var[0].isnan() and ours.running_mean[0] == sign * math.inf


@pytest.mark.parametrize("ours_cls,torch_cls,shape", LAYERS, ids=LAYER_IDS)
def test_nan_and_inf_in_evaluation_as_in_torch(ours_cls, torch_cls, shape):
    x = torch.randn(shape)
    x[0, 0].view(-1)[0], x[-1, -1].view(-1)[-1] = math.nan, math.inf
    ours, ref, ya, yb, ga, gb = _run_twins(ours_cls, torch_cls, x, train=False)
    _same(ya, yb), _same(ga, gb)
    assert ya.isfinite().sum() == x.numel() - 2  # only the two bad values themselves


@pytest.mark.parametrize("ours_cls,torch_cls,shape", LAYERS, ids=LAYER_IDS)
def test_what_torch_allows_in_evaluation_is_allowed(ours_cls, torch_cls, shape):
    """With running statistics, evaluation needs no batch statistics: torch accepts eps=0, a
    batch of one and an empty batch there, and so does normlib, with the same numbers."""
    one = torch.randn((1,) + shape[1:])
    empty = torch.randn((0,) + shape[1:])
    for x, kw in [(torch.randn(shape), dict(eps=0.0)), (one, {}), (empty, {})]:
        ours, ref, ya, yb, ga, gb = _run_twins(ours_cls, torch_cls, x, train=False, **kw)
        assert ya.shape == yb.shape == x.shape
        _same(ya, yb), _same(ga, gb)


def test_a_single_image_is_a_valid_training_batch_as_in_torch():
    """The one-value rule counts values per channel, not samples: (1, C, H, W) is fine."""
    x = torch.randn(1, 3, 4, 4)
    ours, ref, ya, yb, ga, gb = _run_twins(nl.BatchNorm2d, nn.BatchNorm2d, x)
    _same(ya, yb), _same(ga, gb), _same(ours.running_var, ref.running_var)


def test_normalize_propagates_nan_to_its_slice_as_torch_batch_norm_does():
    x = torch.randn(6, 3)
    x[2, 1] = math.nan
    y = nl.normalize(x, dims=0)
    ref = F.batch_norm(x, None, None, training=True, eps=1e-5)  # torch's twin of dims=0
    _same(y, ref)
    assert y[:, 1].isnan().all() and y[:, [0, 2]].isfinite().all()


def test_normalize_eps_zero_is_exact_where_no_slice_is_constant():
    """eps=0 is refused only where it would divide by zero (the book uses it for exact z-scores)."""
    x = torch.randn(50, 3, dtype=torch.float64) * 3 + 1
    y = nl.normalize(x, dims=0, eps=0.0)
    torch.testing.assert_close(y.var(0, correction=0), torch.ones(3, dtype=torch.float64))
    # a batch of one is constant too, but with the default eps it standardizes to zeros
    assert torch.equal(nl.normalize(torch.randn(1, 3), dims=0), torch.zeros(1, 3))
