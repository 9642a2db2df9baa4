"""Register a CJK font with matplotlib so that figures can show Chinese terms (e.g. 卷积).

The book's dependencies include ``noto-cjk-sans-otc`` (Noto Sans CJK). Where it is missing, the
figures fall back to matplotlib's default font and Chinese text should be left out of them.
"""
from __future__ import annotations

import matplotlib
from matplotlib import font_manager

__all__ = ["CJK_FAMILY", "use_cjk_font"]

CJK_FAMILY = "Noto Sans CJK SC"


def use_cjk_font() -> bool:
    """Put Noto Sans CJK behind matplotlib's default font as a fallback for CJK glyphs.

    Returns True if the font was found and registered, False otherwise (nothing changes then).
    Latin text keeps the default font (DejaVu Sans); only characters it lacks use the CJK font.
    """
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return False
    path = str(noto_cjk_sans_otc.FONT_PATH)
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    families = list(matplotlib.rcParams["font.family"])
    if families == ["sans-serif"]:
        families = ["DejaVu Sans"]
    if CJK_FAMILY not in families:
        matplotlib.rcParams["font.family"] = families + [CJK_FAMILY]
    return True
