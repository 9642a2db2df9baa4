"""Specification of the figures chapter 6 (convolution variants) adds to cnnbook.plot."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


def test_plot_signals_is_exported():
    assert "plot_signals" in plot.__all__ and callable(plot.plot_signals)


def test_plot_signals_draws_one_panel_per_signal_with_titles_and_labels():
    signals = [np.sin(np.arange(40) / (k + 1)) for k in range(7)]
    signals[2] = np.stack([signals[2], -signals[2]])            # two lines in one panel
    fig = plot.plot_signals(signals, [f"digit {k}" for k in range(7)], ncols=4,
                            suptitle="MNIST-1D")
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 7 and len(fig.axes) == 8               # the 8th panel is switched off
    assert [ax.get_title() for ax in visible] == [f"digit {k}" for k in range(7)]
    assert [len(ax.lines) for ax in visible] == [1, 1, 2, 1, 1, 1, 1]
    assert visible[0].get_ylabel() == "value" and visible[4].get_ylabel() == "value"
    assert visible[-1].get_xlabel() == "position"
    assert fig._suptitle.get_text() == "MNIST-1D"
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_plot_signals_rejects_bad_input():
    with pytest.raises(ValueError, match="titles: expected 2 titles"):
        plot.plot_signals([np.zeros(3), np.ones(3)], ["a"])
    with pytest.raises(ValueError, match="signals"):
        plot.plot_signals([], [])


def test_dilation_paths_counts_the_ways_to_each_offset():
    assert plot.dilation_paths([2]).tolist() == [1, 0, 1, 0, 1]
    assert plot.dilation_paths([1, 1]).tolist() == [1, 2, 3, 2, 1]
    two = plot.dilation_paths([2, 2, 2])
    assert len(two) == 13 and np.count_nonzero(two) == 7 and two.sum() == 27
    assert np.count_nonzero(plot.dilation_paths([1, 2, 5])) == 17
    assert np.flatnonzero(plot.dilation_paths([1, 2, 8]) == 0).tolist() == [7, 15]
    assert plot.dilation_paths([3], taps=1).tolist() == [1]
    with pytest.raises(ValueError, match="rates"):
        plot.dilation_paths([0, 2])
    with pytest.raises(ValueError, match="taps"):
        plot.dilation_paths([1], taps=0)


def test_plot_dilation_coverage_draws_one_panel_per_stack_to_one_scale():
    assert {"plot_dilation_coverage", "dilation_paths"} <= set(plot.__all__)
    stacks = {"rate 2": (2,), "rates 2, 2, 2": (2, 2, 2), "rates 1, 2, 8": (1, 2, 8)}
    fig = plot.plot_dilation_coverage(stacks, suptitle="coverage")
    assert isinstance(fig, Figure)
    panels, bar = fig.axes[:3], fig.axes[3]
    assert len(fig.axes) == 4 and bar.get_ylabel() == "paths to the output"
    assert [ax.get_title() for ax in panels] == ["rate 2\n9 of 25 read",
                                                 "rates 2, 2, 2\n49 of 169 read",
                                                 "rates 1, 2, 8\n441 of 529 read"]
    assert all(ax.get_xlim() == (-11.5, 11.5) for ax in panels)     # one scale: 23 wide
    holes = [len(ax.lines[0].get_xdata()) for ax in panels]        # a cross per hole
    assert holes == [25 - 9, 169 - 49, 529 - 441]
    assert panels[0].get_ylabel() == "row offset" and panels[1].get_xlabel() == "column offset"
    assert fig._suptitle.get_text() == "coverage"
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_plot_dilation_coverage_rejects_bad_input():
    with pytest.raises(ValueError, match="stacks"):
        plot.plot_dilation_coverage({})
    with pytest.raises(ValueError, match=r"stacks\['a'\]"):
        plot.plot_dilation_coverage({"a": ()})


def test_plot_scatter_add_draws_every_copy_and_their_sum():
    assert "plot_scatter_add" in plot.__all__
    x, kernel = np.array([[1.0, 2], [3, 4]]), np.arange(1.0, 17).reshape(4, 4)
    fig = plot.plot_scatter_add(x, kernel, 3, suptitle="scatter-add")
    assert isinstance(fig, Figure) and len(fig.axes) == 5
    copies, total = fig.axes[:4], fig.axes[4]
    assert copies[1].get_title() == "x[0, 1] = 2\ntimes the kernel"
    assert [len(ax.texts) for ax in copies] == [16] * 4            # the copy's 16 values
    assert sorted(float(t.get_text()) for t in copies[3].texts) == (4 * kernel).ravel().tolist()
    written = np.array([float(t.get_text()) for t in total.texts]).reshape(7, 7)
    expected = np.zeros((7, 7))
    for i in range(2):
        for j in range(2):
            expected[3 * i:3 * i + 4, 3 * j:3 * j + 4] += x[i, j] * kernel
    assert np.array_equal(written, expected) and written[3, 3] == 58
    assert len(total.patches) == 4                                 # each copy outlined
    assert copies[0].get_ylabel() == "output row" and total.get_xlabel() == "output column"
    assert fig._suptitle.get_text() == "scatter-add"
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_plot_scatter_add_rejects_bad_input():
    with pytest.raises(ValueError, match="x, kernel"):
        plot.plot_scatter_add(np.ones(3), np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="at most 9"):
        plot.plot_scatter_add(np.ones((4, 4)), np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="stride"):
        plot.plot_scatter_add(np.ones((2, 2)), np.ones((2, 2)), 0)
