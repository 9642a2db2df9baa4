"""Specification of the figures chapter 8 (LeNet) adds to cnnbook.plot."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnnbook import models, plot


def test_the_lenet_figures_are_exported():
    for name in ("plot_layer_costs", "plot_twin_losses"):
        assert name in plot.__all__ and callable(getattr(plot, name))


def test_plot_layer_costs_draws_one_bar_per_counted_layer_in_each_panel():
    rows = models.summary(models.lenet5(), (1, 28, 28))
    counted = [r for r in rows if r.params or r.macs]
    assert len(counted) == 5                                   # 2 convs, 3 linear layers
    fig = plot.plot_layer_costs(rows, title="LeNet")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    params_ax, macs_ax = fig.axes
    assert [p.get_width() for p in params_ax.patches] == [r.params for r in counted]
    assert [p.get_width() for p in macs_ax.patches] == [r.macs for r in counted]
    assert [t.get_text() for t in params_ax.get_yticklabels()][0] == "0 Conv2d"
    assert "61,706" in params_ax.get_xlabel()
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_plot_layer_costs_rejects_rows_without_costs():
    rows = models.summary(torch.nn.Sequential(torch.nn.ReLU()), (1, 4, 4))
    with pytest.raises(ValueError, match="rows"):
        plot.plot_layer_costs(rows)


def test_plot_twin_losses_shows_both_curves_and_their_difference():
    a = np.array([2.3, 2.0, 1.5, 1.0])
    b = a + np.array([0.0, 1e-15, 0.0, 2e-15])
    fig = plot.plot_twin_losses({"NumPy": a, "PyTorch": b}, steps_per_epoch=2, title="twins")
    left, right = fig.axes
    assert len(left.lines) >= 2
    assert np.allclose(left.lines[0].get_ydata(), a) and np.allclose(left.lines[1].get_ydata(), b)
    assert right.get_yscale() == "log"
    differences = right.lines[0].get_ydata()
    assert np.allclose(differences, [1e-15, 2e-15])            # the non-zero differences
    equal = right.lines[1]
    assert list(equal.get_xdata()) == [1, 3]                   # steps where they are equal
    assert left.get_xlabel() == "optimizer step"
    assert closes_cleanly(fig)


def test_plot_twin_losses_rejects_anything_but_two_equal_curves():
    with pytest.raises(ValueError, match="exactly two"):
        plot.plot_twin_losses({"a": [1.0]})
    with pytest.raises(ValueError, match="same length"):
        plot.plot_twin_losses({"a": [1.0, 2.0], "b": [1.0]})
