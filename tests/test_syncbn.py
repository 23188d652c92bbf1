"""SyncBatchNorm with two real processes (gloo, on this machine), against batch norm over the
whole batch; and with one process, against BatchNorm and torch.nn.SyncBatchNorm.

The two-process run starts once for the module (a few seconds: two fresh interpreters import
torch) and runs every case in it: each process takes its shard of every batch, and the test
compares what the processes returned with normlib's and torch's BatchNorm on the whole batch,
in float64 to 1e-10.
"""

import os

import pytest
import torch
import torch.distributed as dist
from torch import nn

import normlib as nl
from normlib import distributed
from normlib import functional as F

TOL = dict(rtol=1e-10, atol=1e-10)
BN = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
NL_BN = {2: nl.BatchNorm1d, 3: nl.BatchNorm1d, 4: nl.BatchNorm2d, 5: nl.BatchNorm3d}


def _case(shape, steps=3, sizes=None, seed=0, **options):
    """Whole batches that move between steps, upstream gradients, and a BN state to start from
    (non-trivial γ and β)."""
    g = torch.Generator().manual_seed(seed)
    batches = [torch.randn(shape, generator=g, dtype=torch.float64) * (1 + i) + 2 * i - 1
               for i in range(steps)]
    grads = [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(steps)]
    ref = BN[len(shape)](shape[1], dtype=torch.float64, **options)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) * 1.5 + 0.5)
    return dict(batches=batches, grads=grads, state=ref.state_dict(), sizes=sizes, **options)


CASES = {
    "images, halves": _case((6, 3, 4, 5)),
    "vectors, shards of 1 and 4, momentum=None": _case((5, 4), sizes=[1, 4], momentum=None),
    "volumes, one per process": _case((2, 2, 3, 4, 4), seed=1),
    "sequences, no affine map": _case((4, 3, 7), seed=2, affine=False),
    "an empty shard": _case((4, 3, 2), steps=2, sizes=[0, 4], seed=3),
}
REFUSED = _case((1, 3), steps=1, sizes=[1, 0], seed=4)   # one value per channel in all


ALONE = ["images, halves", "volumes, one per process", "sequences, no affine map"]


def _every_case(rank, world_size, cases, refused):
    """Runs in each of the two processes: every case synchronized, some of them also on the
    shard alone (plain batch norm), then a batch that both processes must refuse alike."""
    out = {name: [distributed.batch_norm_shards(rank, world_size, **case)]
           for name, case in cases.items()}
    for name in ALONE:
        out[name].append(distributed.batch_norm_shards(rank, world_size, **cases[name], sync=False))
    layer = nl.SyncBatchNorm(3, dtype=torch.float64)
    try:
        layer(distributed.shard(refused["batches"][0], rank, world_size, refused["sizes"]))
        out["refused"] = None
    except ValueError as error:
        out["refused"] = (str(error), layer.num_batches_tracked.item())
    return out


@pytest.fixture(scope="module")
def two_processes():
    return distributed.run(_every_case, CASES, REFUSED, world_size=2, timeout=120)


def _whole_batch(case, cls):
    """Batch norm over each whole batch: outputs, input/parameter gradients, final state."""
    layer = cls(case["batches"][0].shape[1], dtype=torch.float64,
                **{k: case[k] for k in ("momentum", "affine") if k in case})
    layer.load_state_dict(case["state"])
    out = {"outputs": [], "input_grads": [], "weight_grads": [], "bias_grads": []}
    for x, g in zip(case["batches"], case["grads"]):
        x = x.clone().requires_grad_()
        y = layer(x)
        y.backward(g)
        out["outputs"].append(y.detach())
        out["input_grads"].append(x.grad)
        for name in ("weight", "bias"):
            p = getattr(layer, name)
            out[f"{name}_grads"].append(None if p is None else p.grad.clone())
            if p is not None:
                p.grad = None
    out["state"] = layer.state_dict()
    return out


@pytest.mark.parametrize("backend", ["normlib", "torch"])
@pytest.mark.parametrize("name", list(CASES))
def test_two_processes_compute_batch_norm_of_the_whole_batch(two_processes, name, backend):
    case = CASES[name]
    ranks = [result[name][0] for result in two_processes]
    ref = _whole_batch(case, (NL_BN if backend == "normlib" else BN)[case["batches"][0].dim()])
    for step in range(len(case["batches"])):
        # outputs and input gradients: the shards, put back together, are the whole batch's
        for what in ("outputs", "input_grads"):
            whole = torch.cat([r[what][step] for r in ranks])
            torch.testing.assert_close(whole, ref[what][step], **TOL, msg=f"{what}, step {step}")
        # γ and β: each process has the gradient of its own shard's loss; their sum is the
        # gradient of the whole batch's loss (DDP averages them instead: the gradient of the mean
        # of the processes' losses, i.e. this divided by the number of processes)
        for what in ("weight_grads", "bias_grads"):
            if ref[what][step] is None:
                assert all(r[what][step] is None for r in ranks)
                continue
            total = sum(r[what][step] for r in ranks)
            torch.testing.assert_close(total, ref[what][step], **TOL, msg=f"{what}, step {step}")
    # running statistics: the whole batch's, in every process
    for r in ranks:
        assert list(r["state"]) == list(ref["state"])
        for key, value in ref["state"].items():
            torch.testing.assert_close(r["state"][key], value, **TOL, msg=key)


@pytest.mark.parametrize("name", ALONE)
def test_batch_norm_in_each_process_alone_is_not_the_same(two_processes, name):
    """The negative control: plain batch norm on each shard normalizes with the shard's own
    statistics, so its outputs, input gradients and running statistics differ."""
    case = CASES[name]
    alone = [result[name][1] for result in two_processes]
    ref = _whole_batch(case, NL_BN[case["batches"][0].dim()])
    for what in ("outputs", "input_grads"):
        whole = torch.cat([r[what][0] for r in alone])
        assert (whole - ref[what][0]).abs().max() > 0.05, what
    assert (alone[0]["state"]["running_var"] - ref["state"]["running_var"]).abs().max() > 0.01
    means = [r["state"]["running_mean"] for r in alone]
    assert (means[0] - means[1]).abs().max() > 0.01


def test_a_shard_of_one_vector_is_refused_alone_but_not_synchronized():
    """The second case gives one process a single vector: synchronized, that is fine (above);
    alone, batch norm has no variance to compute."""
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nl.BatchNorm1d(4)(torch.randn(1, 4))


def test_too_few_values_over_all_processes_are_refused_by_every_process(two_processes):
    """One value per channel in all (a single vector in one process, nothing in the other): every
    process raises the same ValueError, so none is left waiting, and none counts the batch."""
    for result in two_processes:
        message, tracked = result["refused"]
        assert "more than 1 value per channel over all processes" in message
        assert tracked == 0


# ---- one process ---------------------------------------------------------------------------------

def _same_as_batch_norm(shape, **options):
    torch.manual_seed(0)
    sync = nl.SyncBatchNorm(shape[1], **options)
    bn = NL_BN[len(shape)](shape[1], **options)
    with torch.no_grad():
        for p in sync.parameters():
            p.uniform_(0.5, 2)
    bn.load_state_dict(sync.state_dict())
    for train in (True, True, False):
        x = torch.randn(shape) * 3 + 1
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = sync.train(train)(xa), bn.train(train)(xb)
        g = torch.randn_like(ya)
        ya.backward(g), yb.backward(g)
        assert torch.equal(ya, yb) and torch.equal(xa.grad, xb.grad)
        for pa, pb in zip(sync.parameters(), bn.parameters()):
            assert torch.equal(pa.grad, pb.grad)
    for key, value in bn.state_dict().items():
        assert torch.equal(sync.state_dict()[key], value), key


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4), (1, 3, 2, 3, 4)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_without_torch_distributed_it_is_batch_norm_bit_for_bit(shape, momentum):
    assert not dist.is_initialized()
    _same_as_batch_norm(shape, momentum=momentum)


def test_in_a_group_of_one_process_it_is_batch_norm_bit_for_bit():
    """torch.distributed initialized with world size 1: SyncBatchNorm still has nothing to
    synchronize.  torch's own refuses CPU input there (it wants a GPU whenever torch.distributed
    is initialized); normlib's runs on the CPU."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{distributed._free_port()}",
                            rank=0, world_size=1)
    try:
        assert distributed.world_size() == 1
        _same_as_batch_norm((2, 3, 4, 4))
        with pytest.raises(ValueError, match="GPU"):
            nn.SyncBatchNorm(3)(torch.randn(2, 3, 4, 4))
    finally:
        dist.destroy_process_group()


def test_sync_batch_norm_with_one_shard_is_batch_norm_bit_for_bit():
    """The functional form, with a sum over one process (the identity): batch_norm in training."""
    x = torch.randn(4, 3, 5, 5)
    w, b = torch.rand(3) + 0.5, torch.randn(3)
    stats = [torch.zeros(3), torch.ones(3)], [torch.zeros(3), torch.ones(3)]
    y = F.sync_batch_norm(x, *stats[0], w, b, 0.1, 1e-5, lambda t: t)
    ref = F.batch_norm(x, *stats[1], w, b, True, 0.1, 1e-5)
    assert torch.equal(y, ref)
    assert torch.equal(stats[0][0], stats[1][0]) and torch.equal(stats[0][1], stats[1][1])


def test_sync_batch_norm_keeps_float32_digits_when_the_mean_is_large():
    """Why two passes (Σx, then Σ(x − μ)²) rather than Σx and Σx² in one exchange: with |μ| ≫ σ,
    Σx²/n − μ² subtracts two nearly equal large numbers, and float32 loses the variance."""
    torch.manual_seed(0)
    x = torch.randn(64, 2, 8) + 1000.0
    exact = x.double().var(dim=(0, 2), unbiased=False)
    n = x.numel() // x.shape[1]
    running_mean, running_var = torch.zeros(2), torch.ones(2)
    F.sync_batch_norm(x, running_mean, running_var, None, None, 1.0, 1e-5, lambda t: t)
    two_pass = running_var.double() * (n - 1) / n          # momentum 1: the batch's variance
    one_pass = (x * x).sum((0, 2)) / n - (x.sum((0, 2)) / n) ** 2
    assert ((two_pass - exact) / exact).abs().max() < 1e-4
    assert ((one_pass.double() - exact) / exact).abs().max() > 1e-2


def test_state_dict_repr_and_defaults_are_torchs():
    for kwargs in ({}, {"affine": False}, {"track_running_stats": False}, {"momentum": None},
                   {"bias": False}):
        ours, ref = nl.SyncBatchNorm(4, **kwargs), nn.SyncBatchNorm(4, **kwargs)
        assert repr(ours) == repr(ref)
        assert list(ours.state_dict()) == list(ref.state_dict())
        ours.load_state_dict(ref.state_dict(), strict=True)
    assert nl.SyncBatchNorm(4).process_group is None


def test_input_checks_as_batch_norm():
    with pytest.raises(ValueError, match=r"expected a 2D or higher input \(N, C, \*\)"):
        nl.SyncBatchNorm(3)(torch.randn(3))
    with pytest.raises(ValueError, match="input has 4 channels"):
        nl.SyncBatchNorm(3)(torch.randn(2, 4, 5))
    with pytest.raises(TypeError, match="num_features must be an int"):
        nl.SyncBatchNorm(2.5)


def test_convert_sync_batchnorm_replaces_every_batch_norm_sharing_its_tensors():
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nl.BatchNorm2d(4), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4, momentum=None)))
    model[1].running_mean.fill_(0.5)
    model.eval()
    x = torch.randn(2, 2, 6, 6)
    before, state = model(x), model.state_dict()
    weight = model[1].weight
    converted = nl.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model
    assert isinstance(model[1], nl.SyncBatchNorm) and isinstance(model[3][1], nl.SyncBatchNorm)
    assert model[1].weight is weight and model[3][1].momentum is None and not model[1].training
    assert list(model.state_dict()) == list(state)
    assert torch.equal(model(x), before)
    assert isinstance(nl.SyncBatchNorm.convert_sync_batchnorm(nl.BatchNorm1d(3)), nl.SyncBatchNorm)


def test_run_reports_a_failing_process():
    with pytest.raises(RuntimeError, match="(?s)process 0 of 1 failed.*ArithmeticError: delib"):
        distributed.run(_fail, world_size=1, timeout=60)


def test_run_reports_a_process_that_dies_without_a_word():
    with pytest.raises(RuntimeError, match="process 0 exited with code 3"):
        distributed.run(_die, world_size=1, timeout=60)


def _fail(rank, world_size):
    raise ArithmeticError("deliberately")


def _die(rank, world_size):
    os._exit(3)


def test_too_few_values_read_in_korean():
    with pytest.raises(ValueError) as info:
        F.sync_batch_norm(torch.randn(1, 3), None, None, None, None, 0.1, 1e-5, lambda t: t)
    nl.i18n.set_language("ko")
    try:
        assert nl.i18n.explain(info.value) == (
            "sync_batch_norm: 배치 통계량을 구하려면 모든 프로세스를 합쳐 채널마다 값이 2개 이상 있어야 "
            "하는데, 1개뿐입니다(이 프로세스의 입력 모양은 (1, 3)입니다)")
    finally:
        nl.i18n.set_language("en")


def test_torchs_sync_batch_norm_refuses_cpu_tensors_in_two_processes():
    """What chapter 11 shows: torch's own nn.SyncBatchNorm will not train on CPU tensors."""
    x = torch.randn(4, 3, 2, 2)
    state = nn.BatchNorm2d(3).state_dict()
    with pytest.raises(RuntimeError, match="expected input tensor to be on GPU"):
        distributed.run(distributed.batch_norm_shards, [x], [torch.ones_like(x)], state, True, None,
                        "torch", world_size=2, timeout=60)


def test_batch_norm_shards_names_its_layer_argument():
    with pytest.raises(ValueError, match="layer must be 'normlib' or 'torch'"):
        distributed.batch_norm_shards(0, 1, [torch.randn(2, 3)], [torch.randn(2, 3)], {}, layer="jax")
