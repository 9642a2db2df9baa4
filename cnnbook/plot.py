"""The book's figures: image grids, weight matrices, training curves, bar charts, connectivity.

Every helper builds a new Matplotlib figure sized for a book page (at most 9 inches wide,
100 dpi), sets titles and axis labels, and returns the :class:`~matplotlib.figure.Figure`; the
caller shows it (``plt.show()`` in a notebook) or saves it. Importing this module registers
Noto Sans CJK (:func:`cnnbook.fonts.use_cjk_font`) as a fallback font, so figure text may carry
the Chinese terms of the glossary, e.g. "convolution (卷积)".
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from cnnbook.fonts import use_cjk_font

__all__ = [
    "PAGE_WIDTH",
    "DPI",
    "show_images",
    "plot_matrices",
    "plot_curves",
    "plot_curve_bands",
    "plot_bars",
    "plot_param_counts",
    "plot_connectivity",
    "plot_conv_windows",
    "plot_heatmaps",
    "show_images_to_scale",
    "plot_signal_response",
    "plot_kernel_gallery",
    "plot_loss_and_weights",
    "ConvSlide",
    "animate_conv",
    "animation_html",
    "conv_strip",
]

#: Width of a full-page figure, in inches.
PAGE_WIDTH = 9.0
#: Resolution of every figure (keeps notebooks small).
DPI = 100

use_cjk_font()


def _to_images(images) -> list[np.ndarray]:
    """A list of 2-D (grey) or (H, W, 3) (colour) arrays from many input layouts."""
    if isinstance(images, np.ndarray) or hasattr(images, "detach"):
        arr = np.asarray(images.detach().cpu().numpy() if hasattr(images, "detach") else images)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim == 4:                      # (N, C, H, W)
            if arr.shape[1] == 1:
                arr = arr[:, 0]
            elif arr.shape[1] == 3:
                arr = arr.transpose(0, 2, 3, 1)
            else:
                raise ValueError(f"images: expected 1 or 3 channels in (N, C, H, W), got shape {arr.shape}")
        if arr.ndim not in (3, 4):
            raise ValueError(f"images: expected shape (H, W), (N, H, W) or (N, C, H, W), got {arr.shape}")
        return list(arr)
    out = []
    for i, im in enumerate(images):
        im = np.asarray(im)
        if im.ndim == 3 and im.shape[0] in (1, 3) and im.shape[-1] not in (1, 3):
            im = im[0] if im.shape[0] == 1 else im.transpose(1, 2, 0)
        if im.ndim == 3 and im.shape[-1] == 1:
            im = im[..., 0]
        if im.ndim not in (2, 3):
            raise ValueError(f"images[{i}]: expected a 2-D or (H, W, 3) image, got shape {im.shape}")
        out.append(im)
    return out


def _grid(n: int, ncols: int, cell: float, extra_height: float = 0.0, row_padding: float = 0.0):
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    width = min(PAGE_WIDTH, cell * ncols)
    height = (width / ncols + row_padding) * nrows + extra_height
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, squeeze=False)
    return fig, axes.ravel()


def show_images(images, titles: Sequence[str] | None = None, *, ncols: int = 8, cmap: str = "gray",
                vmin: float | None = 0.0, vmax: float | None = 1.0, suptitle: str | None = None,
                boxes: Sequence | None = None, cell: float = 1.2):
    """A grid of images without axis ticks, one title per image.

    Parameters
    ----------
    images : ndarray, shape (N, H, W), (N, 1, H, W), (N, 3, H, W) or (H, W); or a list of images
    titles : sequence of str, optional
        One per image.
    ncols : int, default 8
        Images per row.
    cmap : str, default "gray"
        Colour map for single-channel images.
    vmin, vmax : float or None, default 0 and 1
        Grey-level range; ``None`` scales each image to its own range.
    suptitle : str, optional
        Title above the whole grid.
    boxes : sequence, optional
        One entry per image, ``None`` or ``(row, col, height, width)``: a red rectangle drawn
        around that region (e.g. where a pattern is).
    cell : float, default 1.2
        Size of one image in inches (the figure is capped at the page width).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Exactly ``N`` axes.
    """
    ims = _to_images(images)
    n = len(ims)
    if n == 0:
        raise ValueError("images: nothing to show")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles: expected {n} titles (one per image), got {len(titles)}")
    if boxes is not None and len(boxes) != n:
        raise ValueError(f"boxes: expected {n} entries (one per image), got {len(boxes)}")
    fig, axes = _grid(n, ncols, cell, extra_height=0.3 if suptitle else 0.0,
                      row_padding=0.3 if titles is not None else 0.0)
    for i, ax in enumerate(axes):
        if i >= n:
            fig.delaxes(ax)
            continue
        ax.imshow(ims[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
        if boxes is not None and boxes[i] is not None:
            r, c, h, w = boxes[i]
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor="red", linewidth=1.5))
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_matrices(matrices, titles: Sequence[str], *, xlabel: str = "input index",
                  ylabel: str = "output index", suptitle: str | None = None, cmap: str = "RdBu_r"):
    """Heat maps of 2-D arrays side by side, zero drawn white, one shared symmetric colour scale.

    Good for weight matrices: the sparsity of a locally connected layer and the repeated
    diagonals of a convolution are visible at a glance.

    Parameters
    ----------
    matrices : sequence of ndarray, each of shape (M, N)
        With ``sharey``, all of them should have the same number of rows ``M``.
    titles : sequence of str
        One per matrix.
    xlabel, ylabel : str
        Axis labels: ``xlabel`` under every panel, ``ylabel`` on the first (the y axis is shared).
    suptitle : str, optional
    cmap : str, default "RdBu_r"
        A diverging colour map.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per matrix plus one colour bar.
    """
    mats = [np.asarray(m, dtype=np.float64) for m in matrices]
    if not mats or any(m.ndim != 2 for m in mats):
        raise ValueError(f"matrices: expected a non-empty sequence of 2-D arrays, got shapes "
                         f"{[m.shape for m in mats]}")
    if len(titles) != len(mats):
        raise ValueError(f"titles: expected {len(mats)} titles, got {len(titles)}")
    limit = max(float(np.max(np.abs(m))) for m in mats) or 1.0
    n = len(mats)
    fig, axes = plt.subplots(1, n, figsize=(min(PAGE_WIDTH, 3.2 * n), 3.2), dpi=DPI, squeeze=False,
                             sharey=True)
    for ax, m, title in zip(axes[0], mats, titles):
        image = ax.imshow(m, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest", aspect="auto")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel(ylabel)
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="weight")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


_LABELS = {
    "train_acc": "training accuracy", "test_acc": "test accuracy", "val_acc": "validation accuracy",
    "train_loss": "training loss", "test_loss": "test loss", "val_loss": "validation loss",
    "loss": "loss", "acc": "accuracy",
}


def plot_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], *, keys: Sequence[str] | None = None,
                xlabel: str = "epoch", ylabels: Mapping[str, str] | None = None, title: str | None = None,
                styles: Mapping[str, Mapping] | None = None, x_start: int = 1):
    """Training curves: one panel per metric, one line per run.

    Parameters
    ----------
    histories : mapping run name -> mapping metric -> sequence of floats
        E.g. ``{"MLP": {"train_acc": [...], "test_acc": [...]}, "CNN": {...}}``.
    keys : sequence of str, optional
        Which metrics to plot, one panel each (default: the per-epoch metrics of the first
        run, that is every key but ``"step_loss"``).
    xlabel : str, default "epoch"
    ylabels : mapping metric -> str, optional
        Panel titles and y labels; defaults spell out e.g. ``"test_acc"`` as "test accuracy".
    title : str, optional
        Title above all panels.
    styles : mapping run name -> keyword arguments for ``Axes.plot``, optional
        E.g. ``{"MLP, shuffled": {"linestyle": "--"}}``.
    x_start : int, default 1
        x value of the first point (epochs count from 1).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per metric.
    """
    if not histories:
        raise ValueError("histories: expected at least one run")
    if keys is None:
        # per-epoch metrics only: a history's "step_loss" has one entry per step
        keys = [k for k in next(iter(histories.values())) if k != "step_loss"]
    if not keys:
        raise ValueError("keys: nothing to plot")
    names = {**_LABELS, **(ylabels or {})}
    n = len(keys)
    fig, axes = plt.subplots(1, n, figsize=(min(PAGE_WIDTH, max(6.0, 4.2 * n)), 3.2), dpi=DPI, squeeze=False)
    for ax, key in zip(axes[0], keys):
        for run, history in histories.items():
            if key not in history:
                raise ValueError(f"histories[{run!r}]: no metric {key!r} (has {sorted(history)})")
            values = np.asarray(history[key], dtype=np.float64)
            ax.plot(np.arange(x_start, x_start + len(values)), values, label=run,
                    **((styles or {}).get(run, {})))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(names.get(key, key))
        ax.set_title(names.get(key, key))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curve_bands(runs: Mapping[str, Sequence[Mapping[str, Sequence[float]]]], *, key: str = "test_acc",
                     xlabel: str = "epoch", ylabel: str | None = None, title: str | None = None,
                     styles: Mapping[str, Mapping] | None = None, x_start: int = 1):
    """One metric over several seeds: the mean as a line, the range (min to max) as a band.

    Parameters
    ----------
    runs : mapping run name -> sequence of histories, one per seed
        Each history maps metric names to sequences of floats, e.g. the dicts returned by
        ``cnnbook.train.fit``; every seed of a run must have the same number of values.
    key : str, default "test_acc"
        The metric to draw.
    xlabel : str, default "epoch"
    ylabel : str, optional
        Default: the metric spelled out, e.g. "test accuracy".
    title : str, optional
    styles : mapping run name -> keyword arguments for ``Axes.plot``, optional
        The band takes the line's colour.
    x_start : int, default 1
        x value of the first point (epochs count from 1).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with one line and one shaded band per run.
    """
    if not runs:
        raise ValueError("runs: expected at least one run")
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=DPI)
    for name, histories in runs.items():
        if not histories:
            raise ValueError(f"runs[{name!r}]: expected at least one history (one per seed)")
        missing = [i for i, h in enumerate(histories) if key not in h]
        if missing:
            raise ValueError(f"runs[{name!r}]: history {missing[0]} has no metric {key!r}")
        lengths = {len(h[key]) for h in histories}
        if len(lengths) != 1:
            raise ValueError(f"runs[{name!r}]: the seeds have different numbers of values {sorted(lengths)}")
        values = np.array([np.asarray(h[key], dtype=np.float64) for h in histories])
        xs = np.arange(x_start, x_start + values.shape[1])
        line, = ax.plot(xs, values.mean(axis=0), label=f"{name} (mean of {len(values)})",
                        **((styles or {}).get(name, {})))
        ax.fill_between(xs, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2,
                        linewidth=0)
    label = ylabel or _LABELS.get(key, key)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label)
    ax.set_title(title or f"{label}: mean and range over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_bars(values: Mapping, *, ylabel: str, title: str, log: bool = False, fmt: str = "{:.3g}",
              ylim: tuple[float, float] | None = None):
    """A bar chart, optionally grouped, with each bar's value written on top.

    Parameters
    ----------
    values : mapping label -> number, or mapping group -> mapping series -> number
        The second form draws one group of bars per key, one colour per series
        (e.g. ``{"MLP": {"original": 0.95, "shuffled": 0.95}, "CNN": {...}}``).
    ylabel, title : str
    log : bool, default False
        Logarithmic y axis (for counts spanning many orders of magnitude).
    fmt : str, default "{:.3g}"
        Format of the numbers written on the bars.
    ylim : (low, high), optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes.
    """
    if not values:
        raise ValueError("values: expected at least one bar")
    grouped = all(isinstance(v, Mapping) for v in values.values())
    groups = list(values)
    series = list(next(iter(values.values()))) if grouped else [None]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH, 1.6 + 1.3 * len(groups) * max(1, len(series) * 0.7)), 3.4),
                           dpi=DPI)
    for s, name in enumerate(series):
        heights = [float(values[g][name]) if grouped else float(values[g]) for g in groups]
        xs = np.arange(len(groups)) + (s - (len(series) - 1) / 2) * width
        bars = ax.bar(xs, heights, width=width * 0.95, label=name if grouped else None)
        for bar, h in zip(bars, heights):
            ax.annotate(fmt.format(h), (bar.get_x() + bar.get_width() / 2, h), ha="center", va="bottom",
                        fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(np.arange(len(groups)), [str(g) for g in groups])
    if log:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif log:
        flat = [float(v) for g in groups for v in (values[g].values() if grouped else [values[g]])]
        ax.set_ylim(min(flat) / 10, max(flat) * 30)
    else:
        ax.margins(y=0.15)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if grouped:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_param_counts(counts: Mapping[str, float], *, title: str = "Number of weights",
                      ylabel: str = "weights (log scale)"):
    """Bar chart of parameter counts on a logarithmic axis, each bar labelled as a power of ten.

    Parameters
    ----------
    counts : mapping layer name -> number of weights
    title, ylabel : str

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with a log-scaled y axis.
    """
    if any(float(v) <= 0 for v in counts.values()):
        raise ValueError(f"counts: every count must be positive for a log axis, got {dict(counts)}")
    fig = plot_bars(counts, ylabel=ylabel, title=title, log=True, fmt="{:.2g}")
    ax = fig.axes[0]
    for text, value in zip(ax.texts, counts.values()):
        exponent = np.log10(float(value))
        if float(exponent).is_integer():
            text.set_text(f"$10^{{{int(exponent)}}}$")
    return fig


def plot_connectivity(n_in: int = 9, kernel_size: int = 3, *, title: str | None = None):
    """How a dense layer, a locally connected layer and a convolution wire inputs to outputs.

    One-dimensional picture, three panels: inputs along the bottom, outputs (valid positions,
    ``n_in - kernel_size + 1`` of them) along the top, one line per weight. Lines of the same
    colour share one weight: every line has its own colour in the dense and locally connected
    panels, while the convolution reuses ``kernel_size`` colours everywhere.

    Parameters
    ----------
    n_in : int, default 9
        Number of input units.
    kernel_size : int, default 3
        Width of the local receptive field.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        Three axes, titled with the layer type and its number of weights.
    """
    if not (isinstance(n_in, int) and isinstance(kernel_size, int) and 1 <= kernel_size <= n_in):
        raise ValueError(f"n_in, kernel_size: expected integers with 1 <= kernel_size <= n_in, "
                         f"got n_in={n_in!r}, kernel_size={kernel_size!r}")
    n_out = n_in - kernel_size + 1
    x_in = np.arange(n_in, dtype=float)
    x_out = np.arange(n_out) + (kernel_size - 1) / 2
    cmap = plt.get_cmap("tab10")
    panels = [
        ("dense (全连接)", [(i, k) for i in range(n_out) for k in range(n_in)], n_out * n_in),
        ("locally connected (局部连接)", [(i, i + a) for i in range(n_out) for a in range(kernel_size)],
         n_out * kernel_size),
        ("convolution (卷积)", [(i, i + a) for i in range(n_out) for a in range(kernel_size)], kernel_size),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(PAGE_WIDTH, 2.8), dpi=DPI)
    rng = np.random.default_rng(0)
    for ax, (name, edges, n_weights) in zip(axes, panels):
        for e, (i, k) in enumerate(edges):
            if name.startswith("convolution"):
                colour = cmap((k - i) % 10)
            else:
                colour = plt.get_cmap("hsv")(rng.random())
            ax.plot([x_in[k], x_out[i]], [0, 1], color=colour, linewidth=1.2, alpha=0.8)
        ax.scatter(x_in, np.zeros(n_in), s=60, color="0.3", zorder=3)
        ax.scatter(x_out, np.ones(n_out), s=60, color="0.3", zorder=3)
        ax.set_title(f"{name}\n{n_weights} weights", fontsize=10)
        ax.set_yticks([0, 1], ["input x", "output h"])
        ax.set_xticks([])
        ax.set_xlabel("position")
        ax.set_ylim(-0.2, 1.2)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# =============================================================================================
# Channels (chapter 4): small arrays with their numbers, weight tensors, cost against work
# =============================================================================================

__all__ += ["show_arrays", "plot_weight_grid", "plot_time_vs_work"]


def show_arrays(arrays, titles: Sequence[str], *, between: Sequence[str] | None = None,
                highlight: Sequence | None = None, fmt: str = "{:g}", cmap: str = "Blues",
                suptitle: str | None = None, cell: float = 0.42):
    """Small 2-D arrays drawn as tables of their numbers, side by side (a worked example).

    Parameters
    ----------
    arrays : sequence of array_like, each of shape (h, w)
        Small arrays (a few rows and columns): every entry is written in its cell.
    titles : sequence of str
        One per array.
    between : sequence of str, optional
        ``len(arrays) - 1`` symbols written between consecutive arrays, e.g. ``"⋆"``, ``"+"``,
        ``"="`` (an empty string leaves a plain gap).
    highlight : sequence, optional
        One entry per array, ``None`` or ``(row, col, height, width)``: a red frame around that
        block (the window a kernel covers, the output it produces).
    fmt : str, default "{:g}"
        Format of the numbers.
    cmap : str, default "Blues"
        Colour map of the cell backgrounds (each array scaled to its own range).
    suptitle : str, optional
    cell : float, default 0.42
        Size of one table cell in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per array, titled, without ticks.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if not arrays or any(a.ndim != 2 for a in arrays):
        raise ValueError(f"arrays: expected a non-empty sequence of 2-D arrays, got shapes "
                         f"{[a.shape for a in arrays]}")
    n = len(arrays)
    if len(titles) != n:
        raise ValueError(f"titles: expected {n} titles (one per array), got {len(titles)}")
    if between is not None and len(between) != n - 1:
        raise ValueError(f"between: expected {n - 1} symbols (one between two arrays), got {len(between)}")
    if highlight is not None and len(highlight) != n:
        raise ValueError(f"highlight: expected {n} entries (one per array), got {len(highlight)}")
    widths = [a.shape[1] for a in arrays]
    rows = max(a.shape[0] for a in arrays)
    gap = 0.9                                    # room for the symbol between two arrays, in cells
    total = sum(widths) + gap * (n - 1)
    scale = min(cell, PAGE_WIDTH / (total + 0.5))
    fig = plt.figure(figsize=(scale * (total + 0.5), scale * (rows + 1.1) + (0.35 if suptitle else 0)),
                     dpi=DPI)
    left = 0.25 * scale
    fig_w, fig_h = fig.get_size_inches()
    for i, (a, title) in enumerate(zip(arrays, titles)):
        h, w = a.shape
        ax = fig.add_axes([left / fig_w, (0.3 * scale) / fig_h, w * scale / fig_w, h * scale / fig_h])
        low, high = float(a.min()), float(a.max())
        ax.imshow(a, cmap=cmap, vmin=low - 0.25 * (high - low + 1e-12), vmax=high + 0.6 * (high - low + 1e-12),
                  interpolation="nearest")
        for r in range(h):
            for c in range(w):
                ax.text(c, r, fmt.format(a[r, c]), ha="center", va="center", fontsize=9)
        ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(title, fontsize=9)
        if highlight is not None and highlight[i] is not None:
            r, c, hh, ww = highlight[i]
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), ww, hh, fill=False, edgecolor="red", linewidth=2))
        left += w * scale
        if between is not None and i < n - 1:
            fig.text((left + gap * scale / 2) / fig_w, (0.3 * scale + h * scale / 2) / fig_h, between[i],
                     ha="center", va="center", fontsize=18)
        left += gap * scale
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def plot_weight_grid(weight, *, in_names: Sequence[str] | None = None,
                     out_names: Sequence[str] | None = None, title: str | None = None,
                     cmap: str = "RdBu_r", cell: float = 0.9):
    """A convolution's weight, shape (C_out, C_in, kH, kW), as a grid of its kernels.

    Row ``o`` holds the ``C_in`` kernels that output channel ``o`` applies, one per input
    channel (the output channel is their sum); all kernels share one symmetric colour scale,
    zero drawn white.

    Parameters
    ----------
    weight : array_like or torch.Tensor, shape (C_out, C_in, kH, kW)
    in_names, out_names : sequence of str, optional
        Column labels (input channels, default "in 0", "in 1", ...) and row labels (output
        channels, default "out 0", ...).
    title : str, optional
    cmap : str, default "RdBu_r"
    cell : float, default 0.9
        Size of one kernel in inches (the figure is capped at the page width).

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``C_out * C_in`` axes plus one colour bar.
    """
    w = np.asarray(weight.detach().cpu().numpy() if hasattr(weight, "detach") else weight, dtype=np.float64)
    if w.ndim != 4 or 0 in w.shape:
        raise ValueError(f"weight: expected a non-empty 4-D array (C_out, C_in, kH, kW), got shape {w.shape}")
    C_out, C_in = w.shape[:2]
    in_names = list(in_names) if in_names is not None else [f"in {c}" for c in range(C_in)]
    out_names = list(out_names) if out_names is not None else [f"out {o}" for o in range(C_out)]
    if len(in_names) != C_in or len(out_names) != C_out:
        raise ValueError(f"in_names, out_names: expected {C_in} and {C_out} names, got "
                         f"{len(in_names)} and {len(out_names)}")
    size = min(cell, (PAGE_WIDTH - 2.2) / C_in)
    fig, axes = plt.subplots(C_out, C_in, figsize=(size * C_in + 2.2, size * C_out + (0.8 if title else 0.4)),
                             dpi=DPI, squeeze=False)
    limit = float(np.max(np.abs(w))) or 1.0
    for o in range(C_out):
        for c in range(C_in):
            ax = axes[o, c]
            image = ax.imshow(w[o, c], cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if o == 0:
                ax.set_title(in_names[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(out_names[o], fontsize=9, rotation=0, ha="right", va="center")
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_time_vs_work(work: Sequence[float], times: Mapping[str, Sequence[float]], *,
                      xlabel: str = "multiply-adds", ylabel: str = "time (s)",
                      title: str | None = None, labels: Sequence[str] | None = None):
    """Measured run times against the work each run does, on log-log axes.

    If time is proportional to work, the points of one implementation lie on a line of slope 1;
    a dotted line of slope 1 through each implementation's median time per unit of work shows
    where proportionality would put them, and the legend gives that median rate.

    Parameters
    ----------
    work : sequence of float
        The work of each configuration (e.g. multiply-adds), all positive.
    times : mapping implementation name -> sequence of float
        Seconds per run, one per configuration, all positive.
    xlabel, ylabel : str
    title : str, optional
    labels : sequence of str, optional
        One label per configuration, written next to the points of the first implementation.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with log-scaled x and y.
    """
    work = np.asarray(work, dtype=np.float64)
    if work.ndim != 1 or work.size == 0 or np.any(work <= 0):
        raise ValueError(f"work: expected a non-empty sequence of positive numbers, got {work}")
    if not times:
        raise ValueError("times: expected at least one implementation")
    if labels is not None and len(labels) != work.size:
        raise ValueError(f"labels: expected {work.size} labels, got {len(labels)}")
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=DPI)
    xs = np.array([work.min() / 1.5, work.max() * 1.5])
    for k, (name, t) in enumerate(times.items()):
        t = np.asarray(t, dtype=np.float64)
        if t.shape != work.shape or np.any(t <= 0):
            raise ValueError(f"times[{name!r}]: expected {work.size} positive times, got {t}")
        rate = float(np.median(t / work))
        points, = ax.plot(work, t, "o",
                          label=f"{name}: median {1 / rate / 1e9:.3g} billion {xlabel} per second")
        ax.plot(xs, rate * xs, ":", color=points.get_color(), linewidth=1)
        if k == 0 and labels is not None:
            # below and to the right of each point, where a rising trend leaves room; the
            # label of the largest run goes to the left, to stay inside the axes
            largest = int(np.argmax(work))
            for i, (x, y, text) in enumerate(zip(work, t, labels)):
                left = i == largest
                ax.annotate(text, (x, y), xytext=(-4 if left else 4, -10), textcoords="offset points",
                            fontsize=7, ha="right" if left else "left")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} against {xlabel} (dotted: proportional)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Chapter 3: padding, stride and receptive fields
# ---------------------------------------------------------------------------------------------


def _pads_pair(pads):
    """``((top, bottom), (left, right))`` from an int, a pair ``(ph, pw)`` or the full form."""
    if isinstance(pads, (int, np.integer)):
        return ((int(pads), int(pads)), (int(pads), int(pads)))
    (a, b) = pads
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return ((int(a), int(a)), (int(b), int(b)))
    return ((int(a[0]), int(a[1])), (int(b[0]), int(b[1])))


def plot_conv_windows(cases: Sequence[Mapping], *, suptitle: str | None = None, cell: float = 0.32):
    """Where a kernel's windows fall on a padded input, and which output each one makes.

    One panel per case: the padded input as a grid (input cells white, padding cells grey),
    a few windows outlined in colour, and to its right the output grid with each of those
    windows' output cell filled in the same colour.

    Parameters
    ----------
    cases : sequence of mappings, one per panel, with the keys
        ``x`` : 2-D array (its values are written in the cells) or a shape ``(H, W)``;
        ``kernel_size`` : int or ``(kH, kW)``;
        ``pads`` : int, ``(ph, pw)`` per side, or ``((top, bottom), (left, right))``; default 0;
        ``stride`` : int or ``(sH, sW)``; default 1;
        ``out`` : optional 2-D array of output values, written in the output cells;
        ``windows`` : optional list of output positions ``(i, j)`` to outline (default: every
        output if there are at most four, else the four corners);
        ``title`` : optional str.
    suptitle : str, optional
    cell : float, default 0.32
        Size of one grid cell in inches (the figure is capped at the page width). A larger
        cell also enlarges the text, in proportion, so that a figure of one small case can be
        drawn big and stay legible.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per case.
    """
    if not cases:
        raise ValueError("cases: expected at least one case")
    layouts = []
    for n, case in enumerate(cases):
        x = case.get("x")
        if x is None:
            raise ValueError(f"cases[{n}]: missing 'x' (an array or a shape (H, W))")
        values = None
        if isinstance(x, tuple) and len(x) == 2 and all(isinstance(v, (int, np.integer)) for v in x):
            H, W = int(x[0]), int(x[1])
        else:
            values = np.asarray(x, dtype=np.float64)
            if values.ndim != 2:
                raise ValueError(f"cases[{n}]: 'x' must be 2-D or a shape (H, W), got shape {values.shape}")
            H, W = values.shape
        k = case.get("kernel_size")
        kH, kW = (int(k), int(k)) if isinstance(k, (int, np.integer)) else (int(k[0]), int(k[1]))
        (top, bottom), (left, right) = _pads_pair(case.get("pads", 0))
        s = case.get("stride", 1)
        sH, sW = (int(s), int(s)) if isinstance(s, (int, np.integer)) else (int(s[0]), int(s[1]))
        Hp, Wp = H + top + bottom, W + left + right
        if kH > Hp or kW > Wp or min(kH, kW, sH, sW) < 1 or min(top, bottom, left, right) < 0:
            raise ValueError(f"cases[{n}]: the kernel {(kH, kW)} does not fit the padded input {(Hp, Wp)}")
        Ho, Wo = (Hp - kH) // sH + 1, (Wp - kW) // sW + 1
        out = case.get("out")
        if out is not None:
            out = np.asarray(out, dtype=np.float64)
            if out.shape != (Ho, Wo):
                raise ValueError(f"cases[{n}]: 'out' has shape {out.shape}, the output is {(Ho, Wo)}")
        windows = case.get("windows")
        if windows is None:
            windows = ([(i, j) for i in range(Ho) for j in range(Wo)] if Ho * Wo <= 4 else
                       list(dict.fromkeys([(0, 0), (0, Wo - 1), (Ho - 1, 0), (Ho - 1, Wo - 1)])))
        for i, j in windows:
            if not (0 <= i < Ho and 0 <= j < Wo):
                raise ValueError(f"cases[{n}]: window {(i, j)} is outside the {Ho} x {Wo} output")
        layouts.append(dict(values=values, H=H, W=W, k=(kH, kW), pads=((top, bottom), (left, right)),
                            s=(sH, sW), Hp=Hp, Wp=Wp, Ho=Ho, Wo=Wo, out=out, windows=list(windows),
                            title=case.get("title")))
    gap = 1.5
    for L in layouts:
        (t, b), (l, r) = L["pads"]
        L["label"] = [f"{L['H']}x{L['W']} input, {L['k'][0]}x{L['k'][1]} kernel, stride {L['s'][0]}x{L['s'][1]}",
                      f"pad top/bottom/left/right {t}/{b}/{l}/{r} → {L['Ho']}x{L['Wo']}"]
        if L["title"]:
            L["label"].insert(0, L["title"])
    grids = [L["Wp"] + gap + L["Wo"] for L in layouts]
    grow = max(1.0, cell / 0.32)                     # text grows with the requested cell
    texts = [0.058 * grow * max(len(line) for line in L["label"]) for L in layouts]  # inches
    rows = max(max(L["Hp"], L["Ho"]) for L in layouts)
    scale = cell
    while True:                                      # shrink the cells until the panels fit the page
        widths = [max(g, t / scale) for g, t in zip(grids, texts)]
        if scale * (sum(widths) + 0.6 * len(widths)) <= PAGE_WIDTH or scale < 0.12:
            break
        scale *= 0.95
    n_lines = max(len(L["label"]) for L in layouts)
    fig, axes = plt.subplots(1, len(layouts), figsize=(scale * (sum(widths) + 0.6 * len(widths)),
                                                       scale * rows + 0.25 + 0.16 * grow * n_lines + (0.3 if suptitle else 0)),
                             dpi=DPI, squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": widths})
    colours = plt.get_cmap("tab10")
    for ax, L, width in zip(axes[0], layouts, widths):
        (top, _), (left, _) = L["pads"]
        for r in range(L["Hp"]):
            for c in range(L["Wp"]):
                inside = top <= r < top + L["H"] and left <= c < left + L["W"]
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor="white" if inside else "0.85",
                                       edgecolor="0.5", linewidth=0.6))
                if L["values"] is not None or not inside:
                    text = _format_entry(L["values"][r - top, c - left], 1) if inside else "0"
                    if L["values"] is not None or not inside:
                        ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=7 * grow,
                                color="black" if inside else "0.45")
        x0 = L["Wp"] + gap
        y0 = (L["Hp"] - L["Ho"]) / 2
        for i in range(L["Ho"]):
            for j in range(L["Wo"]):
                ax.add_patch(Rectangle((x0 + j, y0 + i), 1, 1, facecolor="white", edgecolor="0.3",
                                       linewidth=0.8))
                if L["out"] is not None:
                    ax.text(x0 + j + 0.5, y0 + i + 0.5, _format_entry(L["out"][i, j], 1), ha="center",
                            va="center", fontsize=7 * grow, zorder=4)
        for w, (i, j) in enumerate(L["windows"]):
            colour = colours(w % 10)
            r0, c0 = i * L["s"][0], j * L["s"][1]
            inset = 0.06 * (w % 4)
            ax.add_patch(Rectangle((c0 + inset, r0 + inset), L["k"][1] - 2 * inset, L["k"][0] - 2 * inset,
                                   fill=False, edgecolor=colour, linewidth=2.0, zorder=3))
            ax.add_patch(Rectangle((x0 + j, y0 + i), 1, 1, facecolor=colour, alpha=0.45, zorder=2))
        ax.annotate("", xy=(x0 - 0.2, L["Hp"] / 2), xytext=(L["Wp"] + 0.2, L["Hp"] / 2),
                    arrowprops=dict(arrowstyle="->", color="0.3"))
        extra = (width - (x0 + L["Wo"])) / 2
        ax.set_xlim(-0.2 - extra, x0 + L["Wo"] + 0.2 + extra)
        ax.set_ylim(rows + 0.2, -0.2)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title("\n".join(L["label"]), fontsize=8 * grow)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def plot_heatmaps(arrays, titles: Sequence[str], *, boxes: Sequence | None = None, cbar_label: str = "value",
                  cmap: str = "viridis", annotate: bool = False, fmt: str = "{:g}", suptitle: str | None = None,
                  cell: float = 3.0):
    """Heat maps of 2-D arrays side by side, each with its own colour bar and optional box.

    Good for counts and gradients over an input: how often each pixel is used by a convolution,
    or which input pixels reach one output (its receptive field).

    Parameters
    ----------
    arrays : sequence of 2-D arrays
    titles : sequence of str, one per array
    boxes : sequence, optional
        One entry per array, ``None`` or ``(row, col, height, width)``: a red rectangle around
        those cells (e.g. a receptive field computed by formula).
    cbar_label : str, default "value"
        Label of every colour bar.
    cmap : str, default "viridis"
    annotate : bool, default False
        Write each value in its cell (for small arrays).
    fmt : str, default "{:g}"
        Format of the written values.
    suptitle : str, optional
    cell : float, default 3.0
        Width of one panel in inches (the figure is capped at the page width).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per array, each with a colour bar (so ``2 * len(arrays)`` axes in all).
    """
    mats = [np.asarray(a, dtype=np.float64) for a in arrays]
    if not mats or any(m.ndim != 2 for m in mats):
        raise ValueError(f"arrays: expected a non-empty sequence of 2-D arrays, got shapes {[m.shape for m in mats]}")
    if len(titles) != len(mats):
        raise ValueError(f"titles: expected {len(mats)} titles (one per array), got {len(titles)}")
    if boxes is not None and len(boxes) != len(mats):
        raise ValueError(f"boxes: expected {len(mats)} entries (one per array), got {len(boxes)}")
    n = len(mats)
    width = min(PAGE_WIDTH, cell * n)
    fig, axes = plt.subplots(1, n, figsize=(width, width / n * 0.95 + (0.3 if suptitle else 0.0)), dpi=DPI,
                             squeeze=False, layout="constrained")
    for k, (ax, m, title) in enumerate(zip(axes[0], mats, titles)):
        image = ax.imshow(m, cmap=cmap, interpolation="nearest")
        bar = fig.colorbar(image, ax=ax, shrink=0.8)
        bar.set_label(cbar_label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("column", fontsize=8)
        ax.set_ylabel("row", fontsize=8)
        ax.tick_params(labelsize=7)
        if annotate:
            middle = (np.nanmax(m) + np.nanmin(m)) / 2
            for (r, c), v in np.ndenumerate(m):
                ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=6,
                        color="black" if v > middle else "white")
        if boxes is not None and boxes[k] is not None:
            r, c, h, w = boxes[k]
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor="red", linewidth=1.5))
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def show_images_to_scale(rows, titles: Sequence[Sequence[str]] | None = None, *,
                         row_labels: Sequence[str] | None = None, suptitle: str | None = None,
                         cmap: str = "gray", vmin: float | None = 0.0, vmax: float | None = 1.0):
    """Rows of images drawn at their true relative size: a 4 x 4 map is an eighth of a 32 x 32 one.

    Parameters
    ----------
    rows : sequence of sequences of 2-D arrays
        One inner sequence per row of the figure.
    titles : sequence of sequences of str, optional
        One title per image, in the same nesting.
    row_labels : sequence of str, optional
        One label per row, written at its left.
    suptitle : str, optional
    cmap : str, default "gray"
    vmin, vmax : float or None, default 0 and 1
        Grey-level range; ``None`` scales each image to its own range.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per image.
    """
    rows = [[np.asarray(im, dtype=np.float64) for im in row] for row in rows]
    if not rows or any(not row for row in rows) or any(im.ndim != 2 for row in rows for im in row):
        raise ValueError("rows: expected a non-empty sequence of non-empty sequences of 2-D arrays")
    if titles is not None and [len(t) for t in titles] != [len(r) for r in rows]:
        raise ValueError("titles: expected one title per image, nested like rows")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"row_labels: expected {len(rows)} labels, got {len(row_labels)}")
    gap = 0.25                                           # inches between images
    margin = 1.0 if row_labels is not None else 0.2
    widest = max(sum(im.shape[1] for im in row) for row in rows)
    counts = max(len(row) for row in rows)
    scale = (PAGE_WIDTH - margin - 0.2 - gap * (counts - 1)) / widest   # inches per pixel
    title_h = 0.35 if titles is not None else 0.1
    heights = [max(im.shape[0] for im in row) * scale + title_h + 0.1 for row in rows]
    top_h = 0.4 if suptitle else 0.05
    fig_h = sum(heights) + top_h
    fig = plt.figure(figsize=(PAGE_WIDTH, fig_h), dpi=DPI)
    y = fig_h - top_h
    for r, row in enumerate(rows):
        y -= heights[r]
        x = margin
        base = y + 0.1
        for c, im in enumerate(row):
            w, h = im.shape[1] * scale, im.shape[0] * scale
            ax = fig.add_axes([x / PAGE_WIDTH, base / fig_h, w / PAGE_WIDTH, h / fig_h])
            ax.imshow(im, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if titles is not None:
                ax.set_title(titles[r][c], fontsize=8)
            x += w + gap
        if row_labels is not None:
            fig.text(0.05 / PAGE_WIDTH, (base + max(im.shape[0] for im in row) * scale / 2) / fig_h,
                     row_labels[r], fontsize=9, va="center", ha="left")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10, y=1 - 0.08 / fig_h)
    return fig


# =============================================================================================
# Chapter 2: convolution as a feature detector
# =============================================================================================
def _kernel_denominator(kernel: np.ndarray, largest: int = 64) -> int:
    """The smallest d <= largest such that d * kernel is an integer array (1 if there is none)."""
    for d in range(1, largest + 1):
        scaled = kernel * d
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-9):
            return d
    return 1


def _format_entry(value: float, decimals: int = 2) -> str:
    """An array entry as short text: integers without a decimal point, else ``decimals`` places."""
    value = float(value)
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.{decimals}f}"


def plot_signal_response(signal, responses: Mapping[str, Sequence[float]], *, kernel_size: int,
                         title: str | None = None, signal_label: str = "input x"):
    """A 1-D signal and the output of sliding a kernel over it, aligned by position.

    Output ``i`` of a valid sliding window is computed from inputs ``i .. i + kernel_size - 1``,
    so it is drawn at the centre of that window, ``i + (kernel_size - 1) / 2``: a peak sits
    between the two inputs where the signal jumps.

    Parameters
    ----------
    signal : sequence of float, length n
    responses : mapping label -> sequence of float, each of length ``n - kernel_size + 1``
        E.g. ``{"np.correlate(x, [-1, 1])": ..., "np.convolve(x, [-1, 1])": ...}``.
    kernel_size : int
    title : str, optional
    signal_label : str, default "input x"

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes (input above, outputs below) with a shared x axis.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"signal: expected a non-empty 1-D sequence, got shape {x.shape}")
    if not (isinstance(kernel_size, (int, np.integer)) and 1 <= kernel_size <= x.size):
        raise ValueError(f"kernel_size: expected an int from 1 to len(signal) = {x.size}, got {kernel_size!r}")
    if not responses:
        raise ValueError("responses: expected at least one output to draw")
    n_out = x.size - kernel_size + 1
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 4.0), dpi=DPI, sharex=True)
    positions = np.arange(x.size)
    top.plot(positions, x, "o-", color="0.3")
    top.set_ylabel(signal_label)
    top.set_title("input signal")
    centres = np.arange(n_out) + (kernel_size - 1) / 2
    markers = ["o", "s", "^", "D"]
    for k, (label, values) in enumerate(responses.items()):
        y = np.asarray(values, dtype=np.float64)
        if y.shape != (n_out,):
            raise ValueError(f"responses[{label!r}]: expected {n_out} values "
                             f"(len(signal) - kernel_size + 1), got shape {y.shape}")
        offset = (k - (len(responses) - 1) / 2) * 0.12
        bottom.vlines(centres + offset, 0, y, color=f"C{k}", linewidth=2)
        bottom.plot(centres + offset, y, markers[k % len(markers)], color=f"C{k}", label=label)
    bottom.axhline(0, color="0.6", linewidth=0.8)
    bottom.set_xlabel("position (an output is drawn at the centre of its window)")
    bottom.set_ylabel("output y")
    bottom.set_title("output of the sliding kernel")
    bottom.legend(fontsize=8)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.margins(y=0.15)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_kernel_gallery(kernels: Mapping[str, np.ndarray], maps: Sequence[np.ndarray], *,
                        suptitle: str | None = None, map_titles: Sequence[str] | None = None,
                        cell: float = 1.5, annotate: bool = True, clip: float = 1.0):
    """Kernels above the feature maps they produce, one column per kernel.

    Each kernel is drawn as a heat map (blue negative, red positive) with its entries written in;
    a kernel whose entries share a denominator (a blur's 1/9 or 1/16) shows the integers and
    "× 1/d" in its title. Each feature map is drawn in grey scaled to its own range, between its
    ``clip``-th and ``(100 - clip)``-th percentiles, so that a few extreme values do not wash out
    the rest (for a signed map, mid-grey is near 0).

    Parameters
    ----------
    kernels : mapping name -> ndarray of shape (kH, kW)
    maps : sequence of ndarray of shape (H', W'), one per kernel
    suptitle : str, optional
    map_titles : sequence of str, optional
        One per map, drawn under it (e.g. the range of its values).
    cell : float, default 1.5
        Width of one column in inches (capped so that the figure fits the page).
    annotate : bool, default True
        Write each kernel entry in its cell (turn off for large or learned kernels).
    clip : float, default 1.0
        Percentile (0 to 50) clipped at each end of a map's grey scale; 0 uses the full range.

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``2 * len(kernels)`` axes: the kernels first, then the maps.
    """
    if not 0 <= clip < 50:
        raise ValueError(f"clip: expected a percentile from 0 to 50, got {clip!r}")
    names = list(kernels)
    if not names:
        raise ValueError("kernels: expected at least one kernel")
    if len(maps) != len(names):
        raise ValueError(f"maps: expected {len(names)} feature maps (one per kernel), got {len(maps)}")
    if map_titles is not None and len(map_titles) != len(names):
        raise ValueError(f"map_titles: expected {len(names)} titles, got {len(map_titles)}")
    n = len(names)
    width = min(PAGE_WIDTH, cell * n)
    col = width / n
    fig, axes = plt.subplots(2, n, figsize=(width, col * 2 + 0.9), dpi=DPI, squeeze=False,
                             gridspec_kw={"height_ratios": [0.75, 1]})
    for k, name in enumerate(names):
        kernel = np.asarray(kernels[name], dtype=np.float64)
        if kernel.ndim != 2:
            raise ValueError(f"kernels[{name!r}]: expected a 2-D array, got shape {kernel.shape}")
        d = _kernel_denominator(kernel)
        shown = kernel * d
        limit = float(np.max(np.abs(shown))) or 1.0
        ax = axes[0, k]
        ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), v in np.ndenumerate(shown if annotate else np.empty((0, 0))):
            ax.text(j, i, _format_entry(v), ha="center", va="center", fontsize=8,
                    color="white" if abs(v) > 0.6 * limit else "black")
        ax.set_title(name + (f"\n× 1/{d}" if d > 1 else ""), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        feature = np.asarray(maps[k], dtype=np.float64)
        if feature.ndim != 2:
            raise ValueError(f"maps[{k}]: expected a 2-D feature map, got shape {feature.shape}")
        ax = axes[1, k]
        low, high = np.percentile(feature, [clip, 100 - clip])
        ax.imshow(feature, cmap="gray", interpolation="nearest", vmin=low, vmax=max(high, low + 1e-12))
        ax.set_xticks([])
        ax.set_yticks([])
        if map_titles is not None:
            ax.set_xlabel(map_titles[k], fontsize=8)
    axes[0, 0].set_ylabel("kernel", fontsize=9)
    axes[1, 0].set_ylabel("feature map", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_loss_and_weights(losses: Mapping[str, Sequence[float]], weights: Mapping[str, np.ndarray], *,
                          target: Sequence[float] | None = None, weight_names: Sequence[str] | None = None,
                          title: str | None = None, xlabel: str = "gradient-descent step"):
    """Training of a few weights: the loss (log scale) and every weight, step by step.

    Parameters
    ----------
    losses : mapping run name -> sequence of float, one loss per step
    weights : mapping run name -> array of shape (steps, n_weights)
        The weights after each step, e.g. a learned kernel flattened; the same run names as
        ``losses``. The first run is drawn solid, the others dashed on top of it.
    target : sequence of float, optional
        The values the weights should reach, drawn as dotted horizontal lines.
    weight_names : sequence of str, optional
        One label per weight (default "w[0]", "w[1]", ...).
    title : str, optional
    xlabel : str, default "gradient-descent step"

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes: the loss on a logarithmic axis, the weights on a linear one.
    """
    if not losses or set(losses) != set(weights):
        raise ValueError(f"losses, weights: expected the same non-empty run names, got "
                         f"{sorted(losses)} and {sorted(weights)}")
    tracks = {name: np.asarray(w, dtype=np.float64) for name, w in weights.items()}
    n_weights = {w.shape[1] if w.ndim == 2 else -1 for w in tracks.values()}
    if len(n_weights) != 1 or -1 in n_weights:
        raise ValueError(f"weights: expected 2-D arrays (steps, n_weights) with one n_weights, got "
                         f"shapes {[w.shape for w in tracks.values()]}")
    n = n_weights.pop()
    names = list(weight_names) if weight_names is not None else [f"w[{i}]" for i in range(n)]
    if len(names) != n:
        raise ValueError(f"weight_names: expected {n} names, got {len(names)}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.4), dpi=DPI)
    for r, (run, values) in enumerate(losses.items()):
        values = np.asarray(values, dtype=np.float64)
        style = {"linestyle": "-" if r == 0 else "--", "linewidth": 3 if r == 0 else 1.5,
                 "alpha": 0.5 if r == 0 else 1.0}
        left.plot(np.arange(1, len(values) + 1), values, label=run, color=f"C{r}", **style)
        track = tracks[run]
        for i in range(n):
            right.plot(np.arange(1, len(track) + 1), track[:, i], color=f"C{i + 2}", **style,
                       label=f"{names[i]} ({run})")
    left.set_yscale("log")
    left.set_xlabel(xlabel)
    left.set_ylabel("loss (log scale)")
    left.set_title("loss")
    if target is not None:
        target = np.asarray(target, dtype=np.float64).ravel()
        if target.shape != (n,):
            raise ValueError(f"target: expected {n} values, got shape {target.shape}")
        for i, value in enumerate(target):
            right.axhline(value, color="0.4", linestyle=":", linewidth=1)
        right.plot([], [], color="0.4", linestyle=":", label="target")
    right.set_xlabel(xlabel)
    right.set_ylabel("weight value")
    right.set_title("weights")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# =============================================================================================
# Pooling (chapter 5): pooling windows as intervals, annotated tables, curves over a shared x
# =============================================================================================

__all__ += ["plot_intervals", "plot_table", "plot_lines"]


def plot_intervals(rows: Mapping[str, Sequence[tuple[int, int]]], n: int, *, title: str | None = None,
                   xlabel: str = "input position"):
    """Half-open intervals ``[start, end)`` of positions ``0 .. n - 1``, one group of bars per row.

    Draws, for instance, the pooling windows that two rules place on an input of length ``n``:
    every window is a bar over the positions it covers, windows of one row are stacked so that
    overlaps stay visible, and positions no window covers are easy to spot.

    Parameters
    ----------
    rows : mapping label -> sequence of (start, end)
        Each interval must satisfy ``0 <= start < end <= n``.
    n : int
        Number of input positions (the x axis shows 0 .. n - 1).
    title : str, optional
    xlabel : str, default "input position"

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes, one y tick per row.
    """
    if not rows:
        raise ValueError("rows: expected at least one row of intervals")
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n: expected a positive int, got {n!r}")
    for label, intervals in rows.items():
        for start, end in intervals:
            if not 0 <= start < end <= n:
                raise ValueError(f"rows[{label!r}]: interval ({start}, {end}) is not inside [0, {n}) "
                                 f"with start < end")
    heights = [max(1, len(v)) for v in rows.values()]
    fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH, 2.5 + 0.45 * n), 0.6 + 0.28 * sum(heights) + 0.3 * len(rows)),
                           dpi=DPI)
    cmap = plt.get_cmap("tab10")
    y, ticks = 0.0, []
    for r, (label, intervals) in enumerate(rows.items()):
        top = y
        for j, (start, end) in enumerate(intervals):
            ax.barh(y, end - start, left=start - 0.5, height=0.7, color=cmap(j % 10), alpha=0.75,
                    edgecolor="black", linewidth=0.6)
            ax.text((start + end - 1) / 2, y, f"[{start}, {end})", ha="center", va="center", fontsize=8)
            y += 1
        y += 0 if intervals else 1
        ticks.append(((top + y - 1) / 2, f"{label}\n{len(intervals)} windows"))
        if r < len(rows) - 1:
            ax.axhline(y - 0.2, color="0.6", linewidth=0.8)
        y += 0.6
    ax.set_yticks([t for t, _ in ticks], [lab for _, lab in ticks], fontsize=9)
    ax.set_xticks(np.arange(n))
    ax.set_xlim(-0.7, n - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_table(values, *, xticklabels: Sequence, yticklabels: Sequence, xlabel: str, ylabel: str,
                 title: str, text=None, cmap: str = "RdYlGn_r", vmin: float | None = None,
                 vmax: float | None = None, colorbar_label: str | None = None):
    """An annotated table: a heat map of a 2-D array with a label written in every cell.

    Parameters
    ----------
    values : array_like, shape (R, C)
        The numbers that set each cell's colour (NaN cells are drawn grey).
    xticklabels, yticklabels : sequence
        C column labels and R row labels.
    xlabel, ylabel, title : str
    text : array_like of str, shape (R, C), optional
        What to write in each cell; default: the values, formatted with ``{:g}``.
    cmap : str, default "RdYlGn_r"
    vmin, vmax : float, optional
    colorbar_label : str, optional
        Adds a colour bar with this label.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes (two with the colour bar).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.size == 0:
        raise ValueError(f"values: expected a non-empty 2-D array, got shape {v.shape}")
    R, C = v.shape
    if len(xticklabels) != C or len(yticklabels) != R:
        raise ValueError(f"xticklabels, yticklabels: expected {C} and {R} labels, got "
                         f"{len(xticklabels)} and {len(yticklabels)}")
    if text is None:
        text = np.vectorize(lambda a: "" if np.isnan(a) else f"{a:g}")(v)
    text = np.asarray(text, dtype=object)
    if text.shape != v.shape:
        raise ValueError(f"text: expected shape {v.shape} (the shape of values), got {text.shape}")
    fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH, 1.6 + 0.42 * C), 1.0 + 0.32 * R), dpi=DPI)
    colormap = plt.get_cmap(cmap).with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(v), cmap=colormap, vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    for (r, c), label in np.ndenumerate(text):
        ax.text(c, r, str(label), ha="center", va="center", fontsize=8)
    ax.set_xticks(np.arange(C), [str(t) for t in xticklabels], fontsize=8)
    ax.set_yticks(np.arange(R), [str(t) for t in yticklabels], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if colorbar_label is not None:
        fig.colorbar(image, ax=ax, label=colorbar_label, shrink=0.9)
    fig.tight_layout()
    return fig


def plot_lines(x, ys: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str, title: str,
               styles: Mapping[str, Mapping] | None = None):
    """Several curves over one shared x axis, with a legend.

    Parameters
    ----------
    x : sequence of float, length L
    ys : mapping label -> sequence of L floats
    xlabel, ylabel, title : str
    styles : mapping label -> keyword arguments for ``Axes.plot``, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with one line per entry of ``ys``.
    """
    xs = np.asarray(x, dtype=np.float64)
    if not ys:
        raise ValueError("ys: expected at least one curve")
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=DPI)
    for label, y in ys.items():
        y = np.asarray(y, dtype=np.float64)
        if y.shape != xs.shape:
            raise ValueError(f"ys[{label!r}]: expected {xs.shape[0]} values (one per x), got shape {y.shape}")
        ax.plot(xs, y, label=label, **((styles or {}).get(label, {})))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# =============================================================================================
# Chapter 3: a kernel sliding over a padded input with a stride (an animation for the web book)
# =============================================================================================
class ConvSlide:
    """The frames of a kernel sliding over a padded input: one frame per output, in row order.

    Frame ``t`` outlines the window of output ``(i, j) = divmod(t, W_out)``, whose top-left
    corner sits at row ``i * s_h`` and column ``j * s_w`` of the padded input, and fills in the
    outputs ``0 .. t``. :func:`animate_conv` plays the frames, :func:`conv_strip` shows a few
    side by side (for print). ``windows[t]`` is ``(row, col)`` of frame ``t``'s window in the
    padded input, ``out`` the full output, ``xp`` the padded input.
    """

    def __init__(self, x, kernel, *, padding=0, stride=1):
        self.x = np.asarray(x, dtype=np.float64)
        self.kernel = np.asarray(kernel, dtype=np.float64)
        if self.x.ndim != 2 or self.kernel.ndim != 2:
            raise ValueError(f"x and kernel must be 2-D, got shapes {self.x.shape} and {self.kernel.shape}")
        (top, bottom), (left, right) = _pads_pair(padding)
        if min(top, bottom, left, right) < 0:
            raise ValueError(f"padding must be >= 0, got {padding!r}")
        s = stride
        self.stride = (int(s), int(s)) if isinstance(s, (int, np.integer)) else (int(s[0]), int(s[1]))
        if min(self.stride) < 1:
            raise ValueError(f"stride must be >= 1, got {stride!r}")
        self.pads = ((top, bottom), (left, right))
        self.xp = np.pad(self.x, self.pads)
        kH, kW = self.kernel.shape
        Hp, Wp = self.xp.shape
        if kH > Hp or kW > Wp:
            raise ValueError(f"the kernel {self.kernel.shape} does not fit the padded input {self.xp.shape}")
        sH, sW = self.stride
        self.out_shape = ((Hp - kH) // sH + 1, (Wp - kW) // sW + 1)
        self.windows = [(i * sH, j * sW) for i in range(self.out_shape[0]) for j in range(self.out_shape[1])]
        self.out = np.array([np.sum(self.xp[r:r + kH, c:c + kW] * self.kernel) for r, c in self.windows])
        self.out = self.out.reshape(self.out_shape)

    def __len__(self) -> int:
        return len(self.windows)

    def draw(self, ax, t: int, *, fontsize: float = 8.0) -> None:
        """Draw frame ``t`` on ``ax`` (cleared first): input, kernel window, partial output."""
        if not 0 <= t < len(self):
            raise IndexError(f"frame {t} of {len(self)}")
        ax.clear()
        (top, _), (left, _) = self.pads
        H, W = self.x.shape
        Hp, Wp = self.xp.shape
        kH, kW = self.kernel.shape
        Ho, Wo = self.out_shape
        r0, c0 = self.windows[t]
        for r in range(Hp):
            for c in range(Wp):
                inside = top <= r < top + H and left <= c < left + W
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor="white" if inside else "0.85",
                                       edgecolor="0.5", linewidth=0.6))
                ax.text(c + 0.5, r + 0.5, _format_entry(self.xp[r, c], 1), ha="center", va="center",
                        fontsize=fontsize, color="black" if inside else "0.45")
        ax.add_patch(Rectangle((c0, r0), kW, kH, facecolor="tab:orange", alpha=0.25, zorder=2))
        ax.add_patch(Rectangle((c0, r0), kW, kH, fill=False, edgecolor="tab:orange", linewidth=2.5,
                               zorder=3, gid="window"))
        x0, y0 = Wp + 1.5, (Hp - Ho) / 2
        for n, (i, j) in enumerate((i, j) for i in range(Ho) for j in range(Wo)):
            current = n == t
            ax.add_patch(Rectangle((x0 + j, y0 + i), 1, 1, edgecolor="0.3", linewidth=0.8,
                                   facecolor="tab:orange" if current else "white",
                                   alpha=0.45 if current else 1.0))
            if n <= t:
                ax.text(x0 + j + 0.5, y0 + i + 0.5, _format_entry(self.out[i, j], 1), ha="center",
                        va="center", fontsize=fontsize, zorder=4)
        ax.annotate("", xy=(x0 - 0.2, Hp / 2), xytext=(Wp + 0.2, Hp / 2),
                    arrowprops=dict(arrowstyle="->", color="0.3"))
        i, j = divmod(t, Wo)
        ax.set_title(f"output ({i}, {j}) ← window at ({r0}, {c0})", fontsize=fontsize + 1)
        ax.set_xlim(-0.2, x0 + Wo + 0.2)
        ax.set_ylim(Hp + 0.2, -0.2)
        ax.set_aspect("equal")
        ax.axis("off")


def _slide_size(slide: ConvSlide, cell: float) -> tuple[float, float]:
    Hp, Wp = slide.xp.shape
    return cell * (Wp + 1.5 + slide.out_shape[1] + 0.4), cell * (Hp + 0.4) + 0.35


def animate_conv(x, kernel, *, padding=0, stride=1, interval: int = 800, cell: float = 0.4,
                 dpi: int = 72, suptitle: str | None = None):
    """An animation of ``kernel`` sliding over ``x`` padded by ``padding`` with ``stride``.

    One frame per output, in row order (keep the output small: ``len(frames)`` is
    ``H_out * W_out``): the window is outlined on the padded input (padding grey) and the output
    cells fill in as it goes. Play it in a notebook with ``animation_html(anim, name)``, which
    embeds every frame as a PNG in a self-contained JavaScript player (no network needed).

    Returns
    -------
    anim : matplotlib.animation.FuncAnimation
        With the attribute ``slide`` (a :class:`ConvSlide`: windows, output, padded input). Its
        figure is closed, so that a notebook does not also show it as a still image.
    """
    from matplotlib.animation import FuncAnimation

    slide = ConvSlide(x, kernel, padding=padding, stride=stride)
    width, height = _slide_size(slide, cell)
    fig, ax = plt.subplots(figsize=(width, height + (0.3 if suptitle else 0)), dpi=dpi)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.86 if suptitle else 0.9)

    def update(t):
        slide.draw(ax, t)
        return []

    anim = FuncAnimation(fig, update, frames=len(slide), interval=interval, repeat=True,
                         init_func=lambda: update(0))
    anim.slide = slide
    plt.close(fig)
    return anim


class _AnimationHTML:
    """Rich display of an animation: the player as HTML, a sentence as plain text (PDF, console)."""

    def __init__(self, html: str, text: str):
        self.html, self.text = html, text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


_PLAYER_SYMBOLS = {"fa fa-minus": "−", "fa fa-fast-backward": "|◀", "fa fa-step-backward": "◁",
                   "fa fa-play fa-flip-horizontal": "◀", "fa fa-pause": "❚❚", "fa fa-play": "▶",
                   "fa fa-step-forward": "▷", "fa fa-fast-forward": "▶|", "fa fa-plus": "+"}


def animation_html(anim, name: str, *, default_mode: str = "loop"):
    """``anim.to_jshtml()`` made reproducible, for display in a notebook.

    Matplotlib names the player's HTML elements after a random ``uuid4``; here they are named
    ``name`` instead (use a different name for each animation of a page), so that running the
    notebook again stores the same HTML. The frames are embedded as base64 PNGs and the
    buttons' Font Awesome icons (loaded from a CDN by matplotlib) become text symbols: the
    player needs no file and no network. As plain text (a PDF, a terminal) the object reads
    "[animation: N frames; ...]".
    """
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise ValueError(f"name: letters, digits and '_' (an HTML id), got {name!r}")
    html = anim.to_jshtml(default_mode=default_mode)
    ids = set(re.findall(r'id="_anim_img([0-9a-f]{32})"', html))
    if len(ids) != 1:
        raise RuntimeError("matplotlib's to_jshtml no longer names its player by one uuid")
    html = html.replace(ids.pop(), name)
    # The player's buttons draw Font Awesome icons from a CDN: offline they would be blank (and a
    # browser logs the failed request). Text symbols instead; each button keeps its tooltip.
    html = re.sub(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">\s*', "", html)
    html = re.sub(r'<i class="(fa [a-z -]+)"></i>', lambda m: _PLAYER_SYMBOLS.get(m[1], m[0]), html)
    if re.search(r"https?://|<i class=\"fa", html):
        raise RuntimeError("matplotlib's player loads something from the network: update animation_html")
    frames = len(re.findall(r"data:image/png;base64,", html))
    return _AnimationHTML(html, f"[animation: {frames} frames; the web edition plays it, "
                                f"the figure below shows some of them]")


def conv_strip(x, kernel, *, padding=0, stride=1, frames: Sequence[int] = (0, 1, -2, -1),
               cell: float = 0.32, suptitle: str | None = None):
    """A few frames of :func:`animate_conv` side by side (negative indices count from the end).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per frame.
    """
    slide = ConvSlide(x, kernel, padding=padding, stride=stride)
    chosen = [t % len(slide) if -len(slide) <= t < len(slide) else None for t in frames]
    if not chosen or None in chosen:
        raise ValueError(f"frames: indices into {len(slide)} frames, got {list(frames)}")
    width, height = _slide_size(slide, cell)
    scale = min(1.0, PAGE_WIDTH / (width * len(chosen)))
    fig, axes = plt.subplots(1, len(chosen), figsize=(width * len(chosen) * scale,
                                                      height * scale + (0.35 if suptitle else 0.1)),
                             dpi=DPI, squeeze=False, layout="constrained")
    for ax, t in zip(axes[0], chosen):
        slide.draw(ax, t, fontsize=8 * max(scale, 0.75))
        ax.set_title(f"frame {t + 1} of {len(slide)}\n" + ax.get_title(), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


# =============================================================================================
# Chapter 6: convolution variants
# =============================================================================================
__all__ += ["plot_signals"]


def plot_signals(signals, titles: Sequence[str], *, ncols: int = 5, xlabel: str = "position",
                 ylabel: str = "value", suptitle: str | None = None, cell: float = 1.7):
    """Small line plots of 1-D signals in a grid, sharing both axes (e.g. MNIST-1D examples).

    Parameters
    ----------
    signals : sequence of 1-D arrays, or a 2-D array of shape (N, L)
        One signal per panel; a 2-D entry of shape (K, L) draws K signals in one panel.
    titles : sequence of str, one per panel
    ncols : int, default 5
    xlabel, ylabel : str
        Written on the bottom row and the left column.
    suptitle : str, optional
    cell : float
        Width of one panel in inches (the grid stays within the page width).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per signal.
    """
    panels = [np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in signals]
    if not panels or any(p.ndim != 2 or p.size == 0 for p in panels):
        raise ValueError("signals: expected a non-empty sequence of 1-D (or K x L) arrays")
    if len(titles) != len(panels):
        raise ValueError(f"titles: expected {len(panels)} titles (one per signal), got {len(titles)}")
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    width = min(PAGE_WIDTH, cell * ncols + 0.6)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 1.5 * nrows + 0.5 + 0.3 * bool(suptitle)),
                             dpi=DPI, sharex=True, sharey=True, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.axis("off")
            continue
        for line in panels[k]:
            ax.plot(np.arange(line.size), line, lw=1.2)
        ax.set_title(titles[k], fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        if k // ncols == nrows - 1 or k + ncols >= len(panels):
            ax.set_xlabel(xlabel, fontsize=8)
        if k % ncols == 0:
            ax.set_ylabel(ylabel, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


# =============================================================================================
# Chapter 7: which axes each normalisation averages over
# =============================================================================================
__all__ += ["norm_axes_mask", "plot_norm_axes"]

#: The four normalisations of chapter 7, in the order of the figure.
NORM_KINDS = ("batch", "layer", "instance", "group")


def norm_axes_mask(kind: str, N: int, C: int, groups: int = 2) -> np.ndarray:
    """Which (sample, channel) pairs share ONE mean and variance with sample 0, channel 0.

    Every normalisation takes all positions (H, W) of the pairs it includes, so a boolean
    ``(N, C)`` array says everything: batch norm includes every sample of channel 0, layer
    norm every channel of sample 0, instance norm sample 0's channel 0 only, group norm
    sample 0's first ``C / groups`` channels.

    Parameters
    ----------
    kind : "batch", "layer", "instance" or "group"
    N, C : int
        Samples and channels drawn.
    groups : int
        G, for group norm; must divide C.

    Returns
    -------
    mask : ndarray of bool, shape (N, C)
    """
    if kind not in NORM_KINDS:
        raise ValueError(f"kind: expected one of {NORM_KINDS}, got {kind!r}")
    if N < 1 or C < 1:
        raise ValueError(f"N, C: expected positive ints, got N={N}, C={C}")
    if kind == "group" and (groups < 1 or C % groups):
        raise ValueError(f"groups: expected a divisor of C={C}, got {groups}")
    mask = np.zeros((N, C), dtype=bool)
    if kind == "batch":
        mask[:, 0] = True
    elif kind == "layer":
        mask[0, :] = True
    elif kind == "instance":
        mask[0, 0] = True
    else:
        mask[0, :C // groups] = True
    return mask


def _draw_norm_cube(ax, mask, *, height=3.0, depth=(0.45, 0.32), colour="#4c72b0"):
    """An N x C x (H, W) block in oblique projection: C to the right, (H, W) up, N going back.

    Cells of ``mask`` (N, C) are filled in ``colour`` through the whole (H, W) height.
    """
    from matplotlib.patches import Polygon

    N, C = mask.shape
    dx, dy = depth

    def face(points, filled):
        ax.add_patch(Polygon(points, closed=True, facecolor=colour if filled else "white",
                             edgecolor="0.25", linewidth=0.7, alpha=0.85 if filled else 1.0))

    for n in range(N - 1, -1, -1):                         # right side (channel C - 1)
        x0, y0 = C + n * dx, n * dy
        face([(x0, y0), (x0 + dx, y0 + dy), (x0 + dx, y0 + dy + height), (x0, y0 + height)],
             mask[n, C - 1])
    for n in range(N - 1, -1, -1):                         # top, back rows first
        for c in range(C):
            x0, y0 = c + n * dx, height + n * dy
            face([(x0, y0), (x0 + 1, y0), (x0 + 1 + dx, y0 + dy), (x0 + dx, y0 + dy)],
                 mask[n, c])
    for c in range(C):                                     # front (sample 0)
        face([(c, 0), (c + 1, 0), (c + 1, height), (c, height)], mask[0, c])
    ax.annotate("", xy=(C, -0.45), xytext=(0, -0.45),
                arrowprops=dict(arrowstyle="->", linewidth=0.8))
    ax.text(C / 2, -0.6, "C (channels)", ha="center", va="top", fontsize=8)
    ax.annotate("", xy=(-0.35, height), xytext=(-0.35, 0),
                arrowprops=dict(arrowstyle="->", linewidth=0.8))
    ax.text(-0.5, height / 2, "H, W", ha="right", va="center", fontsize=8, rotation=90)
    ax.annotate("", xy=(C + 0.3 + N * dx, N * dy), xytext=(C + 0.3, 0),
                arrowprops=dict(arrowstyle="->", linewidth=0.8))
    ax.text(C + 0.45 + N * dx, N * dy / 2, "N", ha="left", va="center", fontsize=8)
    ax.set_xlim(-1.3, C + N * dx + 1.2)
    ax.set_ylim(-1.3, height + N * dy + 0.3)
    ax.set_aspect("equal")
    ax.axis("off")


def plot_norm_axes(N: int = 6, C: int = 6, groups: int = 2, *, kinds: Sequence[str] = NORM_KINDS,
                   titles: Mapping[str, str] | None = None, suptitle: str | None = None):
    """The classic picture of batch, layer, instance and group normalisation (Wu & He, 2018).

    Each panel draws a feature-map batch as a block, N samples deep, C channels wide, the
    positions (H, W) flattened upwards, and fills the values that share one mean and variance
    (:func:`norm_axes_mask`).

    Parameters
    ----------
    N, C : int
        Samples and channels drawn.
    groups : int
        G for the group-norm panel (a divisor of C).
    kinds : sequence of "batch", "layer", "instance", "group"
        The panels, in order.
    titles : mapping kind -> str, optional
        Panel titles (default: the name and the axes averaged over).
    suptitle : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per kind; each shaded cell is one (sample, channel) pair with all its positions.
    """
    if not kinds:
        raise ValueError("kinds: expected at least one normalisation")
    default = {"batch": "batch norm\n(N, H, W) per channel",
               "layer": "layer norm\n(C, H, W) per sample",
               "instance": "instance norm\n(H, W) per sample, channel",
               "group": f"group norm, G = {groups}\n(C/G, H, W) per sample, group"}
    masks = [norm_axes_mask(kind, N, C, groups) for kind in kinds]
    width = min(PAGE_WIDTH, 2.25 * len(kinds))
    fig, axes = plt.subplots(1, len(kinds), figsize=(width, 2.4), dpi=DPI, squeeze=False)
    for ax, kind, mask in zip(axes[0], kinds, masks):
        _draw_norm_cube(ax, mask)
        ax.set_title((titles or {}).get(kind, default[kind]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


# =============================================================================================
# Chapter 8: where LeNet's parameters and multiply-adds live; two implementations, one curve
# =============================================================================================
__all__ += ["plot_layer_costs", "plot_twin_losses"]


def plot_layer_costs(rows, *, title: str | None = None):
    """Parameters and multiply-adds per layer, as two bar charts side by side.

    Parameters
    ----------
    rows : sequence of rows with attributes ``name``, ``type``, ``params`` and ``macs``
        Usually ``cnnbook.models.summary(model, input_shape)``; rows with neither parameters
        nor multiply-adds (activations, pooling, flatten) are left out.
    title : str, optional
        Title above both charts.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes, one bar per kept row in each, labelled ``"<name> <type>"`` and annotated
        with the row's share of the total.
    """
    kept = [r for r in rows if r.params > 0 or r.macs > 0]
    if not kept:
        raise ValueError("rows: no row has parameters or multiply-adds")
    labels = [f"{r.name} {r.type}" for r in kept]
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 0.35 * len(kept) + 1.4), dpi=DPI,
                             sharey=True)
    for ax, key, name in zip(axes, ("params", "macs"), ("parameters", "multiply-adds")):
        values = np.array([getattr(r, key) for r in kept], dtype=np.float64)
        total = values.sum()
        positions = np.arange(len(kept))
        ax.barh(positions, values, color="#4c72b0" if key == "params" else "#dd8452")
        for i, v in enumerate(values):
            share = 100 * v / total if total else 0.0
            ax.text(v, i, f" {int(v):,} ({share:.{0 if share >= 1 or v == 0 else 1}f} %)",
                    va="center", fontsize=8)
        ax.set_xlim(0, 1.45 * max(values.max(), 1.0))
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.set_xlabel(f"{name} (total {int(total):,})")
        ax.set_title(f"where the {name} are")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(kept)), labels)
    axes[0].invert_yaxis()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_twin_losses(losses: Mapping[str, Sequence[float]], *, steps_per_epoch: int | None = None,
                     title: str | None = None):
    """Two training curves of the same run and their difference, step by step.

    Parameters
    ----------
    losses : mapping label -> sequence of float
        Exactly two curves of the same length (e.g. the NumPy engine and PyTorch).
    steps_per_epoch : int, optional
        If given, dotted vertical lines mark the epochs.
    title : str, optional
        Title above both panels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Left: both curves over the optimizer steps. Right: their absolute difference on a
        logarithmic axis (steps where the two are exactly equal are drawn at the bottom of the
        axis, as open markers).
    """
    if len(losses) != 2:
        raise ValueError(f"losses: expected exactly two curves, got {len(losses)}")
    (name_a, a), (name_b, b) = ((k, np.asarray(v, dtype=np.float64)) for k, v in losses.items())
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"losses: expected two 1-D curves of the same length, got shapes "
                         f"{a.shape} and {b.shape}")
    steps = np.arange(1, a.size + 1)
    diff = np.abs(a - b)
    fig, (left, right) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.2), dpi=DPI)
    left.plot(steps, a, label=name_a, linewidth=2.5, alpha=0.6)
    left.plot(steps, b, label=name_b, linewidth=1.0, linestyle="--", color="black")
    left.set_xlabel("optimizer step")
    left.set_ylabel("mini-batch loss")
    left.set_title("the two loss curves")
    left.legend(fontsize=8)
    nonzero = diff > 0
    floor = diff[nonzero].min() / 10 if nonzero.any() else 1e-17
    right.semilogy(steps[nonzero], diff[nonzero], ".", markersize=3, label="difference")
    if (~nonzero).any():
        right.semilogy(steps[~nonzero], np.full((~nonzero).sum(), floor), "o", markersize=3,
                       markerfacecolor="none", color="grey", label="exactly equal")
    right.set_xlabel("optimizer step")
    right.set_ylabel(f"|{name_a} − {name_b}|")
    right.set_title("their difference (log scale)")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        if steps_per_epoch:
            for s in range(steps_per_epoch, a.size, steps_per_epoch):
                ax.axvline(s + 0.5, color="grey", linestyle=":", linewidth=0.8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# =============================================================================================
# Chapter 9: where a network's parameters live and where its multiply-adds go
# =============================================================================================
__all__ += ["plot_cost_shares"]


def plot_cost_shares(networks: Mapping[str, Sequence], *, suptitle: str | None = None,
                     colours: Mapping[str, str] | None = None):
    """For each network, the share of its parameters and of its multiply-adds per layer.

    One row per network and two panels per row: the left one shows what percentage of the
    network's parameters each layer holds, the right one what percentage of its multiply-adds
    (MACs) each layer performs. Bars are coloured by the layer's kind (e.g. "conv", "dense"),
    and the legend gives each kind's total share, so that "the dense layers hold most of the
    parameters, the convolutions do most of the work" can be read at a glance.

    Parameters
    ----------
    networks : mapping name -> sequence of (layer, kind, params, macs)
        ``layer`` labels the bar, ``kind`` chooses its colour, ``params`` and ``macs`` are
        non-negative counts (e.g. from :func:`cnnbook.models.summary`), at least one of each
        positive per network.
    suptitle : str, optional
    colours : mapping kind -> Matplotlib colour, optional
        Default: a colour of the "tab10" cycle per kind, in order of first appearance.

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``2 * len(networks)`` axes, row by row: parameters, MACs.
    """
    if not isinstance(networks, Mapping) or not networks:
        raise ValueError("networks: expected a non-empty mapping name -> rows")
    checked = {}
    for name, rows in networks.items():
        rows = list(rows)
        if not rows or any(len(r) != 4 for r in rows):
            raise ValueError(f"networks[{name!r}]: expected rows (layer, kind, params, macs), "
                             f"got {rows!r}")
        params = np.array([float(r[2]) for r in rows])
        work = np.array([float(r[3]) for r in rows])
        if (params < 0).any() or (work < 0).any() or params.sum() <= 0 or work.sum() <= 0:
            raise ValueError(f"networks[{name!r}]: counts must be non-negative, with a positive "
                             f"total of parameters and of MACs")
        checked[name] = ([str(r[0]) for r in rows], [str(r[1]) for r in rows], params, work)
    kinds = list(dict.fromkeys(k for _, ks, _, _ in checked.values() for k in ks))
    palette = plt.get_cmap("tab10").colors
    colour_of = {k: palette[i % len(palette)] for i, k in enumerate(kinds)}
    if colours is not None:
        colour_of.update(colours)
    fig, axes = plt.subplots(len(checked), 2, figsize=(PAGE_WIDTH, 2.9 * len(checked)),
                             dpi=DPI, squeeze=False)
    for row, (name, (layers, layer_kinds, params, work)) in enumerate(checked.items()):
        for ax, counts, what in ((axes[row, 0], params, "parameters"),
                                 (axes[row, 1], work, "multiply-adds")):
            share = 100 * counts / counts.sum()
            xs = np.arange(len(layers))
            for kind in dict.fromkeys(layer_kinds):
                mask = np.array([k == kind for k in layer_kinds])
                total = share[mask].sum()
                ax.bar(xs[mask], share[mask], color=colour_of[kind], width=0.8,
                       label=f"{kind}: {total:.0f} %")
            ax.set_xticks(xs, layers, rotation=90, fontsize=7)
            ax.set_ylabel(f"% of {what}")
            ax.set_ylim(0, max(share.max() * 1.4, 1))        # room for the legend
            total = counts.sum()
            scale = (f"{total / 1e9:.2f} G" if total >= 1e9 else f"{total / 1e6:.1f} M"
                     if total >= 1e6 else f"{total:,.0f}")
            ax.set_title(f"{name}: {what} ({scale})", fontsize=10)
            ax.legend(fontsize=8, loc="upper left")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return fig


__all__ += ["plot_stacked_costs"]


def plot_stacked_costs(labels: Sequence[str], parts: Sequence[str], params, macs, *,
                       title: str | None = None, colours: Sequence | None = None):
    """Parameters and multiply-adds per row, each bar split into parts (stacked bars).

    Two panels side by side, one horizontal bar per row (e.g. per Inception block), each bar
    stacked from its parts (e.g. the block's four branches): the left panel counts
    parameters, the right one multiply-adds (MACs). The legend gives every part's share of
    the total.

    Parameters
    ----------
    labels : sequence of str, length R
        One label per row (bar), drawn top to bottom.
    parts : sequence of str, length P
        The names of the parts every bar is split into.
    params, macs : array_like, shape (R, P)
        Non-negative counts; a part a row does not have is 0. Each array needs a positive
        total.
    title : str, optional
        Title above both panels.
    colours : sequence of P Matplotlib colours, optional
        Default: the "tab10" cycle.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes with ``R * P`` bar segments each (zero-width segments included).
    """
    labels, parts = [str(s) for s in labels], [str(s) for s in parts]
    if not labels or not parts:
        raise ValueError("labels and parts: expected at least one of each")
    tables = {}
    for name, values in (("params", params), ("macs", macs)):
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (len(labels), len(parts)):
            raise ValueError(f"{name}: expected shape (len(labels), len(parts)) = "
                             f"{(len(labels), len(parts))}, got {array.shape}")
        if (array < 0).any() or not np.isfinite(array).all() or array.sum() <= 0:
            raise ValueError(f"{name}: counts must be finite and non-negative with a "
                             f"positive total")
        tables[name] = array
    if colours is None:
        palette = plt.get_cmap("tab10").colors
        colours = [palette[i % len(palette)] for i in range(len(parts))]
    elif len(colours) != len(parts):
        raise ValueError(f"colours: expected {len(parts)} colours, got {len(colours)}")
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 0.32 * len(labels) + 2.4), dpi=DPI,
                             sharey=True)
    positions = np.arange(len(labels))
    for ax, key, what in zip(axes, ("params", "macs"), ("parameters", "multiply-adds")):
        array = tables[key]
        total = array.sum()
        left = np.zeros(len(labels))
        for j, part in enumerate(parts):
            share = 100 * array[:, j].sum() / total
            ax.barh(positions, array[:, j], left=left, color=colours[j], height=0.75,
                    label=f"{part} ({share:.0f} %)")
            left += array[:, j]
        scale, unit = (1e9, "G") if left.max() >= 1e9 else (1e6, "M")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _, s=scale: f"{v / s:g}"))
        whole = f"{total / 1e9:.2f} G" if total >= 1e9 else f"{total / 1e6:.2f} M"
        ax.set_xlabel(f"{what} ({unit}); total {whole}")
        ax.set_title(f"where the {what} are", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
                  frameon=False)
    axes[0].set_yticks(positions, labels)
    axes[0].invert_yaxis()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ += ["plot_inception_block"]

#: Colours of the layer kinds in :func:`plot_inception_block`.
INCEPTION_COLOURS = {"1 × 1": "#c6dbef", "3 × 3": "#fdd0a2", "5 × 5": "#c7e9c0",
                     "pool": "#dadaeb", "data": "#f0f0f0"}


def plot_inception_block(c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, *, size=None,
                         title: str | None = None):
    """The Inception block as a diagram: input, four branches, concatenation.

    Every box names its layer and the number of channels it outputs; the input box and the
    concatenation box give the channels (and ``size``, the height and width, if given).
    Boxes are coloured by kind: 1 × 1, 3 × 3 and 5 × 5 convolutions, max pooling.

    Parameters
    ----------
    c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj : int
        The input channels and the six channel numbers of the block (positive), in the order
        of ``cnnbook.models.Inception``.
    size : int or (int, int), optional
        Height and width of the input (kept by every branch).
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with 9 boxes (input, 7 layers, concatenation) and their arrows.
    """
    counts = {"c_in": c_in, "c1": c1, "c3_reduce": c3_reduce, "c3": c3,
              "c5_reduce": c5_reduce, "c5": c5, "pool_proj": pool_proj}
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive int, got {value!r}")
    if size is not None:
        h, w = (size, size) if np.isscalar(size) else tuple(size)
        where = f" × {h} × {w}"
    else:
        where = ""
    fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH, 8.0), 4.2), dpi=DPI)
    ax.set_xlim(0, 8)
    ax.set_ylim(0, 5.2)
    ax.axis("off")
    box_w, box_h = 1.7, 0.62

    def box(x, y, text, kind, width=box_w):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - box_h / 2), width, box_h,
                                    boxstyle="round,pad=0.03", linewidth=1,
                                    edgecolor="#444444", facecolor=INCEPTION_COLOURS[kind]))
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5)

    def arrow(x, y0, y1):                 # vertical, from a box's top to the next's bottom
        ax.add_patch(FancyArrowPatch((x, y0 + box_h / 2 + 0.04), (x, y1 - box_h / 2 - 0.04),
                                     arrowstyle="-|>", mutation_scale=10, linewidth=1,
                                     color="#444444"))

    columns = [1.1, 3.03, 4.97, 6.9]
    bottom, top = 0.45, 4.7
    box(4.0, bottom, f"input: {c_in}{where}", "data", width=7.6)
    out = c1 + c3 + c5 + pool_proj
    box(4.0, top, f"concatenate along the channels: {out}{where}", "data", width=7.6)
    branches = [
        [("1 × 1 conv", c1, "1 × 1")],
        [("1 × 1 conv", c3_reduce, "1 × 1"), ("3 × 3 conv", c3, "3 × 3")],
        [("1 × 1 conv", c5_reduce, "1 × 1"), ("5 × 5 conv", c5, "5 × 5")],
        [("3 × 3 max pool", c_in, "pool"), ("1 × 1 conv", pool_proj, "1 × 1")],
    ]
    for x, layers in zip(columns, branches):
        previous = bottom
        for y, (name, channels, kind) in zip((1.85, 3.3), layers):
            box(x, y, f"{name}\n{channels}", kind)
            arrow(x, previous, y)
            previous = y
        arrow(x, previous, top)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ += ["plot_network_parts"]

#: Background colours of the parts in :func:`plot_network_parts`, in order.
NETWORK_PART_COLOURS = ("#dde8f4", "#fbe3c9", "#dcefd9", "#eadcf1")


def plot_network_parts(parts: Mapping[str, Sequence[tuple[str, str]]], *,
                       title: str | None = None):
    """A whole network as a few parts side by side, each a column of layers, top to bottom.

    Every layer is one box with its name on the left and its output shape on the right;
    arrows join consecutive layers, and the last layer of each part to the first of the next.

    Parameters
    ----------
    parts : mapping of str to sequence of (str, str)
        Part name (a column heading, such as "stem") to its layers in order, each a
        ``(layer, output shape)`` pair of strings.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with one box per layer and one arrow between every two consecutive layers.
    """
    if not isinstance(parts, Mapping) or len(parts) == 0:
        raise ValueError(f"parts: expected a non-empty mapping of part names to layers, "
                         f"got {type(parts).__name__}")
    for name, layers in parts.items():
        if len(layers) == 0 or any(len(layer) != 2 for layer in layers):
            raise ValueError(f"parts[{name!r}]: expected a non-empty sequence of "
                             f"(layer, output shape) pairs")
    n_cols, n_rows = len(parts), max(len(layers) for layers in parts.values())
    fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH, 3.0 * n_cols), 0.34 * n_rows + 0.9),
                           dpi=DPI)
    ax.set_xlim(0, n_cols)
    ax.set_ylim(-n_rows - 0.1, 1.0)
    ax.axis("off")
    box_w, box_h = 0.9, 0.7

    def arrow(start, end):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8,
                                     linewidth=0.9, color="#444444"))

    ends = []
    for j, (name, layers) in enumerate(parts.items()):
        x = j + 0.5
        colour = NETWORK_PART_COLOURS[j % len(NETWORK_PART_COLOURS)]
        ax.text(x, 0.45, name, ha="center", va="center", fontsize=10.5)
        for i, (layer, shape) in enumerate(layers):
            y = -i - 0.5
            ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                        boxstyle="round,pad=0.01", linewidth=0.8,
                                        edgecolor="#444444", facecolor=colour))
            ax.text(x - box_w / 2 + 0.03, y, layer, ha="left", va="center", fontsize=8)
            ax.text(x + box_w / 2 - 0.03, y, shape, ha="right", va="center", fontsize=8,
                    color="#333333")
            if i:
                arrow((x, y + 1 - box_h / 2), (x, y + box_h / 2))
        ends.append(((x, -0.5), (x, -len(layers) + 0.5)))
    for (_, (x0, y0)), ((x1, y1), _) in zip(ends, ends[1:]):
        arrow((x0 + box_w / 2, y0), (x1 - box_w / 2, y1))
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# =============================================================================================
# Chapter 11: the gradient that reaches each layer of a deep network
# =============================================================================================
__all__ += ["plot_gradient_norms"]


def plot_gradient_norms(panels: Mapping[str, Mapping[str, Sequence]], *,
                        xlabel: str = "layer (1 = next to the input)",
                        ylabel: str = "gradient norm ‖∂L/∂W‖",
                        suptitle: str | None = None):
    """The norm of each layer's weight gradient, one line per network, on a log scale.

    Parameters
    ----------
    panels : mapping of str to mapping of str to array_like, shape (S, L)
        Panel title (e.g. "at initialisation") to networks; each network maps to the
        gradient norms of its ``L`` layers (input side first) measured for ``S`` seeds.
        The line is the geometric mean over the seeds, the band their range (min to
        max).
    xlabel, ylabel : str
    suptitle : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per panel, sharing the y axis (logarithmic).
    """
    if not isinstance(panels, Mapping) or len(panels) == 0:
        raise ValueError("panels: expected a non-empty mapping of panel titles to "
                         "networks")
    tables = {}
    for title, runs in panels.items():
        if not isinstance(runs, Mapping) or len(runs) == 0:
            raise ValueError(f"panels[{title!r}]: expected a non-empty mapping of "
                             f"networks to arrays of shape (seeds, layers)")
        for name, values in runs.items():
            values = np.asarray(values, dtype=np.float64)
            if values.ndim == 1:
                values = values[None]
            if values.ndim != 2 or values.size == 0:
                raise ValueError(f"panels[{title!r}][{name!r}]: expected shape "
                                 f"(seeds, layers), got {values.shape}")
            if not np.all(np.isfinite(values)) or np.any(values <= 0):
                raise ValueError(f"panels[{title!r}][{name!r}]: gradient norms must be "
                                 f"positive and finite for a log scale")
            tables[title, name] = values
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(min(PAGE_WIDTH, 4.4 * n + 0.4), 3.4),
                             dpi=DPI, sharey=True, squeeze=False)
    for ax, (title, runs) in zip(axes[0], panels.items()):
        for name in runs:
            values = tables[title, name]
            layers = np.arange(1, values.shape[1] + 1)
            mean = np.exp(np.log(values).mean(axis=0))
            line, = ax.plot(layers, mean, marker=".", markersize=4,
                            label=f"{name} ({values.shape[0]} seeds)"
                            if values.shape[0] > 1 else name)
            if values.shape[0] > 1:
                ax.fill_between(layers, values.min(axis=0), values.max(axis=0),
                                color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel(ylabel)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


# =============================================================================================
# Chapter 12: the efficient networks compared (parameters, multiply-adds, measured time)
# =============================================================================================
__all__ += ["plot_model_costs"]


def plot_model_costs(names: Sequence[str], params, macs, times, *, title: str | None = None):
    """Two labelled scatter plots of a set of networks, on log-log axes: parameters against
    multiply-adds (left), and measured time against multiply-adds (right). Each label has
    its point's colour and goes where it covers no other point or label, if it can.

    On the right a dotted line of slope 1 through the median time per multiply-add shows
    where the points would lie if time were proportional to the multiply-adds: a network
    above it runs at fewer multiply-adds per second than the median, one below it at more.

    Parameters
    ----------
    names : sequence of str
        One label per network.
    params, macs : sequence of float
        Parameters and multiply-adds of each network (all positive).
    times : sequence of float
        Measured time of one forward pass of each network, in milliseconds (all positive).
    title : str, optional
        A title above both panels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes, each with one point per network, every point labelled with its name.
    """
    names = [str(n) for n in names]
    arrays = {}
    for arg, values in (("params", params), ("macs", macs), ("times", times)):
        a = np.asarray(values, dtype=np.float64)
        if a.shape != (len(names),) or not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise ValueError(f"{arg}: expected {len(names)} positive finite numbers (one per "
                             f"name), got {a.tolist() if a.ndim <= 1 else a.shape}")
        arrays[arg] = a
    if not names:
        raise ValueError("names: expected at least one network")
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    from matplotlib.transforms import Bbox

    p, m, t = arrays["params"] / 1e6, arrays["macs"] / 1e9, arrays["times"]
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.9), dpi=DPI)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = ((axes[0], p, m), (axes[1], m, t))
    for ax, xs, ys in panels:
        for i, (x, y) in enumerate(zip(xs, ys)):
            ax.plot(x, y, "o", color=colours[i % len(colours)])
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3, which="both")
        ax.margins(0.25)
    # the line and the legend first: they change the limits the labels are placed in
    rate = float(np.median(t / m))
    line = np.array([m.min() / 1.5, m.max() * 1.5])
    axes[1].plot(line, rate * line, ":", color="#555555", linewidth=1,
                 label=f"proportional to MACs ({1e3 / rate:.3g} G MACs per second)")
    axes[1].legend(fontsize=7.5, loc="upper left")
    axes[0].set_xlabel("parameters (M)")
    axes[0].set_ylabel("multiply-adds (G)")
    axes[0].set_title("size and work", fontsize=10)
    axes[1].set_xlabel("multiply-adds (G)")
    axes[1].set_ylabel("measured time (ms)")
    axes[1].set_title("work and time", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()                                  # before the labels are placed
    fig.canvas.draw()                                   # fixes the limits of both axes
    renderer = fig.canvas.get_renderer()
    # each label goes to the first of four places that covers no point and no label yet
    places = ((5, 3, "left", "bottom"), (5, -3, "left", "top"),
              (-5, 3, "right", "bottom"), (-5, -3, "right", "top"))
    for ax, xs, ys in panels:
        dots = [ax.transData.transform((x, y)) for x, y in zip(xs, ys)]
        taken = []
        for i in np.argsort(-ys, kind="stable"):
            for k, (dx, dy, ha, va) in enumerate(places):
                label = ax.annotate(names[i], (xs[i], ys[i]), xytext=(dx, dy),
                                    textcoords="offset points", fontsize=7.5, ha=ha, va=va,
                                    color=colours[i % len(colours)])
                size = label.get_window_extent(renderer)
                u, v = dots[i] + np.array([dx, dy]) * fig.dpi / 72
                x0 = u if ha == "left" else u - size.width
                y0 = v if va == "bottom" else v - size.height
                box = Bbox.from_bounds(x0 - 2, y0 - 1, size.width + 4, size.height + 2)
                clash = any(box.overlaps(b) for b in taken) or any(
                    box.x0 - 3 < u < box.x1 + 3 and box.y0 - 3 < v < box.y1 + 3
                    for j, (u, v) in enumerate(dots) if j != i)
                if not clash or k == len(places) - 1:
                    break
                label.remove()
            taken.append(box)
    return fig


__all__ += ["dilation_paths", "plot_dilation_coverage", "plot_scatter_add"]


def dilation_paths(rates: Sequence[int], taps: int = 3) -> np.ndarray:
    """Number of paths from each input offset to one output of a stack of dilated layers.

    Along one axis, a layer with ``taps`` taps and rate ``r`` reads the offsets
    ``0, r, ..., (taps - 1) r``; a stack (stride 1) reaches every sum of one offset per layer.
    Entry ``o`` of the result counts the choices of one tap per layer whose offsets add up to
    ``o``, for ``o = 0 .. (taps - 1) * sum(rates)`` (0 where the stack leaves a hole).

    Parameters
    ----------
    rates : sequence of int
        The dilation rates of the layers (each at least 1; the order does not matter).
    taps : int, default 3
        Taps per kernel along the axis (at least 1).

    Returns
    -------
    paths : ndarray of int64, shape ((taps - 1) * sum(rates) + 1,)
    """
    if not (isinstance(taps, (int, np.integer)) and taps >= 1):
        raise ValueError(f"taps: expected an int >= 1, got {taps!r}")
    if any(not isinstance(r, (int, np.integer)) or r < 1 for r in rates):
        raise ValueError(f"rates: expected ints >= 1, got {list(rates)!r}")
    paths = np.ones(1, dtype=np.int64)
    for r in rates:
        layer = np.zeros((taps - 1) * int(r) + 1, dtype=np.int64)
        layer[::int(r)] = 1
        paths = np.convolve(paths, layer)
    return paths


def plot_dilation_coverage(stacks: Mapping[str, Sequence[int]], *, taps: int = 3,
                           suptitle: str | None = None, cell: float = 2.2):
    """Which input pixels one output of a stack of dilated ``taps x taps`` layers reads.

    One panel per stack, all drawn to the same scale and centred on the output's centre
    pixel: every pixel of the stack's receptive field is coloured by the number of paths
    that reach it (:func:`dilation_paths` along the rows times along the columns), pixels
    of the field that no path reaches (holes) are white with a grey cross, and a black
    frame marks the field. The title says how many of the field's pixels are read.

    Parameters
    ----------
    stacks : mapping of str to sequence of int
        Panel title to the rates of the stack's layers (one rate: a single layer, whose
        taps are the coloured pixels).
    taps : int, default 3
    suptitle : str, optional
    cell : float, default 2.2
        Width of one panel in inches (the figure is capped at the page width).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per stack, then one colour bar.
    """
    if not isinstance(stacks, Mapping) or len(stacks) == 0:
        raise ValueError("stacks: expected a non-empty mapping of titles to rates")
    for name, rates in stacks.items():
        if len(rates) == 0:
            raise ValueError(f"stacks[{name!r}]: expected at least one rate")
    paths = {name: dilation_paths(rates, taps) for name, rates in stacks.items()}
    half = max(len(p) for p in paths.values()) // 2          # the widest field, centred
    n = len(stacks)
    width = min(PAGE_WIDTH, cell * n + 0.8)
    fig, axes = plt.subplots(1, n, figsize=(width, (width - 0.8) / n + 0.75), dpi=DPI,
                             squeeze=False, layout="constrained")
    vmax = max(int(p.max()) ** 2 for p in paths.values())
    norm = plt.matplotlib.colors.LogNorm(vmin=1, vmax=max(vmax, 2))
    cmap = plt.get_cmap("viridis")
    image = None
    for ax, (name, p) in zip(axes[0], paths.items()):
        grid = np.outer(p, p).astype(np.float64)
        m = len(p)
        start = -(m // 2) - 0.5
        extent = (start, start + m, start + m, start)
        image = ax.imshow(np.ma.masked_equal(grid, 0), cmap=cmap, norm=norm, extent=extent,
                          interpolation="nearest")
        rows, cols = np.nonzero(grid == 0)
        ax.plot(cols + start + 0.5, rows + start + 0.5, "x", color="0.6", markersize=3.0,
                markeredgewidth=0.6, linestyle="none")
        ax.add_patch(Rectangle((start, start), m, m, fill=False, edgecolor="black",
                               linewidth=1.0))
        ax.set_xlim(-half - 0.5, half + 0.5)
        ax.set_ylim(half + 0.5, -half - 0.5)
        read = int(np.count_nonzero(grid))
        ax.set_title(f"{name}\n{read} of {m * m} read", fontsize=9)
        ax.set_xlabel("column offset", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("row offset", fontsize=8)
    bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    bar.set_label("paths to the output", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def plot_scatter_add(x, kernel, stride: int, *, suptitle: str | None = None,
                     cell: float = 1.75):
    """A transposed convolution as a scatter-add of scaled kernel copies (one channel).

    One panel per input pixel ``(i, j)``: the output grid with ``x[i, j] * kernel`` stamped
    at ``(stride * i, stride * j)``, its values written in; a last panel with their sum (the
    transposed convolution, no padding), each copy's footprint outlined in its colour.

    Parameters
    ----------
    x : array_like, shape (n_h, n_w)
        The input (at most 9 pixels, one panel each).
    kernel : array_like, shape (k_h, k_w)
    stride : int
    suptitle : str, optional
    cell : float, default 1.75
        Width of one panel in inches (the figure is capped at the page width).

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``x.size + 1`` axes: the copies in row-major order of the input, then the sum.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if x.ndim != 2 or kernel.ndim != 2 or x.size == 0 or kernel.size == 0:
        raise ValueError(f"x, kernel: expected non-empty 2-D arrays, got shapes {x.shape} "
                         f"and {kernel.shape}")
    if x.size > 9:
        raise ValueError(f"x: at most 9 pixels (one panel each), got shape {x.shape}")
    if not (isinstance(stride, (int, np.integer)) and stride >= 1):
        raise ValueError(f"stride: expected an int >= 1, got {stride!r}")
    (n_h, n_w), (k_h, k_w) = x.shape, kernel.shape
    out_shape = ((n_h - 1) * stride + k_h, (n_w - 1) * stride + k_w)
    copies, total = [], np.zeros(out_shape)
    for i in range(n_h):
        for j in range(n_w):
            copy = np.zeros(out_shape)
            copy[stride * i:stride * i + k_h, stride * j:stride * j + k_w] = x[i, j] * kernel
            copies.append(((i, j), copy))
            total += copy
    n = len(copies) + 1
    width = min(PAGE_WIDTH, cell * n)
    fig, axes = plt.subplots(1, n, figsize=(width, width / n + 0.75), dpi=DPI, squeeze=False,
                             layout="constrained")
    colours = plt.get_cmap("tab10")
    small = 7 if max(out_shape) <= 8 else 5

    def frame(ax, i, j, colour, linewidth):
        ax.add_patch(Rectangle((stride * j - 0.5, stride * i - 0.5), k_w, k_h, fill=False,
                               edgecolor=colour, linewidth=linewidth))

    def grid_lines(ax):
        ax.set_xticks(np.arange(out_shape[1]))
        ax.set_yticks(np.arange(out_shape[0]))
        ax.set_xticks(np.arange(-0.5, out_shape[1]), minor=True)
        ax.set_yticks(np.arange(-0.5, out_shape[0]), minor=True)
        ax.grid(which="minor", color="0.85", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelsize=6)
        ax.set_xlim(-0.5, out_shape[1] - 0.5)
        ax.set_ylim(out_shape[0] - 0.5, -0.5)

    for k, (ax, ((i, j), copy)) in enumerate(zip(axes[0], copies)):
        colour = colours(k % 10)
        ax.imshow(np.ones(out_shape + (3,)), interpolation="nearest")
        ax.add_patch(Rectangle((stride * j - 0.5, stride * i - 0.5), k_w, k_h,
                               facecolor=colour, alpha=0.3, edgecolor="none"))
        frame(ax, i, j, colour, 1.4)
        for (r, c), v in np.ndenumerate(copy):
            if stride * i <= r < stride * i + k_h and stride * j <= c < stride * j + k_w:
                ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=small)
        grid_lines(ax)
        ax.set_title(f"x[{i}, {j}] = {x[i, j]:g}\ntimes the kernel", fontsize=8)
        ax.set_xlabel("output column", fontsize=7)
    axes[0][0].set_ylabel("output row", fontsize=7)
    ax = axes[0][-1]
    overlaps = sum((copy != 0).astype(int) for _, copy in copies)
    ax.imshow(overlaps, cmap="Greys", vmin=0, vmax=int(overlaps.max()) + 3,
              interpolation="nearest")
    for k, ((i, j), _) in enumerate(copies):
        frame(ax, i, j, colours(k % 10), 1.2)
    for (r, c), v in np.ndenumerate(total):
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=small)
    grid_lines(ax)
    ax.set_title("sum: the output\n(darker: copies overlap)", fontsize=8)
    ax.set_xlabel("output column", fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


# =============================================================================================
# Chapter 13: training curves over seeds, several experiments side by side
# =============================================================================================
__all__ += ["plot_band_panels"]


def _per_panel(value, titles, name):
    """``value`` for every panel: one value for all, or a mapping panel title -> value."""
    if isinstance(value, Mapping):
        missing = [t for t in titles if t not in value]
        if missing:
            raise ValueError(f"{name}: no entry for the panel {missing[0]!r}")
        return [value[t] for t in titles]
    return [value] * len(titles)


def plot_band_panels(panels: Mapping[str, Mapping[str, Sequence[Mapping[str, Sequence[float]]]]], *,
                     key="loss", xlabel="epoch", ylabel=None, log=False,
                     suptitle: str | None = None, styles: Mapping[str, Mapping] | None = None,
                     x_start: int = 1, ncols: int | None = None):
    """Panels of curves over seeds: in each, per run, the mean as a line and the range as a band.

    Parameters
    ----------
    panels : mapping panel title -> mapping run name -> sequence of histories (one per seed)
        Each history maps metric names to sequences of floats (``cnnbook.train.fit``'s
        history); all seeds of a run must have the same number of values.
    key : str or mapping panel title -> str, default "loss"
        The metric drawn in each panel (e.g. ``"loss"``, ``"test_acc"``, ``"step_loss"``);
        the y label spells it out.
    xlabel : str or mapping panel title -> str, default "epoch"
    ylabel : str or mapping panel title -> str, optional
        Default: the metric spelled out (e.g. "test accuracy" for ``"test_acc"``).
    log : bool or mapping panel title -> bool, default False
        A logarithmic y axis.
    suptitle : str, optional
    styles : mapping run name -> keyword arguments for ``Axes.plot``, optional
        The band takes the line's colour.
    x_start : int, default 1
        x value of the first point.
    ncols : int, optional
        Panels per row (default: all in one row, at most 3).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per panel, with one line and one band per run.
    """
    if not panels:
        raise ValueError("panels: expected at least one panel")
    titles = list(panels)
    keys = _per_panel(key, titles, "key")
    xlabels = _per_panel(xlabel, titles, "xlabel")
    ylabels = _per_panel(ylabel, titles, "ylabel")
    logs = _per_panel(log, titles, "log")
    n = len(titles)
    ncols = min(n, 3) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols: expected an int >= 1, got {ncols}")
    nrows = -(-n // ncols)
    width = min(PAGE_WIDTH, max(4.8, 3.3 * ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 3.0 * nrows), dpi=DPI, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, title, metric, xl, yl, logy in zip(axes.flat, titles, keys, xlabels, ylabels,
                                               logs):
        runs = panels[title]
        if not runs:
            raise ValueError(f"panels[{title!r}]: expected at least one run")
        for name, histories in runs.items():
            if not histories:
                raise ValueError(f"panels[{title!r}][{name!r}]: expected at least one history")
            missing = [i for i, h in enumerate(histories) if metric not in h]
            if missing:
                raise ValueError(f"panels[{title!r}][{name!r}]: history {missing[0]} has no "
                                 f"metric {metric!r}")
            lengths = {len(h[metric]) for h in histories}
            if len(lengths) != 1:
                raise ValueError(f"panels[{title!r}][{name!r}]: the seeds have different "
                                 f"numbers of values {sorted(lengths)}")
            values = np.array([np.asarray(h[metric], dtype=np.float64) for h in histories])
            xs = np.arange(x_start, x_start + values.shape[1])
            line, = ax.plot(xs, values.mean(axis=0), label=name,
                            **((styles or {}).get(name, {})))
            ax.fill_between(xs, values.min(axis=0), values.max(axis=0), color=line.get_color(),
                            alpha=0.2, linewidth=0)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xl)
        default = _LABELS.get(metric, "loss per step" if metric == "step_loss" else metric)
        ax.set_ylabel(yl or default)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return fig


# =============================================================================================
# Chapter 10: a network's layers grouped into parts, the input of plot_network_parts
# =============================================================================================
__all__ += ["network_parts"]

_SKIPPED_LAYERS = ("ReLU", "Flatten", "Identity")


def _layer_label(name: str, module) -> str:
    """A short label for one layer: "7 × 7 conv, stride 2", "LRN", "inception (3a)"."""
    import re

    from torch import nn

    def pair(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

    kinds = {nn.Conv2d: "conv", nn.MaxPool2d: "max pool", nn.AvgPool2d: "average pool"}
    if type(module) in kinds:
        (k_h, k_w), (s_h, s_w) = pair(module.kernel_size), pair(module.stride)
        stride = "" if (s_h, s_w) == (1, 1) else (
            f", stride {s_h}" if s_h == s_w else f", stride ({s_h}, {s_w})")
        return f"{k_h} × {k_w} {kinds[type(module)]}{stride}"
    if isinstance(module, nn.AdaptiveAvgPool2d) and pair(module.output_size) == (1, 1):
        return "global average pool"
    if isinstance(module, nn.Dropout):
        return f"dropout ({module.p * 100:g} %)"
    named = {nn.LocalResponseNorm: "LRN", nn.Linear: "dense", nn.BatchNorm2d: "batch norm"}
    if type(module) in named:
        return named[type(module)]
    last = name.rsplit(".", 1)[-1]
    numbered = re.fullmatch(r"([A-Za-z_]+?)(\d\w*)", last)      # "inception3a", "block2"
    return f"{numbered[1]} ({numbered[2]})" if numbered else last


def network_parts(model, input_shape, parts: Mapping[str, Sequence[str]]) -> dict:
    """The layers of a PyTorch model, grouped into parts, for :func:`plot_network_parts`.

    Parameters
    ----------
    model : torch.nn.Module
        Any model ``cnnbook.models.summary`` can trace (on the "meta" device too).
    input_shape : tuple of int
        One input without the batch axis, such as ``(3, 224, 224)``.
    parts : mapping of str to sequence of str
        Part name to the names of the model's children in it, in order. A child that is an
        ``nn.Sequential`` is drawn layer by layer (its ReLU, Flatten and Identity layers left
        out); any other child, such as an Inception block, is one box.

    Returns
    -------
    dict of str to list of (str, str)
        Part name to its ``(label, output shape)`` pairs: labels such as "7 × 7 conv,
        stride 2", "LRN", "dense" or, for other modules, the child's name with its number in
        parentheses ("inception (3a)"); shapes as "C × H × W".

    Raises
    ------
    ValueError
        If ``parts`` is empty, names a child the model does not have, or a child the forward
        pass never calls.
    """
    from torch import nn

    from cnnbook import models

    if not isinstance(parts, Mapping) or len(parts) == 0:
        raise ValueError(f"parts: expected a non-empty mapping of part names to child names, "
                         f"got {type(parts).__name__}")
    children = dict(model.named_children())
    unknown = [n for names in parts.values() for n in names if n not in children]
    if unknown:
        raise ValueError(f"parts: the model has no children named {unknown}; its children "
                         f"are {list(children)}")
    shapes = {r.name: r.output_shape for depth in (1, 2)
              for r in models.summary(model, input_shape, depth=depth)}

    def entry(name, module):
        if name not in shapes:
            raise ValueError(f"parts: the forward pass never calls {name!r}")
        return _layer_label(name, module), " × ".join(map(str, shapes[name][1:]))

    result = {}
    for part, names in parts.items():
        layers = []
        for name in names:
            child = children[name]
            if isinstance(child, nn.Sequential):
                layers += [entry(f"{name}.{sub}", layer) for sub, layer in child.named_children()
                           if type(layer).__name__ not in _SKIPPED_LAYERS]
            elif type(child).__name__ not in _SKIPPED_LAYERS:
                layers.append(entry(name, child))
        result[part] = layers
    return result


__all__ += ["plot_residual_blocks"]

#: Fill colours of :func:`plot_residual_blocks`' boxes by kind (the convolutions as in
#: :data:`INCEPTION_COLOURS`).
RESIDUAL_BLOCK_COLOURS = {"1 × 1": "#c6dbef", "3 × 3": "#fdd0a2", "norm": "#e5e5e5",
                          "data": "#f7f7f7", "add": "#ffffff"}


def plot_residual_blocks(width: int = 64, bottleneck_in: int = 256, bottleneck_width: int = 128,
                         *, stride: int = 2, title: str | None = None):
    """A plain block, a basic residual block and a bottleneck block, side by side.

    Each panel is a column of boxes from the input (bottom) to the output (top), one box per
    layer, labelled with its kernel and the channels it outputs. The residual panels draw the
    shortcut as a line around the column into a "+" node before the last ReLU; the bottleneck's
    shortcut holds a 1 × 1 projection with batch norm when its shape changes (a stride other
    than 1, or ``bottleneck_in != 4 * bottleneck_width``), else it is the identity.

    Parameters
    ----------
    width : int, default 64
        Channels of the plain and the basic block (input and output).
    bottleneck_in : int, default 256
        Input channels of the bottleneck block.
    bottleneck_width : int, default 128
        Its inner width; it outputs ``4 * bottleneck_width`` channels.
    stride : int, default 2
        The bottleneck's stride, in its first 1 × 1 convolution and its projection (1 or 2).
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        Three axes titled "plain block", "basic block" and "bottleneck block, projection
        shortcut" (or "..., identity shortcut").
    """
    for name, value in (("width", width), ("bottleneck_in", bottleneck_in),
                        ("bottleneck_width", bottleneck_width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive int, got {value!r}")
    if isinstance(stride, bool) or stride not in (1, 2):
        raise ValueError(f"stride: expected 1 or 2, got {stride!r}")
    out = 4 * bottleneck_width
    projection = stride != 1 or bottleneck_in != out
    s = "/2" if stride == 2 else ""
    body = [(f"3 × 3 conv, {width}", "3 × 3"), ("BN, ReLU", "norm"),
            (f"3 × 3 conv, {width}", "3 × 3"), ("BN", "norm")]
    panels = [
        ("plain block", [(f"input: {width}", "data"), *body, ("ReLU", "norm"),
                         (f"output: {width}", "data")], None),
        ("basic block", [(f"input: {width}", "data"), *body, ("+", "add"), ("ReLU", "norm"),
                         (f"output: {width}", "data")], "identity"),
        (f"bottleneck block, {'projection' if projection else 'identity'} shortcut",
         [(f"input: {bottleneck_in}", "data"), (f"1 × 1 conv{s}, {bottleneck_width}", "1 × 1"),
          ("BN, ReLU", "norm"), (f"3 × 3 conv, {bottleneck_width}", "3 × 3"),
          ("BN, ReLU", "norm"), (f"1 × 1 conv, {out}", "1 × 1"), ("BN", "norm"),
          ("+", "add"), ("ReLU", "norm"), (f"output: {out}", "data")],
         f"1 × 1 conv{s},\nBN, {out}" if projection else "identity"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(PAGE_WIDTH, 5.0), dpi=DPI)
    main_x, short_x, box_w, box_h = 1.5, 3.75, 2.3, 0.56
    for ax, (name, items, shortcut) in zip(axes, panels):
        ax.set_xlim(0, 4.7)
        ax.set_ylim(0, 10.4)
        ax.axis("off")
        ax.set_title(name, fontsize=9.5)
        ys = np.linspace(0.4, 10.0, len(items))
        for i, ((text, kind), y) in enumerate(zip(items, ys)):
            half = 0.24 if kind == "add" else box_h / 2
            if kind == "add":
                ax.add_patch(plt.Circle((main_x, y), half, facecolor=RESIDUAL_BLOCK_COLOURS[kind],
                                        edgecolor="#444444", linewidth=1))
                ax.text(main_x, y, "+", ha="center", va="center", fontsize=12)
            else:
                ax.add_patch(FancyBboxPatch((main_x - box_w / 2, y - half), box_w, 2 * half,
                                            boxstyle="round,pad=0.03", linewidth=1,
                                            edgecolor="#444444",
                                            facecolor=RESIDUAL_BLOCK_COLOURS[kind]))
                ax.text(main_x, y, text, ha="center", va="center", fontsize=8)
            if i:
                prev_half = 0.24 if items[i - 1][1] == "add" else box_h / 2
                ax.add_patch(FancyArrowPatch((main_x, ys[i - 1] + prev_half + 0.03),
                                             (main_x, y - half - 0.03), arrowstyle="-|>",
                                             mutation_scale=9, linewidth=1, color="#444444"))
        if shortcut is None:
            continue
        y_in, y_add = ys[0], ys[[k for _, k in items].index("add")]
        ax.plot([main_x + box_w / 2, short_x, short_x], [y_in, y_in, y_add],
                color="#b2182b", linewidth=1.4)
        ax.add_patch(FancyArrowPatch((short_x, y_add), (main_x + 0.26, y_add),
                                     arrowstyle="-|>", mutation_scale=10, linewidth=1.4,
                                     color="#b2182b"))
        if shortcut == "identity":
            ax.text(short_x + 0.08, (y_in + y_add) / 2, "identity", rotation=90, ha="left",
                    va="center", fontsize=8, color="#b2182b")
        else:
            ax.add_patch(FancyBboxPatch((short_x - 0.72, (y_in + y_add) / 2 - 0.45), 1.44, 0.9,
                                        boxstyle="round,pad=0.03", linewidth=1,
                                        edgecolor="#b2182b",
                                        facecolor=RESIDUAL_BLOCK_COLOURS["1 × 1"]))
            ax.text(short_x, (y_in + y_add) / 2, shortcut, ha="center", va="center",
                    fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# -- chapter 12: blocks drawn to scale, and the points a ReLU lets through ----------------------

__all__ += ["plot_block_columns", "plot_recovered_points"]

_BLOCK_COLUMN_JOINS = (None, "add", "dense")


def plot_block_columns(columns: Sequence, *, title: str | None = None):
    """Blocks side by side, each a column of boxes whose widths are proportional to channels.

    A column runs from its input (top) to its output (bottom), one box per tensor or layer,
    joined by arrows. A box's width is its number of channels over the column's largest, so a
    bottleneck (wide, narrow, wide) and an inverted residual (narrow, wide, narrow) look like
    what they are; a box with ``groups > 1`` is cut into that many vertical slices (a grouped
    convolution; over 32 groups, such as a depthwise one, it is hatched instead). ``join="add"`` draws a shortcut from the first box into a "+" node before
    the last box; ``join="dense"`` draws an arc from every box to every later box but the next
    (the next one is reached by the arrow), as in a dense block.

    Parameters
    ----------
    columns : sequence of (title, boxes, join)
        ``boxes`` a sequence of ``(label, channels)`` or ``(label, channels, groups)``, at
        least two; ``join`` None, ``"add"`` or ``"dense"``.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per column, titled with the column's title; each box is a Rectangle patch
        whose width is ``1.8 * channels / max(channels)`` (at least 0.12), labelled inside.
    """
    from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

    if len(columns) == 0:
        raise ValueError("columns: expected at least one column")
    parsed = []
    for k, column in enumerate(columns):
        if len(column) != 3:
            raise ValueError(f"columns[{k}]: expected (title, boxes, join), got {column!r}")
        name, boxes, join = column
        if join not in _BLOCK_COLUMN_JOINS:
            raise ValueError(f"columns[{k}]: join must be None, 'add' or 'dense', got {join!r}")
        if len(boxes) < 2:
            raise ValueError(f"columns[{k}]: expected at least two boxes, got {len(boxes)}")
        rows = []
        for box in boxes:
            label, channels, groups = (*box, 1) if len(box) == 2 else box
            if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) \
                    or channels < 1 or isinstance(groups, bool) \
                    or not isinstance(groups, (int, np.integer)) or groups < 1:
                raise ValueError(f"columns[{k}]: box {box!r} needs positive int channels "
                                 "and groups")
            rows.append((str(label), int(channels), int(groups)))
        parsed.append((str(name), rows, join))
    longest = max(len(rows) + (join == "add") for _, rows, join in parsed)
    fig, axes = plt.subplots(1, len(parsed), figsize=(PAGE_WIDTH, 0.62 * longest + 1.0),
                             dpi=100, squeeze=False)
    edge = "#444444"
    for ax, (name, rows, join) in zip(axes[0], parsed):
        widest = max(c for _, c, _ in rows)
        items = [("box", row) for row in rows]
        if join == "add":
            items.insert(len(items) - 1, ("add", None))
        ys = -1.0 * np.arange(len(items))
        half_h = 0.3
        xs_right, box_ys = [], []
        for i, ((kind, row), y) in enumerate(zip(items, ys)):
            if kind == "add":
                ax.add_patch(Circle((0, y), 0.17, facecolor="#fde0c5", edgecolor=edge))
                ax.text(0, y, "+", ha="center", va="center", fontsize=11)
                top = bottom = 0.17
            else:
                label, channels, groups = row
                w = max(1.8 * channels / widest, 0.12)
                ax.add_patch(Rectangle((-w / 2, y - half_h), w, 2 * half_h, facecolor="#c6dbef",
                                       edgecolor=edge, linewidth=1,
                                       hatch="|||" if groups > 32 else None))
                for g in range(1, groups if groups <= 32 else 1):
                    x = -w / 2 + w * g / groups
                    ax.plot([x, x], [y - half_h, y + half_h], color=edge, linewidth=0.4)
                ax.text(0, y, label, ha="center", va="center", fontsize=7.5,
                        bbox=dict(boxstyle="round,pad=0.15", facecolor="white",
                                  edgecolor="none", alpha=0.85))
                top = bottom = half_h
                xs_right.append(w / 2)
                box_ys.append(y)
            if i:
                prev = 0.17 if items[i - 1][0] == "add" else half_h
                ax.add_patch(FancyArrowPatch((0, ys[i - 1] - prev), (0, y + top),
                                             arrowstyle="-|>", mutation_scale=8,
                                             linewidth=1, color=edge))
        if join == "add":
            y_add = ys[[k for k, _ in items].index("add")]
            ax.plot([xs_right[0], 1.05, 1.05], [ys[0], ys[0], y_add], color="#b2182b",
                    linewidth=1.3)
            ax.add_patch(FancyArrowPatch((1.05, y_add), (0.19, y_add), arrowstyle="-|>",
                                         mutation_scale=9, linewidth=1.3, color="#b2182b"))
        elif join == "dense":
            n = len(box_ys)
            for i in range(n):
                for j in range(i + 2, n):
                    x_out = 1.0 + 0.07 * i
                    ax.plot([xs_right[i], x_out, x_out], [box_ys[i], box_ys[i], box_ys[j]],
                            color="#b2182b", linewidth=0.9)
                    ax.add_patch(FancyArrowPatch((x_out, box_ys[j]), (xs_right[j], box_ys[j]),
                                                 arrowstyle="-|>", mutation_scale=7,
                                                 linewidth=0.9, color="#b2182b"))
        ax.set_xlim(-1.15, 1.15 + (0.07 * len(box_ys) if join == "dense" else 0))
        ax.set_ylim(ys[-1] - 0.6, 0.6)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_recovered_points(points, masks: Sequence, titles: Sequence[str], *,
                          title: str | None = None):
    """Panels of the same 2-D points, each coloured by a mask: kept (True) or lost (False).

    Parameters
    ----------
    points : array of shape (2, N)
        The points' coordinates.
    masks : sequence of arrays of N bools
        One per panel: which points survive (for example, which can be recovered after a
        ReLU in more dimensions).
    titles : sequence of str
        One per panel.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per mask, each with two scatter collections ("recoverable", then "lost"),
        equal aspect, axis labels $x_1$ and $x_2$, and a legend on the first.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] != 2:
        raise ValueError(f"points: expected shape (2, N), got {points.shape}")
    if len(masks) == 0 or len(masks) != len(titles):
        raise ValueError(f"masks and titles: expected the same non-zero length, got "
                         f"{len(masks)} and {len(titles)}")
    fig, axes = plt.subplots(1, len(masks), figsize=(PAGE_WIDTH, PAGE_WIDTH / len(masks) + 0.9),
                             dpi=100, squeeze=False, sharex=True, sharey=True)
    for k, (ax, mask, name) in enumerate(zip(axes[0], masks, titles)):
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (points.shape[1],):
            raise ValueError(f"masks[{k}]: expected {points.shape[1]} bools, got shape "
                             f"{mask.shape}")
        ax.scatter(*points[:, mask], s=4, color="#2166ac", label="recoverable")
        ax.scatter(*points[:, ~mask], s=4, color="#d6604d", label="lost")
        ax.set_aspect("equal")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("$x_1$")
        if k == 0:
            ax.set_ylabel("$x_2$")
            ax.legend(fontsize=7, loc="lower left", markerscale=2)
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
