"""Specification of the figure chapter 12 (Beyond ResNet) adds to cnnbook.plot."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot

NAMES = ["big", "small", "tiny"]
PARAMS = [25e6, 4e6, 1e6]
MACS = [4e9, 0.5e9, 0.1e9]
TIMES = [100.0, 20.0, 10.0]


def test_plot_model_costs_is_exported():
    assert "plot_model_costs" in plot.__all__ and callable(plot.plot_model_costs)


def test_each_panel_has_one_labelled_point_per_network():
    fig = plot.plot_model_costs(NAMES, PARAMS, MACS, TIMES, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    left, right = fig.axes
    for ax, (xs, ys) in ((left, (np.array(PARAMS) / 1e6, np.array(MACS) / 1e9)),
                         (right, (np.array(MACS) / 1e9, np.array(TIMES)))):
        points = [line for line in ax.lines if line.get_marker() == "o"]
        assert len(points) == 3
        got = np.array([line.get_xydata()[0] for line in points])
        assert np.allclose(got, np.column_stack([xs, ys]))
        assert sorted(t.get_text() for t in ax.texts) == sorted(NAMES)
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "parameters" in left.get_xlabel() and "multiply-adds" in left.get_ylabel()
    assert "multiply-adds" in right.get_xlabel() and "ms" in right.get_ylabel()
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_the_dotted_line_goes_through_the_median_rate():
    fig = plot.plot_model_costs(NAMES, PARAMS, MACS, TIMES)
    right = fig.axes[1]
    dotted = [line for line in right.lines if line.get_linestyle() == ":"]
    assert len(dotted) == 1
    x, y = dotted[0].get_xydata().T
    rate = np.median(np.array(TIMES) / (np.array(MACS) / 1e9))      # ms per G MACs
    assert np.allclose(y / x, rate)
    label = right.get_legend().get_texts()[0].get_text()
    assert f"{1e3 / rate:.3g} G MACs per second" in label


@pytest.mark.parametrize("kwargs, arg", [
    (dict(params=[1, 2]), "params"),                    # one value missing
    (dict(macs=[1, -2, 3]), "macs"),                    # negative
    (dict(times=[1, np.nan, 3]), "times"),              # not finite
    (dict(times=[1, 0, 3]), "times"),                   # zero
])
def test_bad_values_raise_a_value_error_naming_the_argument(kwargs, arg):
    args = dict(params=PARAMS, macs=MACS, times=TIMES) | kwargs
    with pytest.raises(ValueError, match=arg):
        plot.plot_model_costs(NAMES, **args)


def test_no_network_is_an_error():
    with pytest.raises(ValueError, match="names"):
        plot.plot_model_costs([], [], [], [])
