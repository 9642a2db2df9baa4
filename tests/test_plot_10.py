"""Specification of the figure chapter 10 (GoogLeNet and Inception) adds to cnnbook.plot."""
from plot_helpers import close_figures, closes_cleanly  # noqa: F401 (headless backend first)
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


def test_plot_stacked_costs_is_exported():
    assert "plot_stacked_costs" in plot.__all__ and callable(plot.plot_stacked_costs)


def test_every_row_is_one_bar_stacked_from_its_parts():
    params = np.array([[1, 2, 0], [3, 0, 4]])
    macs = np.array([[10, 0, 5], [0, 7, 1]])
    fig = plot.plot_stacked_costs(["a", "b"], ["x", "y", "z"], params, macs, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    for ax, table in zip(fig.axes, (params, macs)):
        bars = ax.patches
        assert len(bars) == 6                                   # rows x parts segments
        widths = np.array([b.get_width() for b in bars]).reshape(3, 2).T   # part-major
        assert np.array_equal(widths, table)
        ends = np.array([b.get_x() + b.get_width() for b in bars]).reshape(3, 2)[-1]
        assert np.array_equal(ends, table.sum(axis=1))           # stacked to the row total
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert [s.split()[0] for s in legend] == ["x", "y", "z"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert closes_cleanly(fig)


def test_the_legend_gives_each_parts_share_of_the_total():
    fig = plot.plot_stacked_costs(["a"], ["x", "y"], [[1, 3]], [[1, 1]])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["x (25 %)", "y (75 %)"]


@pytest.mark.parametrize("params, macs", [
    ([[1, 2]], [[1, 2, 3]]),              # shapes differ from (rows, parts)
    ([[-1, 2]], [[1, 2]]),                # negative count
    ([[0, 0]], [[1, 2]]),                 # zero total
    ([[np.nan, 1]], [[1, 2]]),            # not finite
])
def test_bad_counts_raise_a_value_error_naming_the_argument(params, macs):
    with pytest.raises(ValueError, match="params|macs"):
        plot.plot_stacked_costs(["a"], ["x", "y"], params, macs)


def test_colours_must_match_the_parts():
    with pytest.raises(ValueError, match="colours"):
        plot.plot_stacked_costs(["a"], ["x", "y"], [[1, 2]], [[1, 2]], colours=["red"])


def test_each_panel_labels_its_own_units():
    # parameters in millions on the left, multiply-adds in billions on the right: each
    # panel's tick labels use its own scale (a shared one would print 0.0005 for 0.5 M)
    params = np.array([[5e5, 1e6]])
    macs = np.array([[1e9, 2e9]])
    fig = plot.plot_stacked_costs(["a"], ["x", "y"], params, macs)
    fig.canvas.draw()
    left, right = fig.axes
    assert "(M)" in left.get_xlabel() and "1.50 M" in left.get_xlabel()
    assert "(G)" in right.get_xlabel() and "3.00 G" in right.get_xlabel()
    ticks = [t.get_text() for t in left.get_xticklabels() if t.get_text()]
    assert "1.5" in ticks or "1" in ticks, ticks
    assert all(float(t) <= 2 for t in ticks), ticks


def test_the_inception_diagram_draws_every_layer_with_its_channels():
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    fig = plot.plot_inception_block(192, 64, 96, 128, 16, 32, 32, size=28, title="3a")
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) == 9                      # input, 7 layers, concatenation
    assert len(arrows) == 11                    # 7 layers + 4 branch outputs
    texts = [t.get_text() for t in ax.texts]
    assert "input: 192 × 28 × 28" in texts
    assert "concatenate along the channels: 256 × 28 × 28" in texts   # 64 + 128 + 32 + 32
    for text in ("1 × 1 conv\n64", "1 × 1 conv\n96", "3 × 3 conv\n128", "1 × 1 conv\n16",
                 "5 × 5 conv\n32", "3 × 3 max pool\n192", "1 × 1 conv\n32"):
        assert text in texts, text
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert "plot_inception_block" in plot.__all__


def test_the_inception_diagram_rejects_bad_channel_numbers():
    with pytest.raises(ValueError, match="c3_reduce"):
        plot.plot_inception_block(8, 4, 0, 6, 2, 3, 3)
    with pytest.raises(ValueError, match="c_in"):
        plot.plot_inception_block(2.5, 4, 4, 6, 2, 3, 3)


def test_the_network_diagram_draws_every_layer_and_joins_them_in_order():
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    parts = {"stem": [("7 × 7 conv", "64 × 112 × 112"), ("max pool", "64 × 56 × 56")],
             "body": [("inception (3a)", "256 × 28 × 28")],
             "head": [("global avg pool", "1024"), ("dense", "1000"), ("x", "y")]}
    fig = plot.plot_network_parts(parts, title="t")
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) == 6 and len(arrows) == 5            # a chain through all parts
    texts = [t.get_text() for t in ax.texts]
    for text in ("stem", "body", "head", "7 × 7 conv", "64 × 112 × 112", "inception (3a)"):
        assert text in texts, text
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH and fig.get_dpi() <= 100
    assert "plot_network_parts" in plot.__all__
    assert closes_cleanly(fig)


@pytest.mark.parametrize("parts", [{}, [("a", "b")], {"stem": []}, {"stem": [("a",)]}])
def test_the_network_diagram_rejects_bad_parts(parts):
    with pytest.raises(ValueError, match="parts"):
        plot.plot_network_parts(parts)


def _small_network():
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            return self.conv(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.ReLU(),
                                      nn.MaxPool2d(3, stride=2, padding=1),
                                      nn.LocalResponseNorm(5))
            self.block1a = Block()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.dropout = nn.Dropout(0.4)
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            x = self.avgpool(self.block1a(self.stem(x)))
            return self.fc(self.dropout(self.flatten(x)))

    return Net()


def test_network_parts_gives_each_part_its_layers_with_labels_and_shapes():
    parts = plot.network_parts(_small_network(), (3, 32, 32), {
        "stem": ["stem"], "body": ["block1a"], "head": ["avgpool", "flatten", "dropout", "fc"]})
    assert parts == {
        "stem": [("5 × 5 conv, stride 2", "8 × 16 × 16"), ("3 × 3 max pool, stride 2", "8 × 8 × 8"),
                 ("LRN", "8 × 8 × 8")],                     # the ReLU left out
        "body": [("block (1a)", "8 × 8 × 8")],             # a block is one box
        "head": [("global average pool", "8 × 1 × 1"), ("dropout (40 %)", "8"), ("dense", "10")],
    }
    assert "network_parts" in plot.__all__


def test_network_parts_of_googlenet_match_the_paper_s_sizes():
    import torch

    from cnnbook import models

    with torch.device("meta"):
        model = models.googlenet()
    children = [name for name, _ in model.named_children()]
    end = children.index("avgpool")
    parts = plot.network_parts(model, (3, 224, 224), {
        "stem": ["stem"], "body": children[1:end], "head": children[end:]})
    assert parts["stem"][0] == ("7 × 7 conv, stride 2", "64 × 112 × 112")
    assert parts["stem"][-1] == ("3 × 3 max pool, stride 2", "192 × 28 × 28")
    assert parts["body"][0] == ("inception (3a)", "256 × 28 × 28")
    assert parts["body"][-1] == ("inception (5b)", "1024 × 7 × 7")
    assert [label for label, _ in parts["head"]] == ["global average pool", "dropout (40 %)",
                                                     "dense"]


@pytest.mark.parametrize("parts", [{}, {"stem": ["no_such_child"]}])
def test_network_parts_rejects_bad_parts(parts):
    with pytest.raises(ValueError, match="parts"):
        plot.network_parts(_small_network(), (3, 32, 32), parts)
