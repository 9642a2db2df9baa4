"""Specification of chapter 3's figures in cnnbook.plot: padding/stride windows, heat maps with
boxes, and images drawn to scale."""
from plot_helpers import close_figures  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnbook import plot


def _fits_the_page(fig):
    width, _ = fig.get_size_inches()
    return width <= plot.PAGE_WIDTH + 1e-9 and fig.get_dpi() <= plot.DPI


def test_plot_conv_windows_draws_one_panel_per_case_with_the_output_size_in_its_title():
    x = np.arange(9.0).reshape(3, 3)
    fig = plot.plot_conv_windows([
        dict(x=x, kernel_size=2, pads=1, title="padding 1"),
        dict(x=x, kernel_size=2, pads=1, stride=(3, 2), out=[[0, 8], [6, 8]]),
    ], suptitle="填充和步幅")
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and _fits_the_page(fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("padding 1") and "4x4" in titles[0]
    assert "stride 3x2" in titles[1] and "2x2" in titles[1]
    assert fig.get_suptitle() == "填充和步幅"


def test_plot_conv_windows_marks_padding_cells_and_the_chosen_windows():
    fig = plot.plot_conv_windows([dict(x=(2, 3), kernel_size=2, pads=((0, 0), (0, 1)), stride=2)])
    ax = fig.axes[0]
    grey = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_facecolor()[:3] == (0.85,) * 3]
    assert len(grey) == 2                                   # one padded column of height 2
    outlined = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(outlined) == 2                               # both outputs of the 1 x 2 result
    assert [t.get_text() for t in ax.texts].count("0") == 2  # padding cells show their zeros


def test_plot_conv_windows_picks_the_corners_of_a_large_output_by_default():
    fig = plot.plot_conv_windows([dict(x=(6, 6), kernel_size=3)])
    outlined = [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(outlined) == 4


def test_plot_conv_windows_rejects_bad_cases():
    with pytest.raises(ValueError, match="at least one"):
        plot.plot_conv_windows([])
    with pytest.raises(ValueError, match="does not fit"):
        plot.plot_conv_windows([dict(x=(2, 2), kernel_size=3)])
    with pytest.raises(ValueError, match="out"):
        plot.plot_conv_windows([dict(x=(3, 3), kernel_size=2, out=np.zeros((3, 3)))])
    with pytest.raises(ValueError, match="window"):
        plot.plot_conv_windows([dict(x=(3, 3), kernel_size=2, windows=[(5, 0)])])
    with pytest.raises(ValueError, match="x"):
        plot.plot_conv_windows([dict(kernel_size=2)])


def test_plot_heatmaps_draws_a_labelled_panel_and_colour_bar_per_array_and_the_boxes():
    arrays = [np.ones((5, 5)), np.arange(16.0).reshape(4, 4)]
    fig = plot.plot_heatmaps(arrays, ["ones", "ramp"], boxes=[None, (1, 1, 2, 2)],
                             cbar_label="count", annotate=True, suptitle="感受野")
    assert isinstance(fig, Figure) and _fits_the_page(fig)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["ones", "ramp"]
    assert len(fig.axes) == 4                                # two panels, two colour bars
    assert all(ax.get_xlabel() == "column" and ax.get_ylabel() == "row" for ax in panels)
    assert len(panels[0].patches) == 0 and len(panels[1].patches) == 1
    assert len(panels[1].texts) == 16                        # annotated values


def test_plot_heatmaps_rejects_mismatched_arguments():
    with pytest.raises(ValueError, match="2-D"):
        plot.plot_heatmaps([np.zeros(3)], ["a"])
    with pytest.raises(ValueError, match="titles"):
        plot.plot_heatmaps([np.zeros((2, 2))], ["a", "b"])
    with pytest.raises(ValueError, match="boxes"):
        plot.plot_heatmaps([np.zeros((2, 2))], ["a"], boxes=[None, None])


def test_show_images_to_scale_keeps_the_relative_sizes():
    big, small = np.zeros((32, 32)), np.zeros((4, 4))
    fig = plot.show_images_to_scale([[big, small], [big]], [["32", "4"], ["same"]],
                                    row_labels=["valid", "same"], suptitle="shrinking")
    assert isinstance(fig, Figure) and _fits_the_page(fig) and len(fig.axes) == 3
    widths = [ax.get_position().width for ax in fig.axes]
    assert widths[0] == pytest.approx(8 * widths[1])
    assert widths[2] == pytest.approx(widths[0])
    assert [ax.get_title() for ax in fig.axes] == ["32", "4", "same"]


def test_show_images_to_scale_rejects_bad_rows():
    with pytest.raises(ValueError, match="rows"):
        plot.show_images_to_scale([])
    with pytest.raises(ValueError, match="rows"):
        plot.show_images_to_scale([[np.zeros(3)]])
    with pytest.raises(ValueError, match="titles"):
        plot.show_images_to_scale([[np.zeros((2, 2))]], [["a", "b"]])
    with pytest.raises(ValueError, match="row_labels"):
        plot.show_images_to_scale([[np.zeros((2, 2))]], row_labels=["a", "b"])



def test_plot_conv_windows_enlarges_the_text_with_the_cell():
    case = dict(x=np.arange(9.0).reshape(3, 3), kernel_size=2, pads=1)
    small = plot.plot_conv_windows([case])
    big = plot.plot_conv_windows([case], cell=0.64)
    assert _fits_the_page(big)
    assert big.get_size_inches()[0] > 1.5 * small.get_size_inches()[0]

    def sizes(fig):
        ax = fig.axes[0]
        return {t.get_fontsize() for t in ax.texts if t.get_text()}, ax.title.get_fontsize()

    (cells_small,), title_small = sizes(small)
    (cells_big,), title_big = sizes(big)
    assert cells_big == pytest.approx(2 * cells_small)
    assert title_big == pytest.approx(2 * title_small)
