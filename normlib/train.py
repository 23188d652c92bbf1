"""Small, honest training loops: classifiers (SGD, mini-batches, periodic test accuracy) and
segmenters (Adam, cross-entropy plus a soft Dice loss), and the Dice score for segmentation."""

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .data import minibatches


@dataclass
class History:
    """What a run measured: test accuracy every ``eval_every`` steps, and whether it diverged."""
    steps: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    diverged_at: int | None = None     # first step whose loss was not finite

    @property
    def diverged(self):
        return self.diverged_at is not None

    def final_accuracy(self, last=5):
        """Mean test accuracy of the last ``last`` evaluations (NaN if the run diverged)."""
        if self.diverged or not self.test_acc:
            return math.nan
        tail = self.test_acc[-last:]
        return sum(tail) / len(tail)

    def steps_to_reach(self, target, window=3):
        """First step at which the mean of the last ``window`` evaluations reaches ``target``.

        The moving average keeps one lucky evaluation from counting.  None if never reached.
        """
        for i in range(len(self.test_acc)):
            recent = self.test_acc[max(0, i - window + 1):i + 1]
            if sum(recent) / len(recent) >= target:
                return self.steps[i]
        return None


def _check_positive_int(value, name, who, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{who}: {name} must be an int ≥ {minimum}, got {value!r}")


def _check_lr(lr, who):
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"{who}: lr must be a positive finite number, got {lr!r}")


def _check_model(model, who):
    if not isinstance(model, nn.Module):
        raise TypeError(f"{who}: model must be a torch.nn.Module, got {type(model).__name__}")


def _check_examples(X, y, who):
    """``X``: a batch of inputs; ``y``: one integer class label per input."""
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{who}: X and y must be tensors, "
                        f"got {type(X).__name__} and {type(y).__name__}")
    if X.dim() == 0 or len(X) == 0:
        raise ValueError(f"{who}: X must hold at least one example, got shape {tuple(X.shape)}")
    if y.dim() != 1 or len(y) != len(X) or y.is_floating_point() or y.is_complex():
        raise ValueError(f"{who}: y must be a 1-D tensor of integer class labels, one per row of X "
                         f"({len(X)}), got {y.dtype} of shape {tuple(y.shape)}")


def evaluate(model, X, y):
    """Cross-entropy loss and accuracy on ``(X, y)``, in evaluation mode, without gradients.

    Returns ``(nan, nan)`` when the model's outputs are not finite (a diverged model).
    """
    _check_model(model, "evaluate")
    _check_examples(X, y, "evaluate")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(X)
    model.train(was_training)
    if not torch.isfinite(out).all():
        return math.nan, math.nan
    return nn.functional.cross_entropy(out, y).item(), (out.argmax(1) == y).float().mean().item()


def accuracy(model, X, y):
    """Fraction of correct predictions, in evaluation mode, without gradients (NaN if the model's
    outputs are not finite)."""
    return evaluate(model, X, y)[1]


def learning_rate(step, steps, lr, decay=True, warmup_steps=0):
    """The learning rate at ``step`` (1-based): a linear warmup from lr/warmup_steps to lr over the
    first ``warmup_steps`` steps, then (if ``decay``) a linear decay from the peak ``lr`` toward 0
    over the remaining ``steps - warmup_steps`` steps, so the rate never jumps.  Without warmup the
    decay runs over the whole run: ``lr`` at step 1, ``lr/steps`` at the last step."""
    _check_positive_int(steps, "steps", "learning_rate")
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= steps:
        raise ValueError(f"learning_rate: step must be an int from 1 to steps={steps}, got {step!r}")
    _check_lr(lr, "learning_rate")
    _check_positive_int(warmup_steps, "warmup_steps", "learning_rate", minimum=0)
    if step <= warmup_steps:
        return lr * step / warmup_steps
    return lr * (1 - (step - 1 - warmup_steps) / (steps - warmup_steps)) if decay else lr


def train_classifier(model, data, steps, lr, batch_size=64, momentum=0.9, eval_every=10,
                     seed=0, decay=True, callback=None, warmup_steps=0):
    """Train ``model`` on ``data`` (a :class:`normlib.data.Split`) with SGD and cross-entropy.

    The learning rate decays linearly from ``lr`` toward 0 over ``steps`` (over the steps after the
    warmup, if any) when ``decay`` is true.
    Mini-batches come from a generator seeded with ``seed``.  A run whose loss stops being finite
    is marked diverged and stopped: such a run never recovers.
    ``callback(step, model)``, if given, runs before training (step 0) and after every
    ``eval_every`` steps, e.g. to record layer statistics with :mod:`normlib.inspect`.
    ``warmup_steps`` > 0 adds a linear warmup (see :func:`learning_rate`).
    """
    _check_model(model, "train_classifier")
    if not all(hasattr(data, k) for k in ("X_train", "y_train", "X_test", "y_test")):
        raise TypeError("train_classifier: data must be a normlib.data.Split (X_train, y_train, "
                        f"X_test, y_test), got {type(data).__name__}")
    _check_examples(data.X_train, data.y_train, "train_classifier(data.X_train, data.y_train)")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    _check_lr(lr, "train_classifier")
    if callback is not None and not callable(callback):
        raise TypeError(f"train_classifier: callback must be callable or None, "
                        f"got {type(callback).__name__}")
    if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
        raise ValueError(f"eval_every must be a positive int, got {eval_every!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an int ≥ 0, got {warmup_steps!r}")
    batches = minibatches(len(data.X_train), batch_size, torch.Generator().manual_seed(seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    history = History()
    model.train()
    if callback is not None:
        callback(0, model)
    for step in range(1, steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, lr, decay, warmup_steps)
        idx = next(batches).to(data.X_train.device)
        loss = nn.functional.cross_entropy(model(data.X_train[idx]), data.y_train[idx])
        if not torch.isfinite(loss):
            history.diverged_at = step
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % eval_every == 0:
            history.steps.append(step)
            history.test_acc.append(accuracy(model, data.X_test, data.y_test))
            history.train_loss.append(loss.item())
            if callback is not None:
                callback(step, model)
    return history


# ---- segmentation (chapter 10) ------------------------------------------------------------------

def dice(pred, target):
    """The Dice score of each example in a batch of masks:

        Dice(P, T) = 2 · |P ∩ T| / (|P| + |T|)

    where P is the set of voxels (or pixels) the prediction marks as object and T the set the
    true mask marks.  1 is a perfect segmentation, 0 one that misses every object voxel; two
    empty masks score 1 (nothing to find, and nothing found).  Unlike the fraction of correct
    voxels, Dice ignores the background that both agree on, so a model that predicts "nothing"
    everywhere scores 0, not the background's share.

    ``pred`` and ``target``: bool or integer tensors of 0s and 1s, of the same shape (N, ...).
    Returns a float tensor of shape (N,), one score per example; average it for a batch.
    """
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, torch.Tensor) or t.is_floating_point() or t.is_complex():
            what = f"dtype {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(f"dice: {name} must be a bool or integer tensor of 0s and 1s (a mask), "
                            f"got {what}")
        if t.dim() < 1 or len(t) == 0:
            raise ValueError(f"dice: {name} must be a batch of masks (N, ...) with N ≥ 1, "
                             f"got shape {tuple(t.shape)}")
        if t.dtype != torch.bool and bool(((t != 0) & (t != 1)).any()):
            raise ValueError(f"dice: {name} must hold only 0s and 1s, got values such as "
                             f"{int(t[(t != 0) & (t != 1)][0])}")
    if pred.shape != target.shape:
        raise ValueError(f"dice: pred and target must have the same shape, "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")
    p, t = pred.reshape(len(pred), -1).bool(), target.reshape(len(target), -1).bool()
    both = (p & t).sum(1)
    total = p.sum(1) + t.sum(1)
    return torch.where(total == 0, 1.0, 2 * both / total.clamp(min=1))


def segment(model, x):
    """The masks ``model`` predicts for the volumes (or images) ``x``, in evaluation mode and
    without gradients: the most likely class of each voxel for 2 or more output channels, or
    logit > 0 (probability > 1/2) for one.  Returns a long tensor of shape (N, *spatial)."""
    _check_model(model, "segment")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"segment: x must be a tensor (N, C, *spatial), got {type(x).__name__}")
    if x.dim() < 3:
        raise ValueError(f"segment: x must be a batch (N, C, *spatial), got shape {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train(was_training)
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).long()
    return logits.argmax(1)


def _what(t):
    """A short description of an argument for an error message: a tensor's dtype and shape."""
    if isinstance(t, torch.Tensor):
        return f"{t.dtype} of shape {tuple(t.shape)}"
    return type(t).__name__


def soft_dice_loss(logits, target, smooth=1.0):
    """A differentiable stand-in for 1 − Dice, to train a segmenter (Milletari et al., 2016):

        loss = 1 − (2 · Σ p·g + s) / (Σ p² + Σ g + s)     for each example, then the mean

    where the sums run over the voxels, p is the predicted probability that a voxel is object (the
    softmax of class 1 for two or more channels, the sigmoid for one) and g is 1 on object voxels
    and 0 elsewhere (so Σ g² = Σ g).  With hard 0/1 predictions it is 1 − Dice, up to the
    smoothing s (``smooth``), which keeps an empty mask with an empty prediction at 0 loss and
    the gradient defined.  Unlike cross-entropy averaged over voxels, it is not dominated by the
    background: predicting "no object anywhere" costs (almost) the full loss of 1.

    ``logits``: (N, C, *spatial) with C ≥ 1; ``target``: (N, *spatial) of 0s and 1s (a mask).
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"soft_dice_loss: logits must be a floating-point tensor (N, C, ...), "
                        f"got {_what(logits)}")
    if not isinstance(target, torch.Tensor) or target.is_floating_point() or target.is_complex():
        raise TypeError(f"soft_dice_loss: target must be a bool or integer mask of 0s and 1s, "
                        f"got {_what(target)}")
    if logits.dim() < 3 or logits.shape[0] == 0 or logits.shape[1] == 0 \
            or target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f"soft_dice_loss: logits (N, C, *spatial) and target (N, *spatial) must "
                         f"agree, got shapes {tuple(logits.shape)} and {tuple(target.shape)}")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, float)) \
            or not 0 <= smooth < math.inf:
        raise ValueError(f"soft_dice_loss: smooth must be a finite number ≥ 0, got {smooth!r}")
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits[:, 0])
    else:
        p = torch.softmax(logits, dim=1)[:, 1]
    p, g = p.flatten(1), target.flatten(1).to(p.dtype)
    score = (2 * (p * g).sum(1) + smooth) / (p.square().sum(1) + g.sum(1) + smooth)
    return (1 - score).mean()


def train_segmenter(model, x, masks, steps, lr, batch_size=1, seed=0):
    """Train ``model`` to segment the volumes (or images) ``x`` (N, C, *spatial) into ``masks``
    (N, *spatial): Adam at learning rate ``lr`` for ``steps`` steps, each on ``batch_size``
    examples (one, by default, as when a volume fills the memory), drawn in a new random order
    every epoch from a generator seeded with ``seed``.  The loss is cross-entropy plus
    :func:`soft_dice_loss`: cross-entropy alone is dominated by the background and can settle on
    predicting no object at all.

    The model is left in training mode.  Returns the list of the training losses, one per step;
    a run whose loss stops being finite is stopped there (its last loss is not finite).
    """
    _check_model(model, "train_segmenter")
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() < 3:
        raise TypeError(f"train_segmenter: x must be a floating-point batch (N, C, *spatial), "
                        f"got {_what(x)}")
    if not isinstance(masks, torch.Tensor) or masks.shape != x.shape[:1] + x.shape[2:]:
        raise ValueError(f"train_segmenter: masks must be a tensor (N, *spatial) matching x "
                         f"{tuple(x.shape)}, got {_what(masks)}")
    _check_positive_int(steps, "steps", "train_segmenter")
    _check_lr(lr, "train_segmenter")
    batches = minibatches(len(x), batch_size, torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        idx = next(batches).to(x.device)
        logits, target = model(x[idx]), masks[idx]
        if logits.shape[1] == 1:   # one logit per voxel: binary cross-entropy
            ce = nn.functional.binary_cross_entropy_with_logits(logits[:, 0],
                                                                target.to(logits.dtype))
        else:
            ce = nn.functional.cross_entropy(logits, target)
        loss = ce + soft_dice_loss(logits, target)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses
