"""Property tests (hypothesis): normlib's layers are torch.nn's twins on any small input.

Hypothesis draws the layer, the input shape, the dtype (float16, bfloat16, float32, float64: all
four run in torch 2.13's CPU batch norm), the constructor arguments (eps, momentum including None,
affine, bias, track_running_stats) and one to three training steps followed by evaluation.  Every
step compares the output, the input gradient, the parameter gradients and the running buffers with
torch.nn's twin, then copies torch's buffers into normlib's so that the next step starts both from
the same state (each step is a comparison of its own; errors do not pile up across steps).

Tolerances.  Torch computes ``y = x · scale + shift`` per channel in one fused kernel, with
``scale = γ / √(σ² + ε)`` and ``shift = β − μ · scale``; normlib computes the same numbers as
``(x − μ) · scale + β`` in a few tensor operations (see normlib.functional).  A rounding error is relative to the size of the terms that are added, not
to the result, so each comparison allows

    |normlib − torch| ≤ K · S · (eps(dtype) + eps(accumulator) · log2 n)

* ``eps(dtype)``: machine epsilon (float16 2⁻¹⁰, bfloat16 2⁻⁷, float32 2⁻²³, float64 2⁻⁵²).
  Float16 and bfloat16 are compared with torch computed in the same dtype.
* ``S``: the magnitude of the terms (``_scales``), e.g. ``max |x · scale| + |shift|`` for the
  output, which grows with |μ|/σ where the subtraction cancels.  Inputs have per-channel offsets
  within ±4 standard deviations, so S stays a small multiple of the output's size.
* ``log2 n``: the statistics sum n values per channel.  Torch accumulates float16/bfloat16 in
  float32 and float32 in float64, which makes that term negligible; float64 has nothing wider,
  and there its summation error grows like log2 n.
* ``K = 8``: normlib's expression rounds about eight times (μ, x − μ, σ², + ε, rsqrt, · γ,
  · scale, + β), each by at most eps/2 of S; torch rounds once.  That is ≈ 4.5
  eps · S at worst, and K = 8 leaves a factor of about two.  Over 7,500 random cases (all
  dtypes) the largest error measured was 1.9 of these units (float16 output); float64's, with
  its log2 n term, 0.9.
"""

import math
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import normlib as nl

# Reproducible in CI: the same examples on every run (derandomize), no per-example deadline and no
# too-slow health check (the machine is shared), and a failing example printed as a blob that
# @reproduce_failure replays.  HYPOTHESIS_PROFILE=normlib-thorough searches ten times longer.
settings.register_profile("normlib", derandomize=True, deadline=None, max_examples=50,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("normlib-thorough", settings.get_profile("normlib"), max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "normlib"))

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
K = 8  # roundings allowed, in units of eps · S (see the module docstring)
MAX_ELEMENTS = 4000

LAYERS = {  # name: (normlib class, torch class, input rank)
    "1d-2D": (nl.BatchNorm1d, nn.BatchNorm1d, 2),
    "1d-3D": (nl.BatchNorm1d, nn.BatchNorm1d, 3),
    "2d": (nl.BatchNorm2d, nn.BatchNorm2d, 4),
    "3d": (nl.BatchNorm3d, nn.BatchNorm3d, 5),
}


def eps_of(dtype):
    return torch.finfo(dtype).eps


# torch's CPU reductions accumulate float16/bfloat16 in float32 and float32 in float64
# (at::acc_type); float64 has nothing wider, so there summing n values adds ~log2(n) roundings.
ACCUMULATOR = {torch.float16: torch.float32, torch.bfloat16: torch.float32,
               torch.float32: torch.float64, torch.float64: torch.float64}


@st.composite
def shapes(draw, rank, max_side=7):
    """(N, C, *spatial) with at most MAX_ELEMENTS elements; N may be 1 (then maybe one value)."""
    n = draw(st.integers(1, 8))
    c = draw(st.integers(1, 6))
    spatial = [draw(st.integers(1, max_side)) for _ in range(rank - 2)]
    shape = [n, c] + spatial
    while math.prod(shape) > MAX_ELEMENTS:  # shrink the largest spatial side
        i = max(range(2, rank), key=lambda j: shape[j])
        shape[i] = max(1, shape[i] // 2)
    return tuple(shape)


@st.composite
def layer_configs(draw):
    return dict(
        dtype=draw(st.sampled_from(DTYPES)),
        eps=draw(st.sampled_from([1e-5, 1e-3, 0.1, 1.0])),
        momentum=draw(st.one_of(st.none(), st.sampled_from([0.0, 0.1, 1.0]),
                                st.floats(0.0, 1.0, allow_subnormal=False))),
        affine=draw(st.booleans()),
        track_running_stats=draw(st.booleans()),
        bias=draw(st.booleans()),
    )


def _data(shape, dtype, seed):
    """Per-channel scales in [0.1, 10] and offsets within ±4 scales, made in float64 then cast."""
    g = torch.Generator().manual_seed(seed)
    c = shape[1]
    view = (1, c) + (1,) * (len(shape) - 2)
    log_scale = torch.empty(c, dtype=torch.float64).uniform_(math.log(0.1), math.log(10), generator=g)
    scale = log_scale.exp()
    offset = torch.empty(c, dtype=torch.float64).uniform_(-4, 4, generator=g) * scale
    x = torch.randn(shape, dtype=torch.float64, generator=g) * scale.view(view) + offset.view(view)
    upstream = torch.randn(shape, dtype=torch.float64, generator=g)
    gamma = torch.empty(c, dtype=torch.float64).uniform_(0.5, 2.0, generator=g)
    beta = torch.empty(c, dtype=torch.float64).uniform_(-1.0, 1.0, generator=g)
    # γ and β as the layers will hold them (rounded to dtype), kept in float64 for the scales
    return x.to(dtype), upstream.to(dtype), gamma.to(dtype).double(), beta.to(dtype).double()


def _scales(x, g, gamma, beta, mean, var, eps):
    """Magnitudes of the terms each compared quantity is a sum of, computed in float64.

    ``mean``/``var``: the statistics used for normalizing (per channel, float64).  The input
    gradient is (γ/σ)(g − mean(g) − x̂ · mean(g · x̂)), whose terms are at most
    |γ/σ| · max|g| · (1 + |x̂|)², with |x̂| ≤ (|x| + |μ|)/σ as normlib forms it from x and μ.
    """
    x, g = x.double(), g.double()
    dims = (0,) + tuple(range(2, x.dim()))
    inv_std = (var + eps).rsqrt()
    scale = gamma * inv_std
    amax = lambda t: t.abs().amax(dim=dims)  # noqa: E731  per channel
    terms = amax(x) * scale.abs() + mean.abs() * scale.abs() + beta.abs()  # |x·scale| + |shift|
    x_hat_terms = (amax(x) + mean.abs()) * inv_std                          # |x|/σ + |μ|/σ
    n = x.numel() // x.shape[1]
    s_y = terms.max().item()
    s_dx = (scale.abs() * amax(g) * (1 + x_hat_terms) ** 2).max().item()
    s_dweight = (n * amax(g) * (1 + x_hat_terms)).max().item()  # Σ g · x̂
    s_dbias = (n * amax(g)).max().item()                         # Σ g
    return dict(y=s_y, dx=s_dx, dweight=s_dweight, dbias=s_dbias)


def _close(ours, ref, dtype, scale, what, n=1):
    """|ours − ref| ≤ K · S · (eps(dtype) + eps(accumulator) · log2 n), for sums of n values."""
    assert ours.dtype == ref.dtype and ours.shape == ref.shape, what
    tol = K * scale * (eps_of(dtype) + eps_of(ACCUMULATOR[dtype]) * math.log2(max(n, 2)))
    err = (ours.double() - ref.double()).abs().max().item() if ours.numel() else 0.0
    assert err <= tol, (f"{what}: max |normlib − torch| = {err:.3g} > {tol:.3g} "
                        f"({dtype}, S={scale:.3g}, n={n})")


def _twins(layer, shape, cfg):
    ours_cls, torch_cls, _ = LAYERS[layer]
    kw = dict(cfg)
    ours, ref = ours_cls(shape[1], **kw), torch_cls(shape[1], **kw)
    return ours, ref


def _copy_params(ours, ref, gamma, beta):
    with torch.no_grad():
        for m in (ours, ref):
            if m.weight is not None:
                m.weight.copy_(gamma)
            if m.bias is not None:
                m.bias.copy_(beta)


def _step(ours, ref, x, g, gamma, beta, cfg, what):
    """One forward/backward through both layers; compare everything that came out of it."""
    dtype, eps = cfg["dtype"], cfg["eps"]
    batch_stats = ours.training or not cfg["track_running_stats"]
    n = x.numel() // x.shape[1]
    if batch_stats and n <= 1:  # one value per channel: both refuse, with a ValueError
        before = {k: v.clone() for k, v in ours.state_dict().items()}
        with pytest.raises(ValueError):
            ours(x)
        with pytest.raises(ValueError):
            ref(x)
        for k, v in ours.state_dict().items():  # a refused batch leaves normlib's layer as it was
            assert torch.equal(v, before[k]), k
        if ref.training and cfg["track_running_stats"]:
            # torch counts the batch before refusing it (num_batches_tracked += 1 happens first
            # in _BatchNorm.forward); undo that so the twins stay in step
            assert ref.num_batches_tracked == ours.num_batches_tracked + 1
            ref.num_batches_tracked.sub_(1)
        return False
    dims = (0,) + tuple(range(2, x.dim()))
    if batch_stats:
        var, mean = torch.var_mean(x.double(), dim=dims, correction=0)
    else:
        mean, var = ref.running_mean.double(), ref.running_var.double()
    gam = gamma if cfg["affine"] else torch.ones_like(gamma)
    bet = beta if cfg["affine"] and cfg["bias"] else torch.zeros_like(beta)
    s = _scales(x, g, gam, bet, mean, var, eps)
    if cfg["track_running_stats"]:  # running_mean ← (1 − m)·old + m·μ, running_var alike
        sd = (var + eps).sqrt()
        # the old buffer's size, and the batch statistic's (σ²'s rounding grows with |μ|/σ)
        unbiased = var * n / max(n - 1, 1) * (1 + mean.abs() / sd)
        old_mean, old_var = ref.running_mean.double().abs(), ref.running_var.double().abs()
        s["running_mean"] = torch.maximum(old_mean, mean.abs() + sd).max().item()
        s["running_var"] = torch.maximum(old_var, unbiased).max().item()
    for m in (ours, ref):
        m.zero_grad()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), ref(xb)
    _close(ya, yb, dtype, s["y"], f"{what}: output", n)
    ya.backward(g), yb.backward(g)
    _close(xa.grad, xb.grad, dtype, s["dx"], f"{what}: input gradient", n)
    for name in ("weight", "bias"):
        pa, pb = getattr(ours, name), getattr(ref, name)
        assert (pa is None) == (pb is None), name
        if pa is not None:
            _close(pa.grad, pb.grad, dtype, s["d" + name], f"{what}: {name} gradient", n)
    for name in ("running_mean", "running_var"):
        ba, bb = getattr(ours, name), getattr(ref, name)
        assert (ba is None) == (bb is None), name
        if ba is not None:
            _close(ba, bb, dtype, s[name], f"{what}: {name}", n)
            with torch.no_grad():
                ba.copy_(bb)  # the next step starts both twins from the same state
    if cfg["track_running_stats"]:
        assert torch.equal(ours.num_batches_tracked, ref.num_batches_tracked)
    return True


def _train_then_eval(layer, shape, cfg, seeds):
    ours, ref = _twins(layer, shape, cfg)
    _, _, gamma, beta = _data(shape, cfg["dtype"], seeds[0])
    _copy_params(ours, ref, gamma, beta)
    for i, seed in enumerate(seeds):  # training steps: statistics move between batches
        x, g, _, _ = _data(shape, cfg["dtype"], seed)
        if not _step(ours.train(), ref.train(), x, g, gamma, beta, cfg, f"train step {i + 1}"):
            break
    x, g, _, _ = _data(shape, cfg["dtype"], seeds[-1] + 1)
    _step(ours.eval(), ref.eval(), x, g, gamma, beta, cfg, "eval")
    assert list(ours.state_dict()) == list(ref.state_dict())


@pytest.mark.parametrize("layer", list(LAYERS))
@given(data=st.data())
def test_batchnorm_matches_torch(layer, data):
    rank = LAYERS[layer][2]
    shape = data.draw(shapes(rank), label="shape")
    cfg = data.draw(layer_configs(), label="config")
    seeds = data.draw(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=3), label="seeds")
    _train_then_eval(layer, shape, cfg, seeds)


@given(data=st.data())
def test_make_norm_matches_its_torch_backend(data):
    """make_norm(kind, ...) builds the same layer with backend="normlib" and backend="torch"."""
    kind = data.draw(st.sampled_from(["bn", "BN", "none"]), label="kind")
    spatial_dims = data.draw(st.integers(0, 3), label="spatial_dims")
    rank = spatial_dims + 2
    shape = data.draw(shapes(rank, max_side=5), label="shape")
    cfg = data.draw(layer_configs(), label="config")
    dtype = cfg.pop("dtype")
    options = cfg if kind != "none" else {}
    ours = nl.make_norm(kind, shape[1], spatial_dims=spatial_dims, **options)
    ref = nl.make_norm(kind, shape[1], spatial_dims=spatial_dims, backend="torch", **options)
    assert type(ours).__name__ == type(ref).__name__
    if kind == "none":
        x = torch.randn(shape, dtype=dtype)
        assert ours(x) is x and ref(x) is x
        return
    ours.to(dtype), ref.to(dtype)
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    layer = {0: "1d-2D", 1: "1d-3D", 2: "2d", 3: "3d"}[spatial_dims]
    assert isinstance(ours, LAYERS[layer][0]) and isinstance(ref, LAYERS[layer][1])
    cfg["dtype"] = dtype
    x, g, gamma, beta = _data(shape, dtype, seed)
    _copy_params(ours, ref, gamma, beta)
    _step(ours.train(), ref.train(), x, g, gamma, beta, cfg, "make_norm train")
    _step(ours.eval(), ref.eval(), x, g, gamma, beta, cfg, "make_norm eval")


@st.composite
def normalize_problems(draw):
    rank = draw(st.integers(1, 5))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    while math.prod(shape) > MAX_ELEMENTS:
        shape = tuple(max(1, s // 2) if s == max(shape) else s for s in shape)
    axes = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    dims = tuple(a - rank if draw(st.booleans()) else a for a in axes)  # negative indices too
    dtype = draw(st.sampled_from(DTYPES))
    eps = draw(st.sampled_from([0.0, 1e-5, 1e-3, 0.5]))
    return shape, dims, dtype, eps, draw(st.integers(0, 2**31 - 1))


@given(problem=normalize_problems())
def test_normalize_matches_a_straightforward_reference(problem):
    """normalize(x, dims, eps) = (x − μ) / √(σ² + eps) over dims, written out plainly in float64.

    The reference sees the very same (already rounded) input values, so what differs is normlib's
    rounding in x's dtype, relative to the size of the terms: (|x| + |μ|)/σ for the output (the
    subtraction cancels), |μ| + σ for the mean, σ²·(1 + |μ|/σ) for the variance, and for the
    input gradient (float32 and float64; the reference's own autograd) the same bound as for the
    layers.  ``moments`` is checked on the way.
    """
    shape, dims, dtype, eps, seed = problem
    g = torch.Generator().manual_seed(seed)
    axes = tuple(d % len(shape) for d in dims)
    offset = torch.empty((), dtype=torch.float64).uniform_(-4, 4, generator=g)
    scale = math.exp(torch.empty((), dtype=torch.float64).uniform_(-2.3, 2.3, generator=g).item())
    x = ((torch.randn(shape, dtype=torch.float64, generator=g) + offset) * scale).to(dtype)
    count = math.prod(shape[a] for a in axes)
    x64 = x.double()
    mean = x64.mean(dim=axes, keepdim=True)
    var = ((x64 - mean) ** 2).mean(dim=axes, keepdim=True)  # biased: divide by the count
    if eps == 0 and bool((var == 0).any()):  # a constant slice (e.g. count 1): refused, not NaN
        with pytest.raises(ValueError, match="eps"):
            nl.normalize(x, dims, eps=eps)
        return
    sd = torch.sqrt(var + eps)
    ref = (x64 - mean) / sd
    y = nl.normalize(x, dims, eps=eps)
    assert y.dtype == dtype and y.shape == x.shape
    size = ((x64.abs() + mean.abs()) / sd).max().item()
    _close(y.double(), ref, dtype, size, f"normalize over {dims} of {shape}", count)
    m, v = nl.moments(x, dims)
    assert m.shape == v.shape == mean.shape and m.dtype == v.dtype == dtype
    _close(m.double(), mean, dtype, (mean.abs() + var.sqrt()).max().item(), "moments: mean", count)
    _close(v.double(), var, dtype, (var + var.sqrt() * mean.abs()).max().item(), "moments: var",
           count)
    if dtype in (torch.float32, torch.float64) and count > 1:
        up = torch.randn(shape, dtype=torch.float64, generator=g)
        xa, xb = x.clone().requires_grad_(), x64.clone().requires_grad_()
        nl.normalize(xa, dims, eps=eps).backward(up.to(dtype))
        mb = xb.mean(dim=axes, keepdim=True)
        ((xb - mb) / torch.sqrt(((xb - mb) ** 2).mean(dim=axes, keepdim=True) + eps)).backward(up)
        s_dx = (up.abs().max() / sd.min() * (1 + size) ** 2).item()
        _close(xa.grad.double(), xb.grad, dtype, s_dx, "normalize: input gradient", count)


FLOAT8 = [getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2") if hasattr(torch, n)]


@pytest.mark.parametrize("dtype", FLOAT8, ids=str)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_dtypes_torch_cpu_batch_norm_lacks_fail_alike(dtype, train):
    """torch 2.13's CPU batch norm runs float16, bfloat16, float32 and float64 (all tested above)
    but not the float8 types: there both libraries raise NotImplementedError (the messages differ:
    torch names "batch_norm", normlib the first operation that lacks the dtype)."""
    x = torch.randn(4, 3).to(dtype)
    for cls in (nl.BatchNorm1d, nn.BatchNorm1d):
        with pytest.raises(NotImplementedError):
            cls(3, dtype=dtype).train(train)(x)


def test_float16_backward_at_a_tiny_variance():
    """A float16 input whose channel variance σ² + ε is below 65504^(−2/3) ≈ 6.1e-4: computed in
    float16, d rsqrt(v)/dv = −v^(−3/2)/2 would overflow to inf.  normlib, like torch, computes the
    statistics and the per-channel coefficients of the backward pass in float32."""
    d = 5e-4 ** 0.5  # two values per channel with batch variance 5e-4
    x = torch.tensor([[0.0, 0.0], [2 * d, 2 * d]], dtype=torch.float16)
    g = torch.tensor([[1.0, 0.5], [-0.3, 0.2]], dtype=torch.float16)
    grads = []
    for cls in (nl.BatchNorm1d, nn.BatchNorm1d):
        xg = x.clone().requires_grad_()
        cls(2, affine=False, dtype=torch.float16)(xg).backward(g)
        grads.append(xg.grad)
    assert grads[1].isfinite().all()
    assert grads[0].isfinite().all(), f"normlib's float16 input gradient: {grads[0].tolist()}"
    # and it is the right gradient: float64 arithmetic on the same float16 values, to a few
    # float16 units in the last place (torch's own float16 kernel is off by about 3% here)
    exact = x.double().requires_grad_()
    nn.BatchNorm1d(2, affine=False, dtype=torch.float64)(exact).backward(g.double())
    torch.testing.assert_close(grads[0].double(), exact.grad, rtol=4 * eps_of(torch.float16), atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_half_input_through_a_float32_layer_as_in_torch(dtype, train):
    """Mixed precision: torch runs a float16/bfloat16 input through a float32 layer and returns
    the input's dtype, with float32 parameter gradients and buffers; so does normlib."""
    torch.manual_seed(0)
    x = (torch.randn(6, 3, 4, 4) * 2 + 1).to(dtype)
    g = torch.randn(6, 3, 4, 4).to(dtype)
    out = []
    for cls in (nl.BatchNorm2d, nn.BatchNorm2d):
        m = cls(3).train(train)
        with torch.no_grad():  # the same non-trivial parameters and buffers in both
            m.weight.copy_(torch.tensor([0.5, 1.0, 2.0])), m.bias.copy_(torch.tensor([-1.0, 0.0, 0.5]))
            m.running_mean.copy_(torch.tensor([0.0, 1.0, 2.0]))
            m.running_var.copy_(torch.tensor([0.5, 1.0, 3.0]))
        xg = x.clone().requires_grad_()
        y = m(xg)
        y.backward(g)
        out.append((y, xg.grad, m.weight.grad, m.bias.grad, m.running_mean, m.running_var))
    names = ("output", "input gradient", "weight gradient", "bias gradient", "running_mean",
             "running_var")
    for name, a, b in zip(names, *out):
        assert a.dtype == b.dtype, name
        # half-precision results: a few units in the last place of the values' size
        tol = 4 * eps_of(dtype) * max(1.0, b.float().abs().max().item())
        torch.testing.assert_close(a.float(), b.float(), rtol=0, atol=tol, msg=name)
