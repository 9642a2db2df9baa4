"""Specification of cnnbook.plot: every helper returns a labelled Figure that closes cleanly."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnnbook import plot


def test_show_images_draws_one_titled_axes_per_image():
    fig = plot.show_images(np.random.default_rng(0).random((5, 1, 8, 8)), titles=list("abcde"), ncols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes] == list("abcde")
    assert fig.get_dpi() <= 100 and fig.get_size_inches()[0] <= plot.PAGE_WIDTH
    assert closes_cleanly(fig)


def test_show_images_accepts_colour_tensors_lists_and_boxes():
    colour = torch.rand(2, 3, 6, 6)
    fig = plot.show_images(colour, suptitle="colour")
    assert len(fig.axes) == 2 and fig.get_suptitle() == "colour"
    fig = plot.show_images([np.zeros((4, 4)), np.ones((4, 4))], boxes=[None, (1, 1, 2, 2)])
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == 0 and len(fig.axes[1].patches) == 1
    assert closes_cleanly(fig)


def test_show_images_rejects_mismatched_titles_and_bad_shapes():
    with pytest.raises(ValueError, match="titles"):
        plot.show_images(np.zeros((3, 4, 4)), titles=["a"])
    with pytest.raises(ValueError, match="channels"):
        plot.show_images(np.zeros((2, 5, 4, 4)))


def test_plot_matrices_draws_one_labelled_panel_per_matrix_and_a_colour_bar():
    fig = plot.plot_matrices([np.eye(4), -np.eye(4)], ["plus", "minus"], xlabel="in", ylabel="out")
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["plus", "minus"]
    assert all(ax.get_xlabel() == "in" for ax in panels) and panels[0].get_ylabel() == "out"
    assert len(fig.axes) == 3   # two panels + colour bar
    assert closes_cleanly(fig)


def test_plot_curves_draws_one_panel_per_metric_and_one_line_per_run():
    histories = {"MLP": {"train_acc": [0.5, 0.7, 0.9], "test_acc": [0.4, 0.5, 0.6]},
                 "CNN": {"train_acc": [0.6, 0.8, 1.0], "test_acc": [0.6, 0.8, 0.9]}}
    fig = plot.plot_curves(histories, title="runs")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    for ax, label in zip(fig.axes, ["training accuracy", "test accuracy"]):
        assert ax.get_ylabel() == label and ax.get_xlabel() == "epoch"
        assert len(ax.get_lines()) == 2
        np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert closes_cleanly(fig)


def test_plot_curve_bands_draws_the_mean_and_a_min_max_band_per_run():
    runs = {"CNN": [{"test_acc": [0.2, 0.6, 0.8]}, {"test_acc": [0.4, 0.8, 1.0]}],
            "MLP": [{"test_acc": [0.5, 0.5, 0.5]}, {"test_acc": [0.5, 0.5, 0.5]}]}
    fig = plot.plot_curve_bands(runs, key="test_acc")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_xlabel() == "epoch" and ax.get_ylabel() == "test accuracy"
    lines = ax.get_lines()
    assert len(lines) == 2 and len(ax.collections) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [0.3, 0.7, 0.9])
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(0.2) and band.max() == pytest.approx(1.0)
    assert "mean of 2" in lines[0].get_label()
    assert closes_cleanly(fig)


def test_plot_curve_bands_rejects_seeds_of_different_lengths_and_missing_metrics():
    with pytest.raises(ValueError, match=r"runs\['a'\]: the seeds have different numbers of values"):
        plot.plot_curve_bands({"a": [{"acc": [1.0]}, {"acc": [1.0, 2.0]}]}, key="acc")
    with pytest.raises(ValueError, match=r"runs\['a'\]: history 0 has no metric 'loss'"):
        plot.plot_curve_bands({"a": [{"acc": [1.0]}]}, key="loss")


def test_plot_curves_rejects_a_missing_metric():
    with pytest.raises(ValueError, match="loss"):
        plot.plot_curves({"a": {"acc": [1.0]}}, keys=["loss"])


def test_plot_bars_writes_every_value_and_groups_series():
    fig = plot.plot_bars({"MLP": {"original": 0.9, "shuffled": 0.9}, "CNN": {"original": 0.95, "shuffled": 0.7}},
                         ylabel="accuracy", title="shuffle", fmt="{:.2f}")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_ylabel() == "accuracy" and ax.get_title() == "shuffle"
    assert len(ax.patches) == 4
    assert sorted(t.get_text() for t in ax.texts) == ["0.70", "0.90", "0.90", "0.95"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["original", "shuffled"]
    assert closes_cleanly(fig)


def test_plot_param_counts_uses_a_log_axis_and_powers_of_ten():
    fig = plot.plot_param_counts({"dense": 1e12, "local": 1e8, "conv": 100})
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_yscale() == "log" and ax.get_ylabel()
    assert [t.get_text() for t in ax.texts] == ["$10^{12}$", "$10^{8}$", "$10^{2}$"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["dense", "local", "conv"]
    assert closes_cleanly(fig)


def test_plot_param_counts_rejects_non_positive_counts():
    with pytest.raises(ValueError, match="positive"):
        plot.plot_param_counts({"a": 0})


def test_plot_connectivity_draws_three_panels_with_one_line_per_connection():
    fig = plot.plot_connectivity(7, 3)
    assert len(fig.axes) == 3
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["dense (全连接)\n35 weights", "locally connected (局部连接)\n15 weights",
                      "convolution (卷积)\n3 weights"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [35, 15, 15]
    conv_colours = {tuple(line.get_color()) for line in fig.axes[2].get_lines()}
    assert len(conv_colours) == 3          # shared weights share a colour
    assert all(ax.get_xlabel() == "position" for ax in fig.axes)
    assert closes_cleanly(fig)


def test_chinese_figure_text_draws_without_missing_glyph_warnings():
    fig = plot.plot_connectivity(5, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.canvas.draw()
    plt.close(fig)


def test_plot_connectivity_rejects_a_kernel_wider_than_the_input():
    with pytest.raises(ValueError, match="kernel_size"):
        plot.plot_connectivity(3, 5)


def test_plot_curves_leaves_the_per_step_loss_of_a_training_history_out_by_default():
    history = {"step_loss": [1.0, 0.9, 0.8, 0.7], "loss": [0.9, 0.7], "test_acc": [0.5, 0.6]}
    fig = plot.plot_curves({"run": history})
    assert len(fig.axes) == 2
