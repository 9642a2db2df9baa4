"""The kernel-sliding animation of chapter 3 (cnnbook.plot.animate_conv) and its static strip."""
from plot_helpers import close_figures  # noqa: F401 (headless backend first)
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnbook import plot
from cnnbook import functional as engine

X = np.random.default_rng(0).integers(0, 10, (5, 6)).astype(np.float64)
KERNEL = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
CASES = [dict(padding=1, stride=2), dict(padding=0, stride=1), dict(padding=((0, 1), (2, 1)), stride=(2, 3))]


def _torch_pad(padding):
    (top, bottom), (left, right) = plot._pads_pair(padding)
    return (left, right, top, bottom)


@pytest.mark.parametrize("case", CASES)
def test_one_frame_per_output_each_window_is_the_convolutions_window(case):
    anim = plot.animate_conv(X, KERNEL, **case)
    assert isinstance(anim, FuncAnimation)
    slide = anim.slide
    xp = F.pad(torch.from_numpy(X)[None, None], _torch_pad(case["padding"]))
    stride = case["stride"]
    reference = F.conv2d(xp, torch.from_numpy(KERNEL)[None, None], stride=stride)[0, 0].numpy()
    assert slide.out_shape == reference.shape
    assert len(slide) == reference.size == len(list(anim.new_frame_seq()))
    np.testing.assert_allclose(slide.out, reference, atol=1e-12)
    engine_out = engine.conv2d(np.pad(X, plot._pads_pair(case["padding"]))[None, None],
                               KERNEL[None, None], stride=stride)[0, 0]
    np.testing.assert_allclose(slide.out, engine_out, atol=1e-12)
    unfold = F.unfold(xp, KERNEL.shape, stride=stride)[0].T.numpy()   # one row per window
    ax = anim._fig.axes[0]
    anim._init_draw()   # what a player does first (frame 0)
    for t, (r0, c0) in enumerate(slide.windows):
        i, j = divmod(t, slide.out_shape[1])
        anim._draw_frame(t)
        outline = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == "window"]
        assert len(outline) == 1
        (c, r), h, w = outline[0].get_xy(), outline[0].get_height(), outline[0].get_width()
        assert (r, c, h, w) == (r0, c0, *KERNEL.shape)
        window = slide.xp[int(r):int(r) + h, int(c):int(c) + w]
        np.testing.assert_array_equal(window.ravel(), unfold[t])   # conv2d's window t
        assert np.sum(window * KERNEL) == pytest.approx(reference[i, j])
        written = [text.get_text() for text in ax.texts if text.get_text()]   # not the arrow
        assert ax.get_title() == f"output ({i}, {j}) ← window at ({r0}, {c0})"
        assert len(written) == slide.xp.size + t + 1   # the outputs so far are filled in


def test_the_player_is_reproducible_and_offline():
    html = [plot.animation_html(plot.animate_conv(X, KERNEL, padding=1, stride=2), "slide_a").html
            for _ in range(2)]
    assert html[0] == html[1]
    assert not re.search(r"[0-9a-f]{32}", html[0].replace("base64,", " ").split("data:")[0])
    assert "animslide_a" in html[0] and "https://" not in html[0] and "http://" not in html[0]
    assert html[0].count("data:image/png;base64,") == 9
    assert len(html[0]) < 400_000, "keep the notebook light"
    text = repr(plot.animation_html(plot.animate_conv(X, KERNEL, padding=1, stride=2), "b"))
    assert text.startswith("[animation: 9 frames")


def test_animation_html_rejects_a_name_that_is_not_an_html_id():
    anim = plot.animate_conv(X, KERNEL)
    anim._init_draw()
    with pytest.raises(ValueError, match="name"):
        plot.animation_html(anim, "two words")


def test_strip_shows_the_chosen_frames_and_fits_the_page():
    fig = plot.conv_strip(X, KERNEL, padding=1, stride=2, frames=(0, 1, -1), suptitle="stride 2")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert fig.get_size_inches()[0] <= plot.PAGE_WIDTH + 1e-9
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("frame 1 of 9") and titles[2].startswith("frame 9 of 9")
    with pytest.raises(ValueError, match="frames"):
        plot.conv_strip(X, KERNEL, padding=1, stride=2, frames=(9,))


def test_kernel_that_does_not_fit_is_an_error():
    with pytest.raises(ValueError, match="does not fit"):
        plot.animate_conv(np.ones((2, 2)), KERNEL)
