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
