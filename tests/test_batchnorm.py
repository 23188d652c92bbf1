"""normlib's BatchNorm layers against torch.nn: forward, backward, buffers, state_dict, errors."""

import copy
import itertools

import pytest
import torch
from torch import nn

import normlib as nl

PAIRS = [  # (ours, torch's, an input shape)
    (nl.BatchNorm1d, nn.BatchNorm1d, (6, 4)),
    (nl.BatchNorm1d, nn.BatchNorm1d, (5, 4, 7)),
    (nl.BatchNorm2d, nn.BatchNorm2d, (3, 4, 5, 6)),
    (nl.BatchNorm3d, nn.BatchNorm3d, (2, 4, 3, 5, 4)),
]
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
# (affine, bias, track_running_stats, momentum); bias only matters with affine
OPTIONS = [(a, b, t, m) for a, b, t, m in itertools.product(
    [True, False], [True, False], [True, False], [0.1, None, 0.0, 1.0]) if a or b]


def _twins(ours_cls, torch_cls, dtype, affine, bias, track, momentum):
    kw = dict(momentum=momentum, affine=affine, bias=bias, track_running_stats=track, dtype=dtype)
    ours, ref = ours_cls(4, **kw), torch_cls(4, **kw)
    with torch.no_grad():  # non-trivial γ, β so that they matter
        for m in (ours, ref):
            if m.weight is not None:
                m.weight.copy_(torch.linspace(0.5, 2.0, 4, dtype=dtype))
            if m.bias is not None:
                m.bias.copy_(torch.linspace(-1.0, 1.0, 4, dtype=dtype))
    return ours, ref


def _assert_same(a, b, dtype, what):
    assert a.shape == b.shape, what
    torch.testing.assert_close(a, b, **TOL[dtype], msg=lambda m: f"{what}: {m}")


def _assert_same_state(ours, ref, dtype):
    sa, sb = ours.state_dict(), ref.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        if sa[key].dtype == torch.long:
            assert torch.equal(sa[key], sb[key]), key
        else:
            _assert_same(sa[key], sb[key], dtype, key)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("affine,bias,track,momentum", OPTIONS)
@pytest.mark.parametrize("ours_cls,torch_cls,shape", PAIRS, ids=["1d-2D", "1d-3D", "2d", "3d"])
def test_matches_torch_over_training_then_eval(ours_cls, torch_cls, shape, affine, bias, track,
                                               momentum, dtype):
    ours, ref = _twins(ours_cls, torch_cls, dtype, affine, bias, track, momentum)
    for step in range(4):  # several training steps, with data whose statistics move
        x = (torch.randn(shape, dtype=dtype) * (1 + step) + step).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        ya, yb = ours(x), ref(x2)
        _assert_same(ya, yb, dtype, f"train output, step {step}")
        g = torch.randn_like(ya)
        ya.backward(g)
        yb.backward(g)
        _assert_same(x.grad, x2.grad, dtype, f"input gradient, step {step}")
        for name, p in ours.named_parameters():
            _assert_same(p.grad, getattr(ref, name).grad, dtype, f"{name} gradient")
        ours.zero_grad()
        ref.zero_grad()
        _assert_same_state(ours, ref, dtype)
    ours.eval()
    ref.eval()
    x = torch.randn(shape, dtype=dtype).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    ya, yb = ours(x), ref(x2)
    _assert_same(ya, yb, dtype, "eval output")
    ya.sum().backward()
    yb.sum().backward()
    _assert_same(x.grad, x2.grad, dtype, "eval input gradient")
    _assert_same_state(ours, ref, dtype)  # eval changes no buffer


@pytest.mark.parametrize("affine,bias,track", [(a, b, t) for a, b, t in itertools.product(
    [True, False], [True, False], [True, False]) if a or b])
@pytest.mark.parametrize("ours_cls,torch_cls,shape", PAIRS, ids=["1d-2D", "1d-3D", "2d", "3d"])
def test_state_dict_loads_strictly_both_ways(ours_cls, torch_cls, shape, affine, bias, track):
    kw = dict(affine=affine, bias=bias, track_running_stats=track)
    # a torch layer trained for a few steps ...
    ref = torch_cls(4, **kw)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1) if affine else None
    for _ in range(3):
        out = ref(torch.randn(shape) * 3 + 1)
        if opt:
            (out ** 3).mean().backward()
            opt.step()
            opt.zero_grad()
    # ... loads into ours, strictly, and they then agree in eval
    ours = ours_cls(4, **kw)
    ours.load_state_dict(ref.state_dict(), strict=True)
    _assert_same_state(ours, ref, torch.float32)
    ours.eval()
    ref.eval()
    x = torch.randn(shape)
    _assert_same(ours(x), ref(x), torch.float32, "eval after loading torch's state")
    # and ours loads into a fresh torch layer, strictly
    back = torch_cls(4, **kw)
    back.load_state_dict(ours.state_dict(), strict=True)
    _assert_same_state(ours, back, torch.float32)


def test_state_dict_keys_and_buffers_match_torch():
    ours, ref = nl.BatchNorm2d(3), nn.BatchNorm2d(3)
    assert list(ours.state_dict()) == list(ref.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert ours.num_batches_tracked.dtype == torch.long
    assert list(nl.BatchNorm2d(3, affine=False, track_running_stats=False).state_dict()) == []


def test_buffers_follow_to():
    m = nl.BatchNorm1d(3).to(torch.float64)
    assert m.running_mean.dtype == m.running_var.dtype == m.weight.dtype == torch.float64
    assert m.num_batches_tracked.dtype == torch.long  # integer buffers keep their dtype


def test_loads_version_1_state_dict_without_num_batches_tracked():
    ref = nn.BatchNorm2d(3)
    sd = ref.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""]["version"] = 1
    ours = nl.BatchNorm2d(3)
    ours.load_state_dict(sd, strict=True)
    assert ours.num_batches_tracked.item() == 0


def test_constructor_defaults_and_repr_match_torch():
    for ours_cls, torch_cls in [(nl.BatchNorm1d, nn.BatchNorm1d), (nl.BatchNorm2d, nn.BatchNorm2d),
                                (nl.BatchNorm3d, nn.BatchNorm3d)]:
        ours, ref = ours_cls(5), torch_cls(5)
        for attr in ("num_features", "eps", "momentum", "affine", "track_running_stats"):
            assert getattr(ours, attr) == getattr(ref, attr), attr
        assert repr(ours) == repr(ref)
        assert repr(ours_cls(5, affine=True, bias=False)) == repr(torch_cls(5, bias=False))
    assert list(nl.BatchNorm2d(3, bias=False).state_dict()) == list(
        nn.BatchNorm2d(3, bias=False).state_dict())


def test_momentum_none_is_the_cumulative_average():
    bn = nl.BatchNorm1d(2, momentum=None)
    batches = [torch.randn(10, 2) * (i + 1) + i for i in range(5)]
    for b in batches:
        bn(b)
    expected = torch.stack([b.mean(0) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean, expected)
    expected_var = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_var, expected_var)


def test_batch_statistics_when_not_tracking_even_in_eval():
    bn = nl.BatchNorm2d(3, track_running_stats=False).eval()
    x = torch.randn(4, 3, 2, 2) * 5 + 2
    y = bn(x)
    torch.testing.assert_close(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)


def test_device_and_dtype_arguments():
    m = nl.BatchNorm2d(3, device="cpu", dtype=torch.float64)
    assert m.weight.dtype == torch.float64 and m.running_mean.dtype == torch.float64


# ---- bad input: a clear error that names the argument --------------------------------------

@pytest.mark.parametrize("kwargs,exc,words", [
    (dict(num_features=0), ValueError, "num_features"),
    (dict(num_features=-3), ValueError, "num_features"),
    (dict(num_features=2.5), TypeError, "num_features"),
    (dict(num_features=True), TypeError, "num_features"),
    (dict(num_features=3, eps=-1e-5), ValueError, "eps"),
    (dict(num_features=3, eps=float("nan")), ValueError, "eps"),
    (dict(num_features=3, eps="1e-5"), TypeError, "eps"),
    (dict(num_features=3, momentum=1.5), ValueError, "momentum"),
    (dict(num_features=3, momentum=-0.1), ValueError, "momentum"),
    (dict(num_features=3, momentum="0.1"), TypeError, "momentum"),
    (dict(num_features=3, affine="yes"), TypeError, "affine"),
    (dict(num_features=3, track_running_stats=None), TypeError, "track_running_stats"),
    (dict(num_features=3, bias=1), TypeError, "bias"),
])
def test_bad_constructor_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        nl.BatchNorm2d(**kwargs)


@pytest.mark.parametrize("cls,x,exc,words", [
    (nl.BatchNorm2d, torch.randn(2, 3, 4), ValueError, "4D input"),
    (nl.BatchNorm1d, torch.randn(2, 3, 4, 5), ValueError, "2D or 3D"),
    (nl.BatchNorm3d, torch.randn(2, 3, 4, 5), ValueError, "5D input"),
    (nl.BatchNorm2d, torch.randn(2, 4, 3, 3), ValueError, "channels"),
    (nl.BatchNorm2d, torch.ones(2, 3, 2, 2, dtype=torch.long), TypeError, "floating-point"),
    (nl.BatchNorm2d, [[1.0, 2.0]], TypeError, "torch.Tensor"),
    (nl.BatchNorm1d, torch.randn(1, 3), ValueError, "more than 1 value per channel"),
    (nl.BatchNorm2d, torch.randn(1, 3, 1, 1), ValueError, "more than 1 value per channel"),
])
def test_bad_inputs(cls, x, exc, words):
    with pytest.raises(exc, match=words):
        cls(3)(x)


def test_one_value_per_channel_is_rejected_where_torch_rejects_it():
    x = torch.randn(1, 3)
    with pytest.raises(ValueError):
        nn.BatchNorm1d(3)(x)  # torch refuses it too
    with pytest.raises(ValueError, match="more than 1 value"):
        nl.BatchNorm1d(3, track_running_stats=False).eval()(x)  # batch statistics in eval
    # but in eval with running statistics a single sample is fine, as in torch
    torch.testing.assert_close(nl.BatchNorm1d(3).eval()(x), nn.BatchNorm1d(3).eval()(x))
    # and a single image still has H*W values per channel
    img = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(nl.BatchNorm2d(3)(img), nn.BatchNorm2d(3)(img))


def test_deepcopy_and_train_eval_flags():
    m = nl.BatchNorm1d(2)
    m2 = copy.deepcopy(m)
    m(torch.randn(4, 2))
    assert m.num_batches_tracked.item() == 1 and m2.num_batches_tracked.item() == 0


@pytest.mark.parametrize("affine", [True, False])
def test_double_backward_matches_torch(affine):
    """normlib's backward pass (autograd's, through normlib.functional) is itself differentiable
    (gradient penalties and Hessian-vector products work), and its second derivatives are torch's."""
    torch.manual_seed(0)
    x = torch.randn(5, 3, 4, dtype=torch.float64)
    results = []
    for cls in (nl.BatchNorm1d, nn.BatchNorm1d):
        layer = cls(3, affine=affine, dtype=torch.float64)
        if affine:
            with torch.no_grad():
                layer.weight.copy_(torch.tensor([0.5, 1.5, -2.0]))
                layer.bias.copy_(torch.tensor([0.1, 0.0, -0.3]))
        xg = x.clone().requires_grad_()
        y = layer(xg)
        (gx,) = torch.autograd.grad((y ** 3).sum(), xg, create_graph=True)
        penalty = (gx ** 2).sum()
        params = [xg] + ([layer.weight, layer.bias] if affine else [])
        results.append(torch.autograd.grad(penalty, params))
    for ours, theirs in zip(*results):
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-9)
    layer = nl.BatchNorm1d(3, dtype=torch.float64)
    assert torch.autograd.gradgradcheck(lambda t: layer(t), (x.clone().requires_grad_(),))
