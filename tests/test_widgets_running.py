"""normlib.notebook.widgets.running_average and running_stats_explorer (chapter 4)."""

import pytest
import torch
from torch import nn

import normlib as nl


def test_running_average_is_batch_norms_running_mean():
    bn = nn.BatchNorm1d(1, momentum=0.1)
    means = []
    for _ in range(20):
        x = torch.randn(8, 1)
        bn(x)
        means.append(x.mean().item())
    estimate = nl.widgets.running_average(means, 0.1)
    assert len(estimate) == 20
    assert abs(estimate[-1].item() - bn.running_mean.item()) < 1e-6


def test_running_average_start_and_cumulative():
    values = torch.tensor([2.0, 4.0, 6.0])
    assert torch.allclose(nl.widgets.running_average(values, None), torch.tensor([2.0, 3.0, 4.0],
                                                                              dtype=torch.float64))
    with_start = nl.widgets.running_average(values, 0.5, start=1.0)
    assert torch.allclose(with_start, torch.tensor([1.5, 2.75, 4.375], dtype=torch.float64))


@pytest.mark.parametrize("momentum", [0, -0.1, 1.5, True, "0.1"])
def test_running_average_rejects_bad_momentum(momentum):
    with pytest.raises(ValueError, match="momentum"):
        nl.widgets.running_average([1.0, 2.0], momentum)


def test_running_average_rejects_bad_values():
    with pytest.raises(ValueError, match="values"):
        nl.widgets.running_average(torch.ones(2, 2), 0.1)


def test_running_stats_explorer_builds_and_checks_its_arguments():
    pytest.importorskip("ipywidgets")
    widget = nl.widgets.running_stats_explorer(torch.randn(30), torch.zeros(30))
    assert type(widget).__name__ == "interactive"
    with pytest.raises(ValueError, match="population"):
        nl.widgets.running_stats_explorer(torch.randn(30), torch.zeros(29))
    with pytest.raises(ValueError, match="momenta"):
        nl.widgets.running_stats_explorer(torch.randn(30), momenta=(0.1, 2.0))
