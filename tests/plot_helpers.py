"""Helpers shared by the tests of cnnbook.plot: a headless backend, no figure left open."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Every test starts and ends with no open figure (import it into a test module)."""
    plt.close("all")
    yield
    plt.close("all")


def closes_cleanly(fig):
    """Close ``fig`` and say whether pyplot forgot it."""
    number = fig.number
    plt.close(fig)
    return not plt.fignum_exists(number)
