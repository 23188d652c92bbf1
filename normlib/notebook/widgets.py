"""Interactive explorers (ipywidgets).  Each chapter shows a static figure beside them, so the
HTML page teaches without a kernel; in Jupyter or on Binder the sliders work live."""

import math

import torch

from .i18n import pick


def batch_statistics(values, batch_size, n_batches, generator):
    """Means and biased variances of ``n_batches`` mini-batches of ``values``, drawn the way
    training draws them: consecutive chunks of fresh random permutations (without replacement)."""
    n = len(values)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be an int between 1 and {n}, got {batch_size!r}")
    if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 1:
        raise ValueError(f"batch_statistics: n_batches must be a positive int, got {n_batches!r}")
    per_perm = n // batch_size
    perms = [torch.randperm(n, generator=generator) for _ in range(math.ceil(n_batches / per_perm))]
    idx = torch.stack(perms)[:, :per_perm * batch_size].reshape(-1, batch_size)[:n_batches]
    batches = values[idx]
    return batches.mean(1), batches.var(1, correction=0)


def batch_mean_explorer(values, batch_sizes=(2, 4, 8, 16, 32, 64, 128, 256), n_batches=2000, seed=0):
    """A slider over batch sizes; for each, a histogram of batch means against the population
    mean and the ±σ/√B band.  Returns the ipywidgets object (display it as a cell's last line)."""
    values = torch.as_tensor(values, dtype=torch.float64)
    if values.dim() != 1 or len(values) < 2:
        raise ValueError(f"batch_mean_explorer: values must be 1-D with at least 2 entries, "
                         f"got shape {tuple(values.shape)}")
    if not batch_sizes or not all(isinstance(b, int) and not isinstance(b, bool)
                                  and 1 <= b <= len(values) for b in batch_sizes):
        raise ValueError(f"batch_mean_explorer: batch_sizes must be ints between 1 and "
                         f"{len(values)}, got {batch_sizes!r}")
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    mu, sigma = values.mean().item(), values.std(correction=0).item()
    half_width = 4 * sigma / math.sqrt(min(batch_sizes))   # the spread at the smallest batch size
    lo, hi = mu - half_width, mu + half_width

    def show(batch_size):
        means, _ = batch_statistics(values, batch_size, n_batches, torch.Generator().manual_seed(seed))
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        ax.hist(means.numpy(), bins=60, range=(lo, hi), density=True, color="C0", alpha=0.7)
        ax.axvline(mu, color="k", lw=1)
        for sign in (-1, 1):
            ax.axvline(mu + sign * sigma / math.sqrt(batch_size), color="C3", ls="--", lw=1)
        ax.set_xlabel(pick("배치 평균", "batch mean"))
        ax.set_ylabel(pick("밀도", "density"))
        ax.set_title(pick(f"배치 크기 {batch_size}: 평균의 표준편차 {means.std().item():.3f}"
                          f" (이론 σ/√B = {sigma / math.sqrt(batch_size):.3f})",
                          f"batch size {batch_size}: std of the mean {means.std().item():.3f}"
                          f" (theory σ/√B = {sigma / math.sqrt(batch_size):.3f})"), fontsize=10)
        plt.show()

    slider = widgets.SelectionSlider(options=list(batch_sizes), value=batch_sizes[len(batch_sizes) // 2],
                                     description=pick("배치 크기", "batch size"),
                                     style={"description_width": "initial"})
    return widgets.interactive(show, batch_size=slider)


def running_average(values, momentum, start=0.0):
    """The running estimate a batch-norm layer keeps of a sequence of batch statistics.

    PyTorch's convention: ``new = (1 - momentum) * old + momentum * value``, starting from
    ``start`` (0 for a running mean, 1 for a running variance); ``momentum=None`` gives the
    cumulative (equal-weight) average of the values so far, which ignores ``start``.
    Returns a tensor of the estimate after each value.
    """
    values = torch.as_tensor(values, dtype=torch.float64)
    if values.dim() != 1 or len(values) < 1:
        raise ValueError(f"running_average: values must be 1-D and not empty, "
                         f"got shape {tuple(values.shape)}")
    if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, (int, float))
                                 or not 0 < momentum <= 1):
        raise ValueError(f"running_average: momentum must be in (0, 1] or None, got {momentum!r}")
    out, estimate = torch.empty_like(values), float(start)
    for k, value in enumerate(values.tolist(), start=1):
        weight = 1.0 / k if momentum is None else momentum
        estimate = (1 - weight) * estimate + weight * value
        out[k - 1] = estimate
    return out


def running_stats_explorer(batch_values, population=None,
                           momenta=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.9, None)):
    """A slider over batch-norm momenta; for each, the batch statistics a layer sees during
    training (dots), the running estimate it keeps (line) and, if given, the population value at
    each step.  Returns the ipywidgets object (display it as a cell's last line)."""
    batch_values = torch.as_tensor(batch_values, dtype=torch.float64)
    if batch_values.dim() != 1 or len(batch_values) < 2:
        raise ValueError(f"running_stats_explorer: batch_values must be 1-D with at least 2 "
                         f"entries, got shape {tuple(batch_values.shape)}")
    if population is not None:
        population = torch.as_tensor(population, dtype=torch.float64)
        if population.shape != batch_values.shape:
            raise ValueError(f"running_stats_explorer: population must have the shape of "
                             f"batch_values {tuple(batch_values.shape)}, got {tuple(population.shape)}")
    if not momenta or not all(m is None or (isinstance(m, (int, float)) and not isinstance(m, bool)
                                            and 0 < m <= 1) for m in momenta):
        raise ValueError(f"running_stats_explorer: momenta must be numbers in (0, 1] or None, "
                         f"got {momenta!r}")
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    steps = torch.arange(1, len(batch_values) + 1)
    lo, hi = batch_values.min().item(), batch_values.max().item()

    def show(momentum):
        estimate = running_average(batch_values, momentum)
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        ax.plot(steps, batch_values, ".", ms=2, color="0.6", label=pick("배치 평균", "batch mean"))
        if population is not None:
            ax.plot(steps, population, color="k", lw=1, label=pick("모집단 평균", "population mean"))
        ax.plot(steps, estimate, color="C3", lw=1.5, label=pick("러닝 평균", "running mean"))
        ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
        ax.set_xlabel(pick("학습 스텝", "training step"))
        ax.legend(fontsize=8, loc="lower right")
        name = pick("None (누적 평균)", "None (cumulative)") if momentum is None else f"{momentum:g}"
        title = pick(f"모멘텀 {name}", f"momentum {name}")
        if population is not None:
            title += pick(f": 마지막 스텝의 오차 {abs(estimate[-1] - population[-1]).item():.3f}",
                          f": error at the last step {abs(estimate[-1] - population[-1]).item():.3f}")
        ax.set_title(title, fontsize=10)
        plt.show()

    options = [(pick("None (누적)", "None (cumulative)") if m is None else f"{m:g}", m) for m in momenta]
    default = 0.1 if 0.1 in momenta else momenta[len(momenta) // 2]
    slider = widgets.SelectionSlider(options=options, value=default,
                                     description=pick("모멘텀", "momentum"),
                                     style={"description_width": "initial"})
    return widgets.interactive(show, momentum=slider)
