"""Specification of the figure chapter 9 (AlexNet, VGG and NiN) adds to cnnbook.plot."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot

ROWS = {"net A": [("conv1", "conv", 100, 9000), ("conv2", "conv", 300, 900),
                  ("fc1", "dense", 600, 100)],
        "net B": [("c", "conv", 10, 50), ("d", "dense", 30, 50)]}


def test_plot_cost_shares_is_exported():
    assert "plot_cost_shares" in plot.__all__ and callable(plot.plot_cost_shares)


def test_plot_cost_shares_draws_two_panels_per_network_with_one_bar_per_layer():
    fig = plot.plot_cost_shares(ROWS, suptitle="where the cost lives")
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    heights = [[p.get_height() for p in ax.patches] for ax in fig.axes]
    assert [len(h) for h in heights] == [3, 3, 2, 2]
    for h in heights:                                  # shares in percent add up to 100
        assert np.isclose(sum(h), 100.0)
    assert np.allclose(sorted(heights[0]), [10, 30, 60])
    assert np.allclose(sorted(heights[1]), [1, 9, 90])
    assert fig.axes[0].get_ylabel() == "% of parameters"
    assert fig.axes[1].get_ylabel() == "% of multiply-adds"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["conv1", "conv2", "fc1"]
    assert fig.axes[2].get_title().startswith("net B: parameters")
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_plot_cost_shares_legend_gives_each_kinds_total_share():
    fig = plot.plot_cost_shares(ROWS)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["conv: 40 %", "dense: 60 %"]
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert legend == ["conv: 99 %", "dense: 1 %"]
    conv_colour = fig.axes[0].patches[0].get_facecolor()
    assert fig.axes[2].patches[0].get_facecolor() == conv_colour   # one colour per kind


def test_plot_cost_shares_rejects_bad_rows():
    with pytest.raises(ValueError, match="networks"):
        plot.plot_cost_shares({})
    with pytest.raises(ValueError, match=r"networks\['x'\]: expected rows"):
        plot.plot_cost_shares({"x": [("a", "conv", 1)]})
    with pytest.raises(ValueError, match=r"networks\['x'\]: counts"):
        plot.plot_cost_shares({"x": [("a", "conv", -1, 3), ("b", "dense", 5, 3)]})
    with pytest.raises(ValueError, match=r"networks\['x'\]: counts"):
        plot.plot_cost_shares({"x": [("a", "conv", 0, 3)]})
