import pytest
import torch

import normlib as nl
from normlib import functional
from normlib.functional import moments, normalize, standardize


@pytest.mark.parametrize("dims", [(0,), (0, 2, 3), (1, 2, 3), (2, 3), (-1,), 1])
def test_normalize_gives_zero_mean_unit_variance_over_dims(dims):
    x = torch.randn(5, 4, 3, 6, dtype=torch.float64) * 3 + 7
    y = normalize(x, dims, eps=0.0)
    d = (dims,) if isinstance(dims, int) else dims
    torch.testing.assert_close(y.mean(d), torch.zeros_like(y.mean(d)), atol=1e-12, rtol=0)
    torch.testing.assert_close(y.var(d, unbiased=False), torch.ones_like(y.mean(d)))


def test_normalize_with_eps_shrinks_variance_to_var_over_var_plus_eps():
    x = torch.randn(1000, 1, dtype=torch.float64) * 0.1
    v = x.var(0, unbiased=False)
    y = normalize(x, 0, eps=0.01)
    torch.testing.assert_close(y.var(0, unbiased=False), v / (v + 0.01))


def test_normalize_is_the_batch_norm_forward():
    x = torch.randn(8, 3, 5, 5)
    bn = torch.nn.BatchNorm2d(3, affine=False)
    torch.testing.assert_close(normalize(x, (0, 2, 3)), bn(x), atol=1e-6, rtol=1e-5)


def test_standardize_with_given_statistics():
    x = torch.randn(4, 3)
    mean, var = moments(x, 0)
    torch.testing.assert_close(standardize(x, mean, var, 0.0), normalize(x, 0, 0.0))


@pytest.mark.parametrize("args,exc,words", [
    ((torch.ones(2, 3, dtype=torch.long), 0), TypeError, "floating-point"),
    (([1.0, 2.0], 0), TypeError, "torch.Tensor"),
    ((torch.ones(2, 3), 2), ValueError, "out of range"),
    ((torch.ones(2, 3), (0, 0)), ValueError, "same axis"),
    ((torch.ones(2, 3), ()), TypeError, "dims"),
    ((torch.ones(2, 3), "0"), TypeError, "dims"),
    ((torch.ones(0, 3), 0), ValueError, "no values"),
])
def test_normalize_bad_input(args, exc, words):
    with pytest.raises(exc, match=words):
        normalize(*args)


def test_normalize_bad_eps():
    with pytest.raises(ValueError, match="eps"):
        normalize(torch.ones(2, 3), 0, eps=-1.0)


def test_package_exports_normalize():
    assert nl.normalize is normalize


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,dims", [((64, 5), 0), ((8, 3, 5, 5), (0, 2, 3)),
                                        ((7, 13, 17), (1, 2)), ((256, 512), -1)])
def test_normalize_is_the_textbook_formula_up_to_rounding(shape, dims, dtype):
    """normalize computes (x − μ) / sqrt(σ² + eps) as x · a + c (one scale and one shift per
    slice).  Its variance is the textbook's to the bit; its output is the textbook's to within a
    few roundings of |μ| / σ + 1, also far from 0 (a one-pass variance, E[x²] − μ², would be off
    by about (μ / σ)² roundings and fail here)."""
    tiny = torch.finfo(dtype).eps
    for offset in (0.0, 7.0, 1e3, 1e4):
        x = torch.randn(shape, dtype=dtype) * 3 + offset
        mean = x.mean(dims, keepdim=True)
        var = torch.square(x - mean).mean(dims, keepdim=True)
        tuple_dims = (dims,) if isinstance(dims, int) else dims
        assert torch.equal(functional._normalize(x, tuple_dims, 1e-5)[2], var)
        exact = x.double() - x.double().mean(dims, keepdim=True)
        for eps in (1e-5, 0.0):
            textbook = exact / torch.sqrt(exact.square().mean(dims, keepdim=True) + eps)
            error = (normalize(x, dims, eps=eps).double() - textbook).abs().max().item()
            assert error < 16 * tiny * (1 + offset / 3), (offset, eps, error)
        error = (standardize(x, mean, var).double() - exact / torch.sqrt(var.double() + 1e-5)).abs().max()
        assert error < 16 * tiny * (1 + offset / 3), (offset, error.item())


def test_normalize_without_centring_divides_by_the_root_mean_square():
    x = torch.randn(6, 4, dtype=torch.float64) + 3
    y = normalize(x, 1, eps=0.0, center=False)
    torch.testing.assert_close(y, x / x.square().mean(1, keepdim=True).sqrt())
    assert y.mean(1).abs().min() > 0.5  # not centred
    with pytest.raises(TypeError, match="center"):
        normalize(x, 1, center="no")
