"""Helpers shared by the tests that build the book: the build itself and the system tools it needs.

The web book needs only the Python packages of the lock file. The browser test and the PDF
edition also need Debian packages (Chromium, TeX Live, poppler, the Noto CJK fonts). Where they
are missing, those tests are skipped with the reason and the install line, and the summary of
``make test`` says so (see the root ``conftest.py``); ``.ci/run`` installs them and sets
``CNNBOOK_REQUIRE_SYSTEM_PACKAGES=1``, which turns such a skip into a failure.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

# The marker the root conftest.py looks for: such a skip is reported, not counted as a failure.
SYSTEM_SKIP = "[system packages missing]"
BROWSER_PACKAGES = "chromium fonts-noto-cjk"
PDF_PACKAGES = ("texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended "
                "texlive-lang-chinese latexmk fonts-freefont-otf fonts-noto-cjk poppler-utils")
APT_LINE = f"sudo apt-get install --no-install-recommends {BROWSER_PACKAGES} {PDF_PACKAGES}"


def build(book, out=None, builder="html"):
    """``jupyter-book build -W -n --keep-going`` of ``book`` (into ``out/_build`` if given)."""
    output = ["--path-output", str(out)] if out else []
    return subprocess.run([str(JUPYTER_BOOK), "build", "-W", "-n", "--keep-going", "--builder", builder,
                           *output, str(book)], capture_output=True, text=True, timeout=1800)


def build_warnings(result):
    """The lines of a build's log that report a warning or an error."""
    log = result.stdout + result.stderr
    return [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]


def missing_system_tools(what: str, packages: str, *, commands=(), fonts=()):
    """Skip (or, in CI, fail) when a command or a font of ``packages`` is missing."""
    missing = [command for command in commands if not shutil.which(command)]
    for font in fonts:
        listed = subprocess.run(["fc-list", font], capture_output=True, text=True) if shutil.which("fc-list") else None
        if listed is None or not listed.stdout.strip():
            missing.append(f"the font {font!r}")
    if not missing:
        return
    message = (f"{what} did not run: {', '.join(missing)} not found. Install with: "
               f"sudo apt-get install --no-install-recommends {packages}")
    if os.environ.get("CNNBOOK_REQUIRE_SYSTEM_PACKAGES") == "1":
        pytest.fail(message)
    pytest.skip(f"{SYSTEM_SKIP} {message}")
