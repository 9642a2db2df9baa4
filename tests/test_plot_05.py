"""Specification of the figures chapter 5 (pooling) adds to cnnbook.plot."""
from plot_helpers import close_figures  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


def test_the_pooling_figures_are_exported():
    for name in ("plot_intervals", "plot_table", "plot_lines"):
        assert name in plot.__all__ and callable(getattr(plot, name))


def test_plot_intervals_draws_one_bar_per_interval_and_one_tick_per_row():
    rows = {"SPP rule": [(0, 2), (1, 3), (2, 4), (3, 5)], "adaptive": [(0, 2), (1, 4), (3, 5)]}
    fig = plot.plot_intervals(rows, 5, title="in = 5, out = 3")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.patches) == 7                                  # one bar per window
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [2, 2, 2, 2, 2, 2, 3]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["SPP rule\n4 windows", "adaptive\n3 windows"]
    assert ax.get_xlabel() == "input position" and ax.get_title() == "in = 5, out = 3"
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100


def test_plot_intervals_rejects_windows_outside_the_input():
    with pytest.raises(ValueError, match=r"rows\['a'\]: interval \(3, 6\)"):
        plot.plot_intervals({"a": [(0, 2), (3, 6)]}, 5)
    with pytest.raises(ValueError, match="n: expected a positive int"):
        plot.plot_intervals({"a": [(0, 1)]}, 0)
    with pytest.raises(ValueError, match="rows"):
        plot.plot_intervals({}, 3)


def test_plot_table_writes_every_cell_and_labels_the_axes():
    values = np.array([[0.0, 1.0, np.nan], [2.0, 0.0, 1.0]])
    text = [["ok", "+1", "stride 0"], ["+2", "ok", "+1"]]
    fig = plot.plot_table(values, xticklabels=[1, 2, 3], yticklabels=["m=1", "m=2"], xlabel="n",
                          ylabel="m", title="bins", text=text, colorbar_label="extra bins")
    ax = fig.axes[0]
    assert len(fig.axes) == 2                                     # the table and its colour bar
    assert sorted(t.get_text() for t in ax.texts) == sorted(sum(text, []))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m=1", "m=2"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("n", "m", "bins")


def test_plot_table_formats_the_values_when_no_text_is_given():
    fig = plot.plot_table([[1.5, 2.0]], xticklabels=["a", "b"], yticklabels=["r"], xlabel="x",
                          ylabel="y", title="t")
    assert [t.get_text() for t in fig.axes[0].texts] == ["1.5", "2"]
    assert len(fig.axes) == 1


def test_plot_table_rejects_mismatched_labels_and_text():
    with pytest.raises(ValueError, match="xticklabels"):
        plot.plot_table(np.zeros((2, 3)), xticklabels=[1, 2], yticklabels=[1, 2], xlabel="x",
                        ylabel="y", title="t")
    with pytest.raises(ValueError, match="text"):
        plot.plot_table(np.zeros((2, 3)), xticklabels=[1, 2, 3], yticklabels=[1, 2], xlabel="x",
                        ylabel="y", title="t", text=[["a"]])
    with pytest.raises(ValueError, match="values"):
        plot.plot_table(np.zeros(3), xticklabels=[1, 2, 3], yticklabels=[], xlabel="x",
                        ylabel="y", title="t")


def test_plot_lines_draws_one_line_per_curve_over_the_shared_x():
    x = np.linspace(-1, 1, 5)
    fig = plot.plot_lines(x, {"square": x ** 2, "identity": x}, xlabel="t", ylabel="output",
                          title="kinks", styles={"identity": {"linestyle": "--"}})
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["square", "identity"]
    np.testing.assert_allclose(lines[0].get_xdata(), x)
    np.testing.assert_allclose(lines[0].get_ydata(), x ** 2)
    assert lines[1].get_linestyle() == "--"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("t", "output", "kinks")


def test_plot_lines_rejects_curves_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"ys\['a'\]: expected 3 values"):
        plot.plot_lines([0, 1, 2], {"a": [1, 2]}, xlabel="x", ylabel="y", title="t")
    with pytest.raises(ValueError, match="ys"):
        plot.plot_lines([0, 1], {}, xlabel="x", ylabel="y", title="t")
