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
