"""Look inside a network: the outputs of its layers, without disturbing it."""

import torch
from torch import nn


def _batch_norms(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            or type(m).__name__ in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")]


def layer_outputs(model, x, kind=nn.Linear):
    """The outputs of every submodule of type ``kind`` (a class or tuple of classes), in order,
    when ``model`` processes ``x``.

    Runs without gradients and in the model's current mode; batch-norm running statistics and
    ``num_batches_tracked`` are restored afterwards, so looking does not change the model.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"layer_outputs: model must be a torch.nn.Module, "
                        f"got {type(model).__name__}")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not kinds or not all(isinstance(k, type) for k in kinds):
        raise TypeError(f"layer_outputs: kind must be a module class such as nn.Linear, or a tuple "
                        f"of them, got {kind!r}")
    modules = [m for m in model.modules() if isinstance(m, kind)]
    if not modules:
        raise ValueError(f"layer_outputs: the model has no submodule of type kind={kind}")
    outputs = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: outputs.append(out.detach()))
             for m in modules]
    saved = [{k: v.clone() for k, v in bn.state_dict().items()} for bn in _batch_norms(model)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        for bn, state in zip(_batch_norms(model), saved):
            bn.load_state_dict(state)
    return outputs
