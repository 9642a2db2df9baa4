"""Specification of chapter 4's figures in cnnbook.plot: show_arrays, plot_weight_grid, plot_time_vs_work."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnnbook import plot


def test_show_arrays_writes_every_number_in_its_cell_with_titles_symbols_and_frames():
    x = np.arange(9.0).reshape(3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]])
    fig = plot.show_arrays([x, k, [[19, 25], [37, 43]]], ["X", "K", "Y"], between=["$\\star$", "="],
                           highlight=[(0, 0, 2, 2), None, (0, 0, 1, 1)], suptitle="example")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["X", "K", "Y"]
    assert [t.get_text() for t in fig.axes[0].texts] == [str(v) for v in range(9)]
    assert [t.get_text() for t in fig.axes[2].texts] == ["19", "25", "37", "43"]
    assert [t.get_text() for t in fig.texts][:2] == ["$\\star$", "="]
    assert [len(ax.patches) for ax in fig.axes] == [1, 0, 1]
    assert fig.get_suptitle() == "example"
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH + 1e-9 and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_show_arrays_fits_many_columns_on_the_page():
    fig = plot.show_arrays([np.zeros((5, 5))] * 6, ["a"] * 6)
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH + 1e-9
    assert closes_cleanly(fig)


def test_show_arrays_rejects_bad_shapes_and_mismatched_labels():
    with pytest.raises(ValueError, match="2-D"):
        plot.show_arrays([np.zeros(3)], ["a"])
    with pytest.raises(ValueError, match="titles"):
        plot.show_arrays([np.zeros((2, 2))], ["a", "b"])
    with pytest.raises(ValueError, match="between"):
        plot.show_arrays([np.zeros((2, 2))] * 2, ["a", "b"], between=["+", "="])
    with pytest.raises(ValueError, match="highlight"):
        plot.show_arrays([np.zeros((2, 2))] * 2, ["a", "b"], highlight=[None])


def test_plot_weight_grid_draws_one_kernel_per_output_and_input_channel():
    weight = torch.randn(4, 3, 3, 3)
    fig = plot.plot_weight_grid(weight, in_names=["R", "G", "B"], title="a bank of kernels (卷积核)")
    kernels = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert len(kernels) == 12 and len(fig.axes) == 13          # 4 x 3 kernels and a colour bar
    assert [ax.get_title() for ax in kernels[:3]] == ["R", "G", "B"]
    assert [kernels[3 * o].get_ylabel() for o in range(4)] == [f"out {o}" for o in range(4)]
    np.testing.assert_allclose(kernels[5].images[0].get_array(), weight[1, 2].numpy())
    limits = {ax.images[0].get_clim() for ax in kernels}
    assert len(limits) == 1 and limits.pop()[0] == -float(weight.abs().max())   # one symmetric scale
    assert fig.get_suptitle() == "a bank of kernels (卷积核)"
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH + 1e-9
    assert closes_cleanly(fig)


def test_plot_weight_grid_rejects_a_non_4d_weight_and_wrong_names():
    with pytest.raises(ValueError, match="4-D"):
        plot.plot_weight_grid(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="names"):
        plot.plot_weight_grid(np.zeros((2, 3, 1, 1)), in_names=["R", "G"])


def test_plot_time_vs_work_uses_log_axes_with_one_point_per_run_and_a_proportional_guide():
    work = [1e6, 1e7, 1e8]
    fig = plot.plot_time_vs_work(work, {"engine": [1e-4, 1e-3, 1e-2], "torch": [5e-5, 5e-4, 5e-3]},
                                 labels=["a", "b", "c"], title="cost")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "multiply-adds" and ax.get_ylabel() == "time (s)" and ax.get_title() == "cost"
    points = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    guides = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert len(points) == 2 and len(guides) == 2
    np.testing.assert_allclose(points[0].get_xdata(), work)
    x, y = guides[0].get_xdata(), guides[0].get_ydata()
    np.testing.assert_allclose(y / x, 1e-10)                     # slope 1 through the median rate
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "engine: median 10 billion multiply-adds per second"
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c"]
    offsets = [t.xyann for t in ax.texts]              # below right; the largest below left
    assert all(dy < 0 for _, dy in offsets) and offsets[0][0] > 0 < offsets[1][0]
    assert offsets[2][0] < 0 and ax.texts[2].get_ha() == "right"
    assert closes_cleanly(fig)


def test_plot_time_vs_work_rejects_non_positive_or_mismatched_values():
    with pytest.raises(ValueError, match="work"):
        plot.plot_time_vs_work([0, 1], {"a": [1, 1]})
    with pytest.raises(ValueError, match=r"times\['a'\]"):
        plot.plot_time_vs_work([1, 2], {"a": [1]})
    with pytest.raises(ValueError, match="labels"):
        plot.plot_time_vs_work([1, 2], {"a": [1, 2]}, labels=["x"])
