"""models.unet3d: the sizes it takes (and the clear error for the others), every norm kind, the
factory's bias rule, equal numbers from both backends, and a few training steps that lower the
loss on generated volumes."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import normlib as nl
from normlib.factory import has_shift
from normlib.models import VOLUME_NORMS, UNet3d, unet3d

SMALL = dict(base=4, depth=2)


def _convs(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv3d) and m.kernel_size == (3, 3, 3)]


@pytest.mark.parametrize("shape", [(1, 1, 8, 8, 8), (2, 1, 12, 8, 16), (1, 1, 20, 4, 8),
                                   (3, 1, 4, 4, 12)])
def test_output_has_one_logit_per_class_and_voxel(shape):
    """Any multiple of 2**depth (4 here) in each axis: even or odd multiples, cubes or not."""
    model = unet3d(norm="gn", out_channels=3, **SMALL)
    x = torch.randn(shape)
    assert model(x).shape == (shape[0], 3) + shape[2:]


@pytest.mark.parametrize("depth,shape", [(1, (1, 1, 6, 10, 2)), (3, (1, 1, 8, 8, 8)),
                                         (3, (1, 1, 16, 8, 24))])
def test_other_depths_take_multiples_of_their_own_step(depth, shape):
    model = unet3d(base=2, depth=depth, out_channels=1)
    assert model(torch.randn(shape)).shape == (1, 1) + shape[2:]


@pytest.mark.parametrize("shape", [(1, 1, 6, 8, 8), (1, 1, 8, 8, 9), (1, 1, 15, 16, 16),
                                   (1, 1, 0, 8, 8)])
def test_sizes_that_are_not_multiples_of_2_to_the_depth_are_refused(shape):
    with pytest.raises(ValueError, match=r"multiples of 2\*\*depth = 4 .* halves them 2 times"):
        unet3d(**SMALL)(torch.randn(shape))


@pytest.mark.parametrize("x,exc,match", [
    (torch.randn(1, 8, 8, 8), ValueError, r"expected a 5D input \(N, C, D, H, W\)"),
    (torch.randn(1, 2, 8, 8, 8), ValueError, r"input has 2 channels, expected in_channels=1"),
    (torch.zeros(1, 1, 8, 8, 8, dtype=torch.long), TypeError, "floating-point tensor"),
    ([[1.0]], TypeError, "floating-point tensor, got list"),
])
def test_bad_inputs_are_refused_clearly(x, exc, match):
    with pytest.raises(exc, match=match):
        unet3d(**SMALL)(x)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(norm="rms"), ValueError, r"norm must be one of \('none', 'bn', 'ln', 'in', 'gn'\)"),
    (dict(norm="wn"), ValueError, "norm must be one of"),
    (dict(norm=None), ValueError, "norm must be one of"),
    (dict(base=0), ValueError, "base must be ≥ 1"),
    (dict(depth=1.5), TypeError, "depth must be an int"),
    (dict(in_channels=True), TypeError, "in_channels must be an int"),
    (dict(backend="jax"), ValueError, "backend must be one of"),
    (dict(norm="bn", num_groups=2), ValueError, "num_groups is for norm='gn' only"),
    (dict(norm="gn", num_groups=3), ValueError, "num_channels must be divisible by num_groups"),
    (dict(norm="bn", norm_options=[("momentum", None)]), TypeError, "norm_options must be a dict"),
])
def test_bad_arguments_are_refused_clearly(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        unet3d(**{**SMALL, **kwargs})


@pytest.mark.parametrize("norm", VOLUME_NORMS)
def test_every_volume_norm_builds_with_the_factory_bias_rule(norm):
    model = unet3d(norm=norm.upper(), **SMALL)
    norms = [m for m in model.modules() if type(m).__module__.startswith("normlib.layers")]
    convs = _convs(model)
    assert len(convs) == 2 * (2 * SMALL["depth"] + 1)
    assert len(norms) == (0 if norm == "none" else len(convs))
    options = {"affine": True} if norm == "in" else {}
    for conv in convs:   # a conv directly before a norm with its own shift β has no bias
        assert (conv.bias is None) == has_shift(norm, **options)
    expected = {"bn": "BatchNorm3d", "in": "InstanceNorm3d", "gn": "GroupNorm", "ln": "GroupNorm"}
    assert {type(m).__name__ for m in norms} == ({expected[norm]} if norm != "none" else set())
    if norm == "ln":
        assert all(m.num_groups == 1 for m in norms)
    if norm == "in":
        assert all(m.affine for m in norms)
    model(torch.randn(1, 1, 8, 8, 8)).sum().backward()   # batch size 1 trains with each kind


def test_num_groups_and_norm_options_reach_every_norm_layer():
    gn = unet3d(norm="gn", num_groups=2, **SMALL)
    assert {m.num_groups for m in gn.modules() if isinstance(m, nl.GroupNorm)} == {2}
    bn = unet3d(norm="bn", norm_options={"momentum": None}, **SMALL)
    assert {m.momentum for m in bn.modules() if isinstance(m, nl.BatchNorm3d)} == {None}
    plain_in = unet3d(norm="in", norm_options={"affine": False}, **SMALL)
    assert all(conv.bias is not None for conv in _convs(plain_in))   # IN without β: conv biases


@pytest.mark.parametrize("norm", VOLUME_NORMS)
def test_both_backends_give_the_same_numbers(norm):
    torch.manual_seed(0)
    ours = unet3d(norm=norm, **SMALL).double()
    ref = unet3d(norm=norm, backend="torch", **SMALL).double()
    assert not any(type(m).__module__ == "normlib.layers" for m in ref.modules())
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 1, 8, 12, 8, dtype=torch.float64)
    for train in (True, True, False):   # two training steps move the running statistics
        ya, yb = ours.train(train)(x), ref.train(train)(x)
        torch.testing.assert_close(ya, yb, rtol=1e-10, atol=1e-10)
        ya.square().sum().backward()
        yb.square().sum().backward()
        for (name, pa), (_, pb) in zip(ours.named_parameters(), ref.named_parameters()):
            torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-9, atol=1e-9, msg=name)
        ours.zero_grad(), ref.zero_grad()
    for (name, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=name)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("norm", VOLUME_NORMS)
def test_it_learns_generated_volumes_at_batch_size_1(norm, seed):
    """Twenty Adam steps, one volume at a time, lower the loss on two small volumes by a quarter
    or more (measured: by 35-58%, depending on the norm and the seed)."""
    x, masks = nl.data.volumes(2, size=12, seed=0)
    torch.manual_seed(seed)
    model = unet3d(norm=norm, backend="torch", **SMALL)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(20):
        i = step % 2
        loss = F.cross_entropy(model(x[i:i + 1]), masks[i:i + 1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-4:]) < 0.75 * sum(losses[:4]), losses


def test_it_is_built_on_the_cpu_and_moved_to_the_device():
    model = unet3d(**SMALL, device="cpu")
    assert isinstance(model, UNet3d)
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    assert sum(p.numel() for p in unet3d(norm="none").parameters()) == 85026


@pytest.mark.parametrize("norm,layer", [("bn", "BatchNorm3d"), ("in", "InstanceNorm3d")])
def test_a_bottom_level_of_one_voxel_is_refused_by_bn_and_in_at_batch_size_1(norm, layer):
    """4×4×4 is a multiple of 2**2, but the bottom level is then 1×1×1: one value per channel."""
    model = unet3d(norm=norm, **SMALL)
    with pytest.raises(ValueError, match=f"{layer}: expected more than 1 value per channel"):
        model(torch.randn(1, 1, 4, 4, 4))
    assert model(torch.randn(2, 1, 4, 4, 4) if norm == "bn" else torch.randn(1, 1, 8, 4, 4)) \
        .shape[2:] == ((4, 4, 4) if norm == "bn" else (8, 4, 4))
    if norm == "bn":   # in evaluation, BN uses its running statistics (IN still its own)
        model.eval()(torch.randn(1, 1, 4, 4, 4))


def _explained(error):
    nl.i18n.set_language("ko")
    try:
        return nl.i18n.explain(error)
    finally:
        nl.i18n.set_language("en")


@pytest.mark.parametrize("x,norm,korean", [
    (torch.randn(1, 1, 6, 8, 8), "none",
     "UNet3d: 입력의 깊이·높이·너비는 모두 2**depth = 4의 배수여야 합니다(네트워크가 크기를 2번 반으로 "
     "줄입니다). 받은 입력의 모양은 (1, 1, 6, 8, 8)입니다"),
    (torch.randn(1, 3, 8, 8, 8), "none", "UNet3d: 입력의 채널이 3개입니다. in_channels=1에 맞춰 1개여야 합니다"),
    (torch.randn(1, 1, 4, 4, 4), "in",
     "InstanceNorm3d: 인스턴스 통계량을 구하려면 채널마다 값이 2개 이상 있어야 하는데, 입력의 모양이 "
     "(1, 16, 1, 1, 1)입니다. 위치가 하나뿐인 채널에는 분산이 없습니다"),
    (torch.randn(1, 1, 4, 4, 4), "bn", "BatchNorm3d: 배치 통계량을 구하려면 채널마다 값이 2개 이상"),
])
def test_the_errors_a_reader_meets_read_in_korean(x, norm, korean):
    with pytest.raises(ValueError) as info:
        unet3d(norm=norm, **SMALL)(x)
    assert _explained(info.value).startswith(korean)
    assert nl.i18n.explain(info.value) == str(info.value)   # English: the message itself


def test_at_batch_size_1_batch_norm_trains_exactly_as_instance_norm():
    """One volume per batch: BN's statistics over (N, D, H, W) are IN's over (D, H, W), so the
    two U-Nets compute the same training outputs and gradients; they differ only in evaluation,
    where BN uses its running averages over the volumes it has seen."""
    torch.manual_seed(0)
    bn = unet3d(norm="bn", **SMALL).double()
    torch.manual_seed(0)
    inorm = unet3d(norm="in", **SMALL).double()
    x = torch.randn(1, 1, 8, 8, 12, dtype=torch.float64) * 3 + 2
    ya, yb = bn.train()(x), inorm.train()(x)
    torch.testing.assert_close(ya, yb, rtol=1e-12, atol=1e-12)
    ya.square().sum().backward()
    yb.square().sum().backward()
    for (name, pa), (_, pb) in zip(bn.named_parameters(), inorm.named_parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-10, atol=1e-10, msg=name)
    assert (bn.eval()(x) - inorm.eval()(x)).abs().max() > 0.1
