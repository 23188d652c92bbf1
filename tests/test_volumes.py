"""data.volumes (generated 3D segmentation volumes), train.dice and train.segment."""

import math

import pytest
import torch
from torch import nn

import normlib as nl
from normlib.data import volumes
from normlib.train import dice, segment


# ---- volumes -------------------------------------------------------------------------------------

def test_shapes_dtypes_and_masks():
    x, masks = volumes(3, size=(8, 12, 16), seed=0)
    assert x.shape == (3, 1, 8, 12, 16) and x.dtype == torch.float32
    assert masks.shape == (3, 8, 12, 16) and masks.dtype == torch.long
    assert set(masks.unique().tolist()) <= {0, 1}
    assert bool((masks.flatten(1).sum(1) > 0).all())          # every volume has an object
    assert volumes(1, size=8, dtype=torch.float64)[0].dtype == torch.float64


def test_the_same_seed_gives_the_same_volumes_and_a_prefix_is_a_smaller_set():
    x, masks = volumes(4, size=12, seed=7)
    x2, masks2 = volumes(4, size=12, seed=7)
    assert torch.equal(x, x2) and torch.equal(masks, masks2)
    x3, masks3 = volumes(2, size=12, seed=7)
    assert torch.equal(x3, x[:2]) and torch.equal(masks3, masks[:2])
    x4, _ = volumes(2, size=12, seed=8)
    assert not torch.equal(x4, x[:2])


def test_a_fixed_seed_gives_fixed_numbers():
    """Pinned, so that a change to the generator (which would change every chapter that uses it)
    cannot pass unnoticed.  Sums of float64 draws, rounded: the same on every machine."""
    x, masks = volumes(2, size=8, seed=0, dtype=torch.float64)
    assert masks.flatten(1).sum(1).tolist() == [53, 47]
    assert [round(v, 4) for v in x.flatten(1).mean(1).tolist()] == [-0.8495, -0.633]


def test_intensity_varies_from_volume_to_volume_as_documented():
    """Each volume has its own offset and gain: per-volume means and spreads differ widely, the
    property that makes batch norm's running statistics a poor fit for any one volume."""
    x, masks = volumes(32, size=12, seed=0)
    means, stds = x.flatten(1).mean(1), x.flatten(1).std(1)
    assert means.max() - means.min() > 2.0        # offsets uniform in [-2, 2]
    assert stds.max() / stds.min() > 4.0           # gains log-uniform in [1/4, 4]
    flat, _ = volumes(32, size=12, seed=0, offset=0.0, gain=1.0)
    assert flat.flatten(1).mean(1).abs().max() < 0.5


def test_clean_volumes_are_one_on_objects_half_on_decoys_zero_elsewhere():
    x, masks = volumes(6, size=16, seed=3, noise=0.0, offset=0.0, gain=1.0)
    values = set(x.unique().tolist())
    assert values <= {0.0, 0.5, 1.0} and 0.5 in values
    assert bool((x[:, 0][masks == 1] == 1.0).all())
    assert bool((x[:, 0][masks == 0] < 1.0).all())
    no_decoys, _ = volumes(6, size=16, seed=3, noise=0.0, offset=0.0, gain=1.0, decoys=0)
    assert set(no_decoys.unique().tolist()) == {0.0, 1.0}


def test_objects_and_radius_control_the_objects():
    _, big = volumes(8, size=16, seed=0, objects=3, radius=(0.3, 0.3))
    _, small = volumes(8, size=16, seed=0, objects=1, radius=(0.1, 0.1))
    assert big.float().mean() > 5 * small.float().mean()


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(n=0), ValueError, "n must be a positive int"),
    (dict(size=3), ValueError, r"size must be an int ≥ 4 or three of them"),
    (dict(size=(8, 8)), ValueError, "size must be"),
    (dict(seed=-1), ValueError, "seed must be a non-negative int"),
    (dict(objects=(2, 1)), ValueError, r"objects must be an int ≥ 1 or a pair \(low, high\)"),
    (dict(objects=0), ValueError, "objects must be"),
    (dict(radius=(0.3, 0.2)), ValueError, r"radius must be a pair \(smallest, largest\)"),
    (dict(radius=0.2), ValueError, "radius must be a pair"),
    (dict(decoys=-1), ValueError, "decoys must be"),
    (dict(noise=-0.1), ValueError, "noise must be a finite number ≥ 0"),
    (dict(gain=0.5), ValueError, "gain must be a finite number ≥ 1"),
    (dict(offset=math.inf), ValueError, "offset must be a finite number"),
    (dict(dtype=torch.long), TypeError, "dtype must be a floating-point torch.dtype"),
])
def test_bad_arguments_are_refused_clearly(kwargs, exc, match):
    args = {"n": 1, "size": 8, **kwargs}
    with pytest.raises(exc, match=match):
        volumes(**args)


# ---- dice ----------------------------------------------------------------------------------------

def test_dice_on_known_cases():
    pred = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                         [1, 1, 1, 0]])
    true = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0],
                         [0, 1, 1, 1]])
    expected = [1.0,          # identical
                0.0,          # disjoint
                2 * 1 / 4,    # one of three found, nothing wrong: 2·1/(1+3)
                1.0,          # both empty: nothing to find, nothing found
                0.0,          # an object missed entirely
                2 * 2 / 6]    # 2 shared, 3 + 3 marked
    torch.testing.assert_close(dice(pred, true), torch.tensor(expected))
    torch.testing.assert_close(dice(pred.bool(), true.bool()), torch.tensor(expected))


def test_dice_of_volumes_is_per_volume_and_symmetric():
    _, masks = volumes(3, size=8, seed=0)
    shifted = torch.roll(masks, 1, dims=1)
    scores = dice(shifted, masks)
    assert scores.shape == (3,)
    torch.testing.assert_close(scores, dice(masks, shifted))
    for i in range(3):   # the same as the formula on each volume alone
        both = (shifted[i] & masks[i]).sum().item()
        marked = (shifted[i].sum() + masks[i].sum()).item()
        assert scores[i].item() == pytest.approx(2 * both / marked)
    assert bool((dice(masks, masks) == 1).all())
    assert bool((dice(torch.zeros_like(masks), masks) == 0).all())


@pytest.mark.parametrize("pred,true,exc,match", [
    (torch.rand(2, 4), torch.ones(2, 4, dtype=torch.long), TypeError,
     "pred must be a bool or integer"),
    (torch.ones(2, 4, dtype=torch.long), [[1, 0]], TypeError, "target must be a bool or integer"),
    (torch.full((2, 4), 2), torch.ones(2, 4, dtype=torch.long), ValueError, "only 0s and 1s"),
    (torch.ones(2, 4, dtype=torch.long), torch.ones(2, 5, dtype=torch.long), ValueError,
     "same shape"),
    (torch.ones(0, 4, dtype=torch.long), torch.ones(0, 4, dtype=torch.long), ValueError, "N ≥ 1"),
])
def test_dice_refuses_what_is_not_a_pair_of_masks(pred, true, exc, match):
    with pytest.raises(exc, match=match):
        dice(pred, true)


# ---- segment -------------------------------------------------------------------------------------

class _Threshold(nn.Module):
    """Logits from the input itself: 'object' where the voxel is above 0.5."""

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.bn = nn.BatchNorm3d(1)   # to see that segment() runs in evaluation mode

    def forward(self, x):
        score = x - 0.5
        return score if self.channels == 1 else torch.cat([-score, score], dim=1)


@pytest.mark.parametrize("channels", [1, 2])
def test_segment_takes_the_likeliest_class_in_evaluation_mode(channels):
    x, masks = volumes(2, size=8, seed=1, noise=0.0, offset=0.0, gain=1.0, decoys=0)
    model = _Threshold(channels).train()
    pred = segment(model, x)
    assert model.training                           # restored
    assert pred.dtype == torch.long and torch.equal(pred, masks)
    assert bool((dice(pred, masks) == 1).all())


def test_segment_refuses_what_is_not_a_batch():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        segment(lambda x: x, torch.zeros(1, 1, 4, 4, 4))
    with pytest.raises(ValueError, match=r"x must be a batch \(N, C, \*spatial\)"):
        segment(nl.models.unet3d(base=2), torch.zeros(4, 4))
