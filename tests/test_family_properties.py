"""Property tests (hypothesis, derandomized as in test_properties.py) of what each method is:

* LN, IN and GN outputs do not change when each sample is shifted and scaled (by a positive
  number); BN's do not change when each channel is;
* RMSNorm ignores a positive scale but not a shift (it does not centre);
* GN with one group is LN over (C, H, W); GN with one channel per group is IN;
* weight norm's w = g · v / ‖v‖ has length ‖w‖ = |g|;
* LN, GN and RMSNorm use no batch statistics: train and eval agree at any batch size, even 1.

The inputs are float64 normal samples from a drawn seed (never a constant slice), and eps is tiny
(1e-12) so that it does not blur the invariances.
"""

import os

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import normlib as nl
from normlib import functional as F

settings.register_profile("normlib", derandomize=True, deadline=None, max_examples=50,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("normlib-thorough", settings.get_profile("normlib"), max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "normlib"))

EPS = 1e-12
TOL = dict(rtol=1e-7, atol=1e-7)


@st.composite
def feature_maps(draw, min_channels=1, max_side=5):
    """(N, C, *spatial) with 0 to 2 spatial axes, and a seeded float64 normal sample of it."""
    n = draw(st.integers(1, 4), label="N")
    c = draw(st.integers(min_channels, 6), label="C")
    space = tuple(draw(st.lists(st.integers(2, max_side), min_size=0, max_size=2), label="spatial"))
    seed = draw(st.integers(0, 2**31 - 1), label="seed")
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n, c) + space, generator=g, dtype=torch.float64) * 3 + 1


def _random_affine(layer, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return layer


def _per_axis(x, axis, draw, low=0.25, high=4.0):
    """Per-``axis`` positive scales and shifts, broadcastable against x."""
    k = x.shape[axis]
    shape = [1] * x.dim()
    shape[axis] = k
    a = draw(st.lists(st.floats(low, high), min_size=k, max_size=k), label="scales")
    b = draw(st.lists(st.floats(-5, 5), min_size=k, max_size=k), label="shifts")
    return (torch.tensor(a, dtype=x.dtype).reshape(shape), torch.tensor(b, dtype=x.dtype).reshape(shape))


def _sample_layers(x, draw):
    """LN over (C, *spatial), IN (if there is space) and GN with a drawn divisor of C."""
    c = x.shape[1]
    out = {"LayerNorm": nl.LayerNorm(tuple(x.shape[1:]), eps=EPS, dtype=x.dtype)}
    if x.dim() > 2:
        cls = {3: nl.InstanceNorm1d, 4: nl.InstanceNorm2d}[x.dim()]
        out["InstanceNorm"] = cls(c, eps=EPS, affine=True, dtype=x.dtype)
    groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0 and
                                   x[0, : c // g].numel() >= 2]), label="num_groups")
    out["GroupNorm"] = nl.GroupNorm(groups, c, eps=EPS, dtype=x.dtype)
    return out


@given(data=st.data())
def test_ln_in_gn_ignore_a_per_sample_shift_and_positive_scale(data):
    x = data.draw(feature_maps(min_channels=2), label="x")
    a, b = _per_axis(x, 0, data.draw)
    for name, layer in _sample_layers(x, data.draw).items():
        _random_affine(layer, 0)
        torch.testing.assert_close(layer(a * x + b), layer(x), **TOL, msg=name)


@given(data=st.data())
def test_bn_ignores_a_per_channel_shift_and_positive_scale(data):
    x = data.draw(feature_maps(), label="x")
    if x.numel() // x.shape[1] < 2:
        x = torch.cat([x, x.flip(0) * 0.5 + 0.3])
    cls = {2: nl.BatchNorm1d, 3: nl.BatchNorm1d, 4: nl.BatchNorm2d}[x.dim()]
    layer = _random_affine(cls(x.shape[1], eps=EPS, dtype=x.dtype), 1)
    a, b = _per_axis(x, 1, data.draw)
    torch.testing.assert_close(layer(a * x + b), layer(x), **TOL)


@given(data=st.data())
def test_rms_norm_ignores_a_positive_scale_but_not_a_shift(data):
    x = data.draw(feature_maps(min_channels=2), label="x")
    layer = _random_affine(nl.RMSNorm(tuple(x.shape[1:]), eps=EPS, dtype=x.dtype), 2)
    a, b = _per_axis(x, 0, data.draw, low=0.25, high=4.0)
    torch.testing.assert_close(layer(a * x), layer(x), **TOL)
    shift = data.draw(st.floats(1.0, 5.0) | st.floats(-5.0, -1.0), label="shift")
    assert (layer(x + shift) - layer(x)).abs().max() > 1e-3


@given(data=st.data())
def test_group_norm_spans_layer_norm_and_instance_norm(data):
    x = data.draw(feature_maps(min_channels=1), label="x")
    c = x.shape[1]
    one_group = nl.GroupNorm(1, c, eps=1e-5, affine=False, dtype=x.dtype)
    layer_norm = nl.LayerNorm(tuple(x.shape[1:]), eps=1e-5, elementwise_affine=False, dtype=x.dtype)
    if x[0].numel() >= 2:
        torch.testing.assert_close(one_group(x), layer_norm(x), rtol=1e-12, atol=1e-12)
    if x.dim() > 2:
        per_channel = nl.GroupNorm(c, c, eps=1e-5, affine=False, dtype=x.dtype)
        instance = {3: nl.InstanceNorm1d, 4: nl.InstanceNorm2d}[x.dim()](c, eps=1e-5, dtype=x.dtype)
        torch.testing.assert_close(per_channel(x), instance(x), rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_weight_norm_has_length_g(data):
    x = data.draw(feature_maps(), label="v")
    v = x.flatten(2) if x.dim() > 2 else x
    dim = data.draw(st.sampled_from([0, 1, None]), label="dim")
    dims = [d for d in range(v.dim()) if d != dim]
    shape = [1 if d in dims else s for d, s in enumerate(v.shape)]
    g = torch.randn(shape, dtype=v.dtype, generator=torch.Generator().manual_seed(v.numel()))
    w = F.weight_norm(v, g, dim)
    torch.testing.assert_close(torch.linalg.vector_norm(w, dim=dims, keepdim=True), g.abs(),
                               rtol=1e-12, atol=1e-12)
    module = nl.weight_norm(torch.nn.Linear(v.shape[-1], 3, dtype=v.dtype), dim=dim)
    g = module.parametrizations.weight.original0
    torch.testing.assert_close(torch.linalg.vector_norm(
        module.weight, dim=[d for d in range(2) if d != dim], keepdim=dim is not None), g.abs())


@given(data=st.data())
def test_per_sample_norms_agree_in_train_and_eval_at_any_batch_size(data):
    x = data.draw(feature_maps(min_channels=2), label="x")
    n = data.draw(st.integers(1, x.shape[0]), label="batch size")
    x = x[:n]
    c = x.shape[1]
    groups = data.draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]), label="groups")
    for layer in (nl.LayerNorm(tuple(x.shape[1:]), dtype=x.dtype),
                  nl.GroupNorm(groups, c, dtype=x.dtype),
                  nl.RMSNorm(tuple(x.shape[1:]), dtype=x.dtype)):
        _random_affine(layer, 3)
        torch.testing.assert_close(layer.train()(x), layer.eval()(x), rtol=0, atol=0)
        one = x[:1]  # and a sample's output does not depend on the rest of the batch
        torch.testing.assert_close(layer(one), layer(x)[:1], rtol=1e-12, atol=1e-12)
