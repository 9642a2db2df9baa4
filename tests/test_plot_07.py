"""Specification of the figure chapter 7 (normalisation) adds to cnnbook.plot."""
from plot_helpers import close_figures  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


def test_the_normalisation_figures_are_exported():
    for name in ("norm_axes_mask", "plot_norm_axes"):
        assert name in plot.__all__ and callable(getattr(plot, name))


def test_norm_axes_mask_marks_the_values_of_one_statistic():
    N, C = 4, 6
    assert plot.norm_axes_mask("batch", N, C).sum() == N              # every sample, 1 channel
    assert plot.norm_axes_mask("batch", N, C)[:, 0].all()
    assert plot.norm_axes_mask("layer", N, C)[0].all()                 # every channel, 1 sample
    assert plot.norm_axes_mask("layer", N, C).sum() == C
    assert plot.norm_axes_mask("instance", N, C).sum() == 1
    assert plot.norm_axes_mask("group", N, C, groups=3)[0].tolist() == [True, True] + [False] * 4
    # group norm with G = 1 is layer norm, with G = C instance norm
    assert np.array_equal(plot.norm_axes_mask("group", N, C, 1), plot.norm_axes_mask("layer", N, C))
    assert np.array_equal(plot.norm_axes_mask("group", N, C, C),
                          plot.norm_axes_mask("instance", N, C))


def test_plot_norm_axes_draws_one_block_per_kind_with_the_mask_filled():
    N, C = 3, 4
    fig = plot.plot_norm_axes(N, C, groups=2, suptitle="axes")
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    for ax, kind in zip(fig.axes, plot.NORM_KINDS):
        patches = ax.patches
        assert len(patches) == N + N * C + C                    # side, top, front faces
        filled = [p for p in patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
        mask = plot.norm_axes_mask(kind, N, C, 2)
        assert len(filled) == mask[:, -1].sum() + mask.sum() + mask[0].sum()
        assert kind.split()[0] in ax.get_title()
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100


def test_plot_norm_axes_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kind: expected one of"):
        plot.norm_axes_mask("weight", 2, 2)
    with pytest.raises(ValueError, match="groups: expected a divisor of C=6, got 4"):
        plot.plot_norm_axes(3, 6, groups=4)
    with pytest.raises(ValueError, match="kinds: expected at least one"):
        plot.plot_norm_axes(kinds=[])
