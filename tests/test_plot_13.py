"""Specification of the figure chapter 13 (training in practice) adds to cnnbook.plot."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


def _hist(values, key="loss"):
    return {key: list(values)}


def test_plot_band_panels_is_exported():
    assert "plot_band_panels" in plot.__all__ and callable(plot.plot_band_panels)


def test_each_panel_draws_the_mean_and_the_range_of_every_run():
    panels = {"left": {"a": [_hist([1, 2, 3]), _hist([3, 4, 5])], "b": [_hist([0, 0, 0])]},
              "right": {"c": [_hist([5, 1], "test_acc"), _hist([1, 1], "test_acc")]}}
    fig = plot.plot_band_panels(panels, key={"left": "loss", "right": "test_acc"},
                                log={"left": True, "right": False}, suptitle="s")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    left, right = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["left", "right"]
    assert np.array_equal(left.lines[0].get_ydata(), [2, 3, 4])        # mean over seeds
    assert np.array_equal(left.lines[0].get_xdata(), [1, 2, 3])
    assert np.array_equal(right.lines[0].get_ydata(), [3, 1])
    assert len(left.collections) == 2 and len(right.collections) == 1  # one band per run
    band = left.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 1 and band.max() == 5                        # min to max
    assert left.get_yscale() == "log" and right.get_yscale() == "linear"
    assert right.get_ylabel() == "test accuracy" and left.get_xlabel() == "epoch"
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["a", "b"]
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_panels_wrap_into_rows_and_unused_axes_are_hidden():
    panels = {str(i): {"a": [_hist([1, 2])]} for i in range(4)}
    fig = plot.plot_band_panels(panels, ncols=3, xlabel="optimizer step")
    assert len(fig.axes) == 6 and sum(ax.get_visible() for ax in fig.axes) == 4
    assert fig.axes[0].get_xlabel() == "optimizer step"


def test_y_labels_can_be_given_per_panel():
    panels = {"a": {"r": [_hist([1, 2], "shifted_acc")]}, "b": {"r": [_hist([1, 2])]}}
    fig = plot.plot_band_panels(panels, key={"a": "shifted_acc", "b": "loss"},
                                ylabel={"a": "shifted test accuracy", "b": "training loss"})
    assert [ax.get_ylabel() for ax in fig.axes] == ["shifted test accuracy", "training loss"]


@pytest.mark.parametrize("panels, kwargs, message", [
    ({}, {}, r"panels: expected at least one panel"),
    ({"p": {}}, {}, r"panels\['p'\]: expected at least one run"),
    ({"p": {"a": []}}, {}, r"panels\['p'\]\['a'\]: expected at least one history"),
    ({"p": {"a": [_hist([1])]}}, {"key": "test_acc"}, r"history 0 has no metric 'test_acc'"),
    ({"p": {"a": [_hist([1]), _hist([1, 2])]}}, {}, r"different numbers of values \[1, 2\]"),
    ({"p": {"a": [_hist([1])]}}, {"log": {"q": True}}, r"log: no entry for the panel 'p'"),
    ({"p": {"a": [_hist([1])]}}, {"ncols": 0}, r"ncols: expected an int >= 1"),
])
def test_bad_input_raises_a_value_error_naming_the_argument(panels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot.plot_band_panels(panels, **kwargs)
