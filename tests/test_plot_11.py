"""Specification of the figure chapter 11 (ResNet) adds to cnnbook.plot."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


def test_plot_gradient_norms_is_exported():
    assert "plot_gradient_norms" in plot.__all__ and callable(plot.plot_gradient_norms)


def test_one_log_panel_per_entry_one_line_per_network_geometric_mean_and_range():
    plain = np.array([[1.0, 10.0, 100.0], [4.0, 40.0, 400.0]])
    residual = np.array([[1.0, 2.0, 3.0]])
    fig = plot.plot_gradient_norms({"at initialisation": {"plain": plain,
                                                          "residual": residual},
                                    "after training": {"plain": plain[0]}},
                                   suptitle="s")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    first, second = fig.axes
    assert first.get_yscale() == "log" and second.get_yscale() == "log"
    assert [ax.get_title() for ax in fig.axes] == ["at initialisation", "after training"]
    lines = first.get_lines()
    assert len(lines) == 2
    assert np.array_equal(lines[0].get_xdata(), [1, 2, 3])
    assert np.allclose(lines[0].get_ydata(), [2.0, 20.0, 200.0])     # geometric mean
    assert np.allclose(lines[1].get_ydata(), [1.0, 2.0, 3.0])
    band = first.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band.min(), 1.0) and np.isclose(band.max(), 400.0)
    assert len(first.collections) == 1                   # one seed: no band
    labels = [t.get_text() for t in first.get_legend().get_texts()]
    assert labels == ["plain (2 seeds)", "residual"]
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert first.get_ylabel() and first.get_xlabel()
    assert closes_cleanly(fig)


@pytest.mark.parametrize("panels, message", [
    ({}, "panels: expected a non-empty mapping"),
    ({"a": {}}, r"panels\['a'\]: expected a non-empty mapping"),
    ({"a": {"x": np.ones((2, 3, 4))}}, r"expected shape \(seeds, layers\)"),
    ({"a": {"x": [1.0, 0.0]}}, "positive and finite"),
    ({"a": {"x": [1.0, np.nan]}}, "positive and finite"),
])
def test_bad_input_raises_value_errors(panels, message):
    with pytest.raises(ValueError, match=message):
        plot.plot_gradient_norms(panels)


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_plot_residual_blocks_is_exported():
    assert "plot_residual_blocks" in plot.__all__ and callable(plot.plot_residual_blocks)


def test_three_blocks_plain_basic_and_bottleneck_with_projection():
    fig = plot.plot_residual_blocks(32, 64, 16, stride=2, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    plain, basic, bottleneck = fig.axes
    assert [ax.get_title() for ax in fig.axes] == [
        "plain block", "basic block", "bottleneck block, projection shortcut"]
    assert "+" not in _texts(plain) and not plain.get_lines()           # no shortcut
    assert _texts(plain) == ["input: 32", "3 × 3 conv, 32", "BN, ReLU", "3 × 3 conv, 32",
                             "BN", "ReLU", "output: 32"]
    assert "+" in _texts(basic) and "identity" in _texts(basic) and len(basic.get_lines()) == 1
    texts = _texts(bottleneck)
    assert texts[:2] == ["input: 64", "1 × 1 conv/2, 16"] and "output: 64" in texts
    assert "1 × 1 conv/2,\nBN, 64" in texts and "identity" not in texts   # the projection
    assert texts.index("+") == texts.index("BN") + 1                      # add, then ReLU
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_the_bottleneck_shortcut_is_the_identity_when_the_shape_is_kept():
    fig = plot.plot_residual_blocks(64, 512, 128, stride=1)
    bottleneck = fig.axes[2]
    assert bottleneck.get_title() == "bottleneck block, identity shortcut"
    assert "identity" in _texts(bottleneck) and "1 × 1 conv, 128" in _texts(bottleneck)
    fig = plot.plot_residual_blocks(64, 256, 128, stride=1)            # 256 -> 512 channels
    assert fig.axes[2].get_title() == "bottleneck block, projection shortcut"


@pytest.mark.parametrize("kwargs, message", [
    ({"width": 0}, "width: expected a positive int"),
    ({"bottleneck_in": 2.5}, "bottleneck_in: expected a positive int"),
    ({"bottleneck_width": True}, "bottleneck_width: expected a positive int"),
    ({"stride": 3}, "stride: expected 1 or 2"),
])
def test_residual_blocks_bad_input_raises_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot.plot_residual_blocks(**kwargs)
