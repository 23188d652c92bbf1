"""make_norm builds every kind by name from one table, in both backends, and models.mlp asks the
table (not the kind's spelling) whether a linear layer needs its bias."""

import pytest
import torch
from torch import nn

import normlib as nl
from normlib.factory import NORMS, default_groups, has_shift, make_norm

# (kind, spatial_dims, options, the class name built, what it normalizes over for (N, C, *S))
EXPECTED = [
    ("none", 0, {}, "Identity"),
    ("bn", 0, {}, "BatchNorm1d"), ("bn", 1, {}, "BatchNorm1d"), ("bn", 2, {}, "BatchNorm2d"),
    ("bn", 3, {"momentum": None}, "BatchNorm3d"),
    ("ln", 0, {}, "LayerNorm"), ("ln", 2, {}, "GroupNorm"), ("ln", 3, {"eps": 1e-3}, "GroupNorm"),
    ("in", 1, {}, "InstanceNorm1d"), ("in", 2, {"affine": True}, "InstanceNorm2d"),
    ("in", 3, {}, "InstanceNorm3d"),
    ("gn", 0, {}, "GroupNorm"), ("gn", 2, {"num_groups": 2}, "GroupNorm"),
    ("gn", 1, {"num_groups": 8}, "GroupNorm"),
    ("rms", 0, {}, "RMSNorm"), ("rms", 0, {"eps": 1e-6}, "RMSNorm"),
]


@pytest.mark.parametrize("kind,spatial_dims,options,name", EXPECTED)
def test_every_kind_in_both_backends_gives_the_same_numbers(kind, spatial_dims, options, name):
    ours = make_norm(kind.upper(), 8, spatial_dims, **options)
    ref = make_norm(kind, 8, spatial_dims, backend="torch", **options)
    assert type(ours).__name__ == type(ref).__name__ == name
    assert type(ours).__module__.startswith("normlib") or kind == "none"
    assert type(ref).__module__.startswith("torch")
    assert repr(ours) == repr(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)
    torch.manual_seed(0)
    x = torch.randn((4, 8) + (3,) * spatial_dims, dtype=torch.float64) * 2 + 1
    ours.double(), ref.double()
    for train in (True, False):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours.train(train)(xa), ref.train(train)(xb)
        torch.testing.assert_close(ya, yb, rtol=1e-10, atol=1e-10)
        ya.pow(3).sum().backward(), yb.pow(3).sum().backward()
        torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-10, atol=1e-10)


def test_ln_on_feature_maps_is_layer_norm_over_channels_and_space():
    """The decision for "ln" on (N, C, *spatial): GroupNorm(1, C), i.e. each sample standardized
    over C and space together, with per-channel γ and β (not per-position ones)."""
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    ln = make_norm("ln", 4, spatial_dims=2)
    ref = nn.LayerNorm((4, 5, 6), elementwise_affine=False, dtype=torch.float64)
    torch.testing.assert_close(ln.double()(x), ref(x))
    assert ln.weight.shape == (4,)


def test_default_groups_divide_and_keep_two_channels_per_group():
    for c in range(1, 200):
        g = default_groups(c)
        assert c % g == 0 and g <= 32 and (c // g >= 2 or c == 1)
    assert default_groups(64) == 32 and default_groups(8) == 4
    assert make_norm("gn", 64, 2).num_groups == 32


def test_has_shift_is_the_one_rule():
    assert {k: has_shift(k) for k in NORMS} == {
        "none": False, "bn": True, "ln": True, "in": False, "gn": True, "rms": False}
    assert has_shift("BN") and not has_shift("bn", affine=False) and not has_shift("bn", bias=False)
    assert has_shift("in", affine=True) and not has_shift("ln", elementwise_affine=False)
    with pytest.raises(ValueError, match="unknown kind"):
        has_shift("wn")


@pytest.mark.parametrize("norm", ["none", "NONE", "None", "bn", "BN", "ln", "gn", "rms", "RMS"])
@pytest.mark.parametrize("placement", ["before", "after"])
def test_mlp_bias_follows_the_table_whatever_the_spelling(norm, placement):
    """The bug of issue 11: mlp(norm="NONE") matched the kind without case but the bias rule with
    case, and built hidden layers with neither a bias nor a normalization."""
    model = nl.models.mlp(4, 8, 2, 3, norm=norm, placement=placement)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    norms = [m for m in model if not isinstance(m, (nn.Linear, nn.ReLU))]
    expect_bias = placement == "after" or not has_shift(norm)
    assert all((m.bias is not None) == expect_bias for m in linears[:-1])
    assert linears[-1].bias is not None
    assert len(norms) == (0 if norm.lower() == "none" else 2)
    assert not any(isinstance(m, nn.Identity) for m in model)
    for linear in linears[:-1]:  # every hidden layer has a bias, a normalization, or both
        assert linear.bias is not None or norms


def test_mlp_none_matches_lowercase_none_exactly():
    torch.manual_seed(0)
    a = nl.models.mlp(4, 8, 2, 3, norm="NONE")
    torch.manual_seed(0)
    b = nl.models.mlp(4, 8, 2, 3, norm="none")
    assert repr(a) == repr(b)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
