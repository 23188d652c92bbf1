"""Each of normlib's layers next to its ``torch.nn`` twin: one table for the tests and the benchmark.

A ``Twin`` says how to build both layers (the same constructor arguments for both), which small
cases the equality tests run (every combination of ``options`` on every case, in float32 and
float64) and which input the benchmark (``benchmarks/layers.py``) times.  Adding a layer to
normlib means adding a row here: the tests and the benchmark pick it up.
"""

from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from . import layers


@dataclass(frozen=True)
class Twin:
    name: str             # the row's label, e.g. "GroupNorm"
    ours: Callable        # normlib's class (or a function building the module)
    theirs: Callable      # torch's, called with the same arguments
    cases: tuple          # ((constructor args, input shape), ...) for the tests: small
    options: dict = field(default_factory=dict)   # keyword -> values, all combinations tested
    bench: tuple = ()     # (constructor args, input shape) at a representative size


def _weight_normed(apply):
    """A linear layer with weight normalization, built like a layer: ``(in, out, dim=0)``."""
    def build(in_features, out_features, dim=0, dtype=None):
        return apply(nn.Linear(in_features, out_features, dtype=dtype), "weight", dim)
    build.__name__ = apply.__module__.split(".")[0] + "_weight_norm"
    return build


_RUNNING = {"affine": [True, False], "bias": [True, False], "track_running_stats": [True, False],
            "momentum": [0.1, None]}

TWINS = [
    Twin("BatchNorm1d (N, C)", layers.BatchNorm1d, nn.BatchNorm1d,
         cases=(((4,), (6, 4)),), options=_RUNNING, bench=((512,), (256, 512))),
    Twin("BatchNorm1d (N, C, L)", layers.BatchNorm1d, nn.BatchNorm1d,
         cases=(((4,), (5, 4, 7)),), options=_RUNNING, bench=((64,), (32, 64, 256))),
    Twin("BatchNorm2d", layers.BatchNorm2d, nn.BatchNorm2d,
         cases=(((4,), (3, 4, 5, 6)),), options=_RUNNING, bench=((64,), (32, 64, 32, 32))),
    Twin("BatchNorm3d", layers.BatchNorm3d, nn.BatchNorm3d,
         cases=(((4,), (2, 4, 3, 5, 4)),), options=_RUNNING, bench=((32,), (4, 32, 16, 32, 32))),
    # In one process (torch.distributed not initialized) SyncBatchNorm is batch norm, in both
    # libraries; tests/test_syncbn.py runs normlib's in two processes (torch's needs GPUs there)
    Twin("SyncBatchNorm (one process)", layers.SyncBatchNorm, nn.SyncBatchNorm,
         cases=(((4,), (3, 4, 5, 6)), ((4,), (6, 4))), options=_RUNNING,
         bench=((32,), (4, 32, 16, 32, 32))),
    Twin("InstanceNorm1d", layers.InstanceNorm1d, nn.InstanceNorm1d,
         cases=(((4,), (3, 4, 7)), ((4,), (4, 7))), options=_RUNNING,
         bench=((64,), (32, 64, 256))),
    Twin("InstanceNorm2d", layers.InstanceNorm2d, nn.InstanceNorm2d,
         cases=(((4,), (3, 4, 5, 6)),), options=_RUNNING, bench=((64,), (32, 64, 32, 32))),
    Twin("InstanceNorm3d", layers.InstanceNorm3d, nn.InstanceNorm3d,
         cases=(((4,), (2, 4, 3, 5, 4)),), options=_RUNNING, bench=((32,), (4, 32, 16, 32, 32))),
    Twin("LayerNorm", layers.LayerNorm, nn.LayerNorm,
         cases=(((6,), (3, 6)), ((6,), (2, 5, 6)), (((5, 6),), (3, 4, 5, 6)), ((4,), (4,))),
         options={"eps": [1e-5, 1e-3], "elementwise_affine": [True, False], "bias": [True, False]},
         bench=((256,), (64, 128, 256))),
    Twin("GroupNorm", layers.GroupNorm, nn.GroupNorm,
         cases=(((2, 4), (3, 4, 5)), ((1, 4), (3, 4, 5, 6)), ((4, 4), (2, 4, 3, 2)),
                ((2, 8), (5, 8))),
         options={"eps": [1e-5, 1e-3], "affine": [True, False], "bias": [True, False]},
         bench=((32, 64), (32, 64, 32, 32))),
    Twin("RMSNorm", layers.RMSNorm, nn.RMSNorm,
         cases=(((6,), (3, 6)), (((5, 6),), (2, 5, 6)), ((6,), (1, 6))),
         options={"eps": [None, 1e-3], "elementwise_affine": [True, False]},
         bench=((256,), (64, 128, 256))),
    Twin("weight_norm(Linear)", _weight_normed(layers.weight_norm),
         _weight_normed(nn.utils.parametrizations.weight_norm),
         cases=(((5, 3), (4, 5)), ((5, 3), (1, 5))), options={"dim": [0, 1, None]},
         bench=((512, 512), (256, 512))),
]
