"""train.soft_dice_loss and train.train_segmenter: the loss is 1 − Dice on hard predictions and
smooth in between; the loop trains a U-Net one volume at a time, reproducibly."""

import math

import pytest
import torch
from torch import nn

import normlib as nl
from normlib.train import dice, soft_dice_loss, train_segmenter


def _hard_logits(pred, channels=2):
    """Logits so large that the probabilities are exactly 0 and 1 in float64."""
    score = 200.0 * (2 * pred.double() - 1)
    return score.unsqueeze(1) if channels == 1 else torch.stack([-score, score], dim=1)


@pytest.mark.parametrize("channels", [1, 2])
def test_on_hard_predictions_it_is_one_minus_dice(channels):
    _, masks = nl.data.volumes(4, size=8, seed=0)
    pred = torch.roll(masks, 1, dims=2)
    loss = soft_dice_loss(_hard_logits(pred, channels), masks, smooth=0.0)
    one_minus_dice = 1 - dice(pred, masks).double().mean().item()
    assert loss.item() == pytest.approx(one_minus_dice, abs=1e-6)   # dice is float32
    assert soft_dice_loss(_hard_logits(masks, channels), masks, smooth=0.0).item() == 0.0


def test_predicting_no_object_costs_almost_the_whole_loss_and_smoothing_is_small():
    _, masks = nl.data.volumes(3, size=8, seed=0)
    nothing = soft_dice_loss(_hard_logits(torch.zeros_like(masks)), masks)        # smooth = 1
    objects = masks.flatten(1).sum(1).double()
    assert nothing.item() == pytest.approx((1 - 1 / (objects + 1)).mean().item())
    assert nothing.item() > 0.95
    empty = torch.zeros(1, 4, 4, 4, dtype=torch.long)     # nothing to find, nothing found: no loss
    assert soft_dice_loss(_hard_logits(empty), empty).item() == 0.0


def test_one_logit_with_a_sigmoid_equals_two_logits_with_a_softmax():
    torch.manual_seed(0)
    z = torch.randn(2, 1, 4, 4, 4, dtype=torch.float64)
    masks = (torch.rand(2, 4, 4, 4) > 0.7).long()
    two = torch.cat([torch.zeros_like(z), z], dim=1)      # softmax([0, z])[1] = sigmoid(z)
    torch.testing.assert_close(soft_dice_loss(z, masks), soft_dice_loss(two, masks))


def test_it_is_the_formula_and_its_gradient_is_finite():
    torch.manual_seed(0)
    logits = torch.randn(3, 2, 5, 4, dtype=torch.float64, requires_grad=True)
    masks = (torch.rand(3, 5, 4) > 0.6).long()
    loss = soft_dice_loss(logits, masks, smooth=0.5)
    p = logits.softmax(1)[:, 1].flatten(1)
    g = masks.flatten(1).double()
    expected = 1 - (2 * (p * g).sum(1) + 0.5) / ((p * p).sum(1) + g.sum(1) + 0.5)
    torch.testing.assert_close(loss, expected.mean())
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


@pytest.mark.parametrize("logits,target,smooth,exc,match", [
    (torch.zeros(2, 2, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long), 1.0, TypeError,
     "logits must be a floating-point tensor"),
    (torch.zeros(2, 2, 4), torch.zeros(2, 4), 1.0, TypeError,
     "target must be a bool or integer mask"),
    (torch.zeros(2, 2, 4), torch.zeros(2, 5, dtype=torch.long), 1.0, ValueError, "must agree"),
    (torch.zeros(2, 4), torch.zeros(2, dtype=torch.long), 1.0, ValueError, "must agree"),
    (torch.zeros(2, 2, 4), torch.zeros(2, 4, dtype=torch.long), -1.0, ValueError,
     "smooth must be a finite number ≥ 0"),
])
def test_soft_dice_loss_refuses_bad_input(logits, target, smooth, exc, match):
    with pytest.raises(exc, match=match):
        soft_dice_loss(logits, target, smooth)


# ---- train_segmenter -----------------------------------------------------------------------------

def _run(norm="gn", seed=0, steps=30, batch_size=1, channels=2):
    x, masks = nl.data.volumes(4, size=8, seed=0)
    torch.manual_seed(seed)
    model = nl.models.unet3d(norm=norm, base=4, out_channels=channels, backend="torch")
    return model, train_segmenter(model, x, masks, steps, 1e-2, batch_size=batch_size, seed=seed)


@pytest.mark.parametrize("norm", ["none", "bn", "gn"])
def test_it_lowers_the_loss_one_volume_at_a_time(norm):
    model, losses = _run(norm)
    assert len(losses) == 30 and all(math.isfinite(v) for v in losses)
    assert sum(losses[-5:]) < 0.8 * sum(losses[:5]), losses
    assert model.training


def test_it_is_reproducible_and_takes_other_batch_sizes_and_one_logit():
    assert _run(seed=1, steps=5)[1] == _run(seed=1, steps=5)[1]
    assert _run(seed=1, steps=5)[1] != _run(seed=2, steps=5)[1]
    assert len(_run(steps=4, batch_size=2)[1]) == 4
    assert len(_run(steps=4, channels=1)[1]) == 4


def test_a_loss_that_is_not_finite_stops_the_run():
    x, masks = nl.data.volumes(2, size=8, seed=0)
    x[0, 0, 0, 0, 0] = math.nan
    model = nl.models.unet3d(norm="none", base=2, backend="torch")
    losses = train_segmenter(model, x[:1], masks[:1], 10, 1e-3)
    assert len(losses) == 1 and math.isnan(losses[0])


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(model="unet"), TypeError, "model must be a torch.nn.Module"),
    (dict(x=torch.zeros(2, 8, 8, dtype=torch.long)), TypeError, "x must be a floating-point batch"),
    (dict(masks=torch.zeros(2, 8, 8, 4, dtype=torch.long)), ValueError, "masks must be a tensor"),
    (dict(steps=0), ValueError, "steps must be an int ≥ 1"),
    (dict(lr=-1.0), ValueError, "lr must be a positive finite number"),
    (dict(batch_size=3), ValueError, "batch_size must be an int between 1 and n=2"),
])
def test_train_segmenter_refuses_bad_arguments(kwargs, exc, match):
    x, masks = nl.data.volumes(2, size=8, seed=0)
    args = dict(model=nn.Conv3d(1, 2, 1), x=x, masks=masks, steps=2, lr=1e-3)
    with pytest.raises(exc, match=match):
        train_segmenter(**{**args, **kwargs})
