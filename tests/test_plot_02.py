"""Specification of the figures chapter 2 adds to cnnbook.plot (convolution as a feature detector)."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


def fits_the_page(fig):
    return fig.get_dpi() <= plot.DPI and fig.get_size_inches()[0] <= plot.PAGE_WIDTH


# ---- plot_signal_response -------------------------------------------------------------------
SIGNAL = np.array([10, 10, 10, 20, 20, 10.0])


def test_plot_signal_response_draws_input_above_and_outputs_below_with_labels():
    responses = {"correlate": np.correlate(SIGNAL, [-1, 1], "valid"),
                 "convolve": np.convolve(SIGNAL, [-1, 1], "valid")}
    fig = plot.plot_signal_response(SIGNAL, responses, kernel_size=2, title="edges (边缘)")
    assert isinstance(fig, Figure) and fits_the_page(fig)
    top, bottom = fig.axes
    assert top.get_ylabel() and bottom.get_xlabel() and bottom.get_ylabel()
    assert fig.get_suptitle() == "edges (边缘)"
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == list(responses)
    assert closes_cleanly(fig)


def test_plot_signal_response_puts_each_output_at_the_centre_of_its_window():
    fig = plot.plot_signal_response(SIGNAL, {"y": np.ones(4)}, kernel_size=3)
    markers = [line for line in fig.axes[1].get_lines() if line.get_label() == "y"]
    assert np.allclose(markers[0].get_xdata(), [1, 2, 3, 4])


def test_plot_signal_response_rejects_bad_lengths_and_kernel_sizes():
    with pytest.raises(ValueError, match="responses"):
        plot.plot_signal_response(SIGNAL, {"y": np.ones(3)}, kernel_size=2)
    with pytest.raises(ValueError, match="kernel_size"):
        plot.plot_signal_response(SIGNAL, {"y": np.ones(3)}, kernel_size=9)
    with pytest.raises(ValueError, match="responses"):
        plot.plot_signal_response(SIGNAL, {}, kernel_size=2)
    with pytest.raises(ValueError, match="signal"):
        plot.plot_signal_response(np.zeros((2, 2)), {"y": np.ones(1)}, kernel_size=2)


# ---- plot_kernel_gallery --------------------------------------------------------------------
KERNELS = {"box blur": np.ones((3, 3)) / 9, "edge": np.array([[-1, 0, 1]] * 3, dtype=float)}
MAPS = [np.random.default_rng(0).random((6, 6)), np.random.default_rng(1).standard_normal((6, 6))]


def test_plot_kernel_gallery_draws_kernels_above_their_maps():
    fig = plot.plot_kernel_gallery(KERNELS, MAPS, map_titles=["a", "b"], suptitle="gallery")
    assert isinstance(fig, Figure) and fits_the_page(fig)
    assert len(fig.axes) == 4
    kernel_axes, map_axes = fig.axes[:2], fig.axes[2:]
    assert kernel_axes[0].get_title() == "box blur\n× 1/9"        # the common denominator
    assert kernel_axes[1].get_title() == "edge"
    assert [t.get_text() for t in kernel_axes[0].texts] == ["1"] * 9
    assert [ax.get_xlabel() for ax in map_axes] == ["a", "b"]
    assert fig.get_suptitle() == "gallery"
    assert closes_cleanly(fig)


def test_plot_kernel_gallery_can_leave_kernels_unannotated_and_clip_the_grey_scale():
    fig = plot.plot_kernel_gallery({"learned": np.random.default_rng(2).random((5, 5))},
                                   [np.arange(100.0).reshape(10, 10)], annotate=False, clip=5)
    assert len(fig.axes[0].texts) == 0
    low, high = fig.axes[1].get_images()[0].get_clim()
    assert low == pytest.approx(np.percentile(np.arange(100.0), 5))
    assert high == pytest.approx(np.percentile(np.arange(100.0), 95))


def test_plot_kernel_gallery_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="maps"):
        plot.plot_kernel_gallery(KERNELS, MAPS[:1])
    with pytest.raises(ValueError, match="map_titles"):
        plot.plot_kernel_gallery(KERNELS, MAPS, map_titles=["a"])
    with pytest.raises(ValueError, match="kernels"):
        plot.plot_kernel_gallery({}, [])
    with pytest.raises(ValueError, match="clip"):
        plot.plot_kernel_gallery(KERNELS, MAPS, clip=60)
    with pytest.raises(ValueError, match="kernels"):
        plot.plot_kernel_gallery({"flat": np.ones(3)}, MAPS[:1])


# ---- plot_loss_and_weights ------------------------------------------------------------------
def test_plot_loss_and_weights_draws_a_log_loss_and_every_weight_with_targets():
    steps = 20
    losses = {"NumPy": np.exp(-np.arange(steps)), "PyTorch": np.exp(-np.arange(steps))}
    track = np.c_[np.linspace(0, -1, steps), np.linspace(0, 1, steps)]
    fig = plot.plot_loss_and_weights(losses, {"NumPy": track, "PyTorch": track},
                                     target=[-1, 1], weight_names=["w0", "w1"], title="t")
    assert isinstance(fig, Figure) and fits_the_page(fig)
    left, right = fig.axes
    assert left.get_yscale() == "log" and left.get_xlabel() and left.get_ylabel()
    assert right.get_xlabel() and right.get_ylabel()
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert "w0 (NumPy)" in labels and "w1 (PyTorch)" in labels and "target" in labels
    assert fig.get_suptitle() == "t"
    assert closes_cleanly(fig)


def test_plot_loss_and_weights_rejects_mismatched_runs_and_shapes():
    track = np.zeros((5, 2))
    with pytest.raises(ValueError, match="run names"):
        plot.plot_loss_and_weights({"a": np.ones(5)}, {"b": track})
    with pytest.raises(ValueError, match="weights"):
        plot.plot_loss_and_weights({"a": np.ones(5)}, {"a": np.zeros(5)})
    with pytest.raises(ValueError, match="weight_names"):
        plot.plot_loss_and_weights({"a": np.ones(5)}, {"a": track}, weight_names=["w"])
    with pytest.raises(ValueError, match="target"):
        plot.plot_loss_and_weights({"a": np.ones(5)}, {"a": track}, target=[1, 2, 3])
