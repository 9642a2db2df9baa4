"""Chinese terms render in figures without missing-glyph warnings."""
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cnnbook.fonts import CJK_FAMILY, use_cjk_font  # noqa: E402


def test_cjk_font_is_installed_and_registered():
    assert use_cjk_font() is True
    assert CJK_FAMILY in matplotlib.rcParams["font.family"]


def test_chinese_text_renders_without_missing_glyph_warnings():
    use_cjk_font()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_title("padding (填充), convolution (卷积)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.canvas.draw()
    plt.close(fig)


def test_registering_twice_changes_nothing():
    use_cjk_font()
    before = list(matplotlib.rcParams["font.family"])
    use_cjk_font()
    assert list(matplotlib.rcParams["font.family"]) == before
