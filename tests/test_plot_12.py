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


# -- plot_block_columns and plot_recovered_points ---------------------------------------------

from matplotlib.patches import Circle, Rectangle  # noqa: E402

COLUMNS = [("bottleneck", [("in", 256), ("1x1", 64), ("3x3", 64), ("1x1", 256), ("out", 256)],
            "add"),
           ("grouped", [("in", 256), ("3x3", 128, 32), ("out", 256)], None),
           ("dense", [("in", 16), ("l1", 24), ("l2", 32), ("l3", 40)], "dense")]


def test_block_columns_are_exported_and_drawn_to_scale():
    assert "plot_block_columns" in plot.__all__
    fig = plot.plot_block_columns(COLUMNS, title="t")
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["bottleneck", "grouped", "dense"]
    boxes = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert np.allclose([b.get_width() for b in boxes], [1.8, 0.45, 0.45, 1.8, 1.8])
    assert sum(isinstance(p, Circle) for p in fig.axes[0].patches) == 1      # the "+"
    assert sum(isinstance(p, Circle) for p in fig.axes[2].patches) == 0
    # the grouped box is cut into 32 slices by 31 lines; the dense column has 3 arcs (0-2,
    # 0-3, 1-3)
    assert len(fig.axes[1].lines) == 31
    assert len(fig.axes[2].lines) == 3
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


@pytest.mark.parametrize("columns, match", [
    ([], "at least one column"),
    ([("a", [("in", 4)], None)], "at least two boxes"),
    ([("a", [("in", 4), ("out", 0)], None)], "positive int"),
    ([("a", [("in", 4), ("out", 4)], "concat")], "join"),
])
def test_block_columns_reject_bad_input(columns, match):
    with pytest.raises(ValueError, match=match):
        plot.plot_block_columns(columns)


def test_recovered_points_colour_each_panel_by_its_mask():
    assert "plot_recovered_points" in plot.__all__
    points = np.stack([np.linspace(-1, 1, 10), np.linspace(0, 1, 10)])
    masks = [np.arange(10) < 3, np.ones(10, bool)]
    fig = plot.plot_recovered_points(points, masks, ["n = 2", "n = 15"], title="t")
    assert len(fig.axes) == 2
    for ax, mask in zip(fig.axes, masks):
        kept, lost = ax.collections
        assert np.allclose(kept.get_offsets(), points[:, mask].T)
        assert len(lost.get_offsets()) == (~mask).sum()
        assert ax.get_xlabel()
    assert fig.axes[0].get_ylabel() and fig.axes[0].get_legend() is not None
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH
    assert closes_cleanly(fig)


def test_recovered_points_reject_bad_input():
    with pytest.raises(ValueError, match="points"):
        plot.plot_recovered_points(np.zeros((3, 4)), [np.ones(4, bool)], ["a"])
    with pytest.raises(ValueError, match="same non-zero length"):
        plot.plot_recovered_points(np.zeros((2, 4)), [np.ones(4, bool)], [])
    with pytest.raises(ValueError, match="masks"):
        plot.plot_recovered_points(np.zeros((2, 4)), [np.ones(5, bool)], ["a"])
