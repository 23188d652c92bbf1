"""Every layer in normlib.twins.TWINS against its torch.nn twin, over every combination of its
options, in float32 (1e-5) and float64 (1e-10): outputs, input and parameter gradients, buffers and
state_dict, over training steps and then in evaluation; plus the design invariant that each
layer's forward goes through normlib.functional and its backward runs no normlib Python code."""

import itertools
import os
import sys
import threading

import pytest
import torch

import normlib
from normlib import functional as F
from normlib.twins import TWINS

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
NORMLIB_DIR = os.path.dirname(normlib.__file__)


def _grid():
    for twin in TWINS:
        names = list(twin.options)
        for values in itertools.product(*(twin.options[n] for n in names)):
            for i, (args, shape) in enumerate(twin.cases):
                kwargs = dict(zip(names, values))
                yield pytest.param(twin, args, shape, kwargs,
                                   id=f"{twin.name}-{shape}-" + "-".join(map(str, values)))


GRID = list(_grid())


def build_pair(twin, args, kwargs, dtype, seed=0):
    """Both twins, with the same non-trivial parameters (torch's, drawn at random, loaded into
    normlib's: strictly, so the state_dict keys must be the same)."""
    ref = twin.theirs(*args, **kwargs, dtype=dtype)
    ours = twin.ours(*args, **kwargs, dtype=dtype)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=dtype) * 1.5 + 0.5)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


def _same(a, b, dtype, what):
    assert a.shape == b.shape and a.dtype == b.dtype, what
    torch.testing.assert_close(a, b, **TOL[dtype], msg=lambda m: f"{what}: {m}")


def _same_state(ours, ref, dtype, what):
    sa, sb = ours.state_dict(), ref.state_dict()
    assert list(sa) == list(sb), what
    for key in sa:
        if sa[key].dtype == torch.long:
            assert torch.equal(sa[key], sb[key]), f"{what}: {key}"
        else:
            _same(sa[key], sb[key], dtype, f"{what}: {key}")


def step(ours, ref, x, dtype, what):
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), ref(xb)
    _same(ya, yb, dtype, f"{what}: output")
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    _same(xa.grad, xb.grad, dtype, f"{what}: input gradient")
    for (name, pa), (_, pb) in zip(ours.named_parameters(), ref.named_parameters()):
        _same(pa.grad, pb.grad, dtype, f"{what}: {name} gradient")
    ours.zero_grad(), ref.zero_grad()
    _same_state(ours, ref, dtype, what)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("twin,args,shape,kwargs", GRID)
def test_matches_torch_in_training_then_eval(twin, args, shape, kwargs, dtype):
    ours, ref = build_pair(twin, args, kwargs, dtype)
    assert repr(ours) == repr(ref)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]
    torch.manual_seed(1)
    for i in range(3):  # statistics that move between batches
        step(ours.train(), ref.train(), torch.randn(shape, dtype=dtype) * (1 + i) + i, dtype,
             f"train step {i}")
    step(ours.eval(), ref.eval(), torch.randn(shape, dtype=dtype) * 2 - 1, dtype, "eval")


@pytest.mark.parametrize("twin", TWINS, ids=[t.name for t in TWINS])
def test_constructor_defaults_match_torch(twin):
    args, _ = twin.cases[0]
    ours, ref = twin.ours(*args), twin.theirs(*args)
    assert repr(ours) == repr(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    if isinstance(twin.ours, type):  # a layer: γ = 1, β = 0, running statistics 0 and 1
        for (name, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items()):
            assert torch.equal(a, b), name


def _normlib_frames(fn):
    """``(caller's file, file, function)`` of every normlib Python function run by ``fn()``."""
    seen = set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(NORMLIB_DIR):
            caller = os.path.basename(frame.f_back.f_code.co_filename) if frame.f_back else ""
            seen.add((caller, os.path.basename(frame.f_code.co_filename), frame.f_code.co_name))

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return seen


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("twin", TWINS, ids=[t.name for t in TWINS])
def test_forward_goes_through_functional_and_backward_runs_no_normlib_code(twin, train):
    args, shape = twin.cases[0]
    layer = twin.ours(*args).train(train)
    x = torch.randn(shape, requires_grad=True)
    out = []
    forward = _normlib_frames(lambda: out.append(layer(x)))
    calls = {name for caller, file, name in forward if caller == "layers.py" and file == "functional.py"}
    assert len(calls) == 1, f"{twin.name}: expected one call into functional, got {forward}"
    backward = _normlib_frames(lambda: out[0].sum().backward())
    assert backward == set(), f"{twin.name}: normlib code ran in backward: {backward}"
    assert x.grad is not None


def test_no_custom_autograd_function_in_normlib():
    import normlib.layers
    import normlib.functional
    for module in (normlib.layers, normlib.functional):
        for value in vars(module).values():
            assert not (isinstance(value, type) and issubclass(value, torch.autograd.Function))


# ---- BN's closed-form backward (chapter 3.4), kept beside the layers, checked against autograd ----

@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_backward_is_autograds(shape, affine):
    torch.manual_seed(0)
    x = (torch.randn(shape, dtype=torch.float64) * 2 + 1).requires_grad_()
    w = (torch.rand(3, dtype=torch.float64) + 0.5).requires_grad_() if affine else None
    b = torch.randn(3, dtype=torch.float64, requires_grad=True) if affine else None
    y = F.batch_norm(x, None, None, w, b, training=True)
    g = torch.randn_like(y)
    y.backward(g)
    grad_x, grad_w, grad_b = F.batch_norm_backward(g, x.detach(), None if w is None else w.detach())
    torch.testing.assert_close(grad_x, x.grad, rtol=1e-10, atol=1e-12)
    if affine:
        torch.testing.assert_close(grad_w, w.grad, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(grad_b, b.grad, rtol=1e-10, atol=1e-12)


# ---- layer-specific behaviour torch also has -------------------------------------------------

def test_weight_norm_state_dict_keys_are_torchs():
    ours = normlib.weight_norm(torch.nn.Linear(3, 2))
    ref = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(ref.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(4, 3)
    torch.testing.assert_close(ours(x), ref(x))


def test_weight_norm_loads_a_state_dict_of_the_deprecated_api():
    torch.manual_seed(0)
    with pytest.warns(FutureWarning):
        old = torch.nn.utils.weight_norm(torch.nn.Linear(3, 2))
    assert sorted(old.state_dict()) == ["bias", "weight_g", "weight_v"]
    with torch.no_grad():
        old.weight_g.mul_(2.0)                      # a length that differs from ‖v‖
    x = torch.randn(4, 3)
    for apply in (normlib.weight_norm, torch.nn.utils.parametrizations.weight_norm):
        new = apply(torch.nn.Linear(3, 2))
        new.load_state_dict(old.state_dict(), strict=True)
        torch.testing.assert_close(new(x), old(x))
    inner = torch.nn.Sequential(torch.nn.Linear(3, 3), normlib.weight_norm(torch.nn.Linear(3, 2)))
    state = {"0.weight": torch.eye(3), "0.bias": torch.zeros(3), "1.bias": old.bias.detach(),
             "1.weight_g": old.weight_g.detach(), "1.weight_v": old.weight_v.detach()}
    inner.load_state_dict(state, strict=True)       # a prefix: the keys of a submodule
    torch.testing.assert_close(inner(x), old(x))


def test_weight_norm_of_a_conv_over_dim_0():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3)
    ours = normlib.weight_norm(torch.nn.Conv2d(3, 4, 3))
    ours.load_state_dict(torch.nn.utils.parametrizations.weight_norm(conv).state_dict())
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(ours(x), conv(x))


def test_instance_norm_running_stats_with_momentum_none_stay_as_torch():
    for cls in (normlib.InstanceNorm2d, torch.nn.InstanceNorm2d):
        m = cls(3, track_running_stats=True, momentum=None)
        m(torch.randn(2, 3, 4, 4) + 5)
        assert torch.equal(m.running_mean, torch.zeros(3)), cls
        assert m.num_batches_tracked.item() == 0


def test_layer_state_dicts_load_into_torch_and_back():
    for twin in TWINS:
        args, shape = twin.cases[0]
        ours, ref = build_pair(twin, args, {}, torch.float32, seed=3)
        back = twin.ours(*args)
        back.load_state_dict(ref.state_dict(), strict=True)
        fresh = twin.theirs(*args)
        fresh.load_state_dict(ours.state_dict(), strict=True)
        x = torch.randn(shape)
        torch.testing.assert_close(back.eval()(x), fresh.eval()(x), msg=twin.name)


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.name)
@pytest.mark.parametrize("training", [True, False])
def test_second_derivatives_are_torchs(twin, training):
    """Gradient penalties and Hessian-vector products differentiate the backward pass again: the
    second derivatives of every layer (through its batch statistics, in training) are torch's.
    (A variance whose mean were detached without its correction term would get the first
    derivatives right and these wrong: see functional._variance.)"""
    torch.manual_seed(0)
    args, shape = twin.cases[0]
    ours, ref = build_pair(twin, args, {}, torch.float64)
    x = torch.randn(shape, dtype=torch.float64) * 2 + 1
    direction = torch.randn(shape, dtype=torch.float64)   # a Hessian-vector product along it
    results = []
    for layer in (ours, ref):
        layer.train(training)
        xg = x.clone().requires_grad_()
        (gx,) = torch.autograd.grad((layer(xg) ** 3).sum(), xg, create_graph=True)
        penalty = (gx ** 2).sum() + (gx * direction).sum()
        results.append(torch.autograd.grad(penalty, [xg, *layer.parameters()]))
    for a, b in zip(*results):
        _same(a, b, torch.float64, f"{twin.name}: second derivative")
