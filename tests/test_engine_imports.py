"""The engine (cnnbook.functional, cnnbook.nn, cnnbook.optim) imports NumPy and itself, nothing else.

Each engine module is imported in a fresh interpreter; the test fails if any other cnnbook
module, or torch, matplotlib, tqdm, scipy, scikit-learn, scikit-image or PIL, is then loaded.
"""
import subprocess
import sys

import pytest

ENGINE = ("cnnbook.functional", "cnnbook.nn", "cnnbook.optim")
MODULES = ENGINE + tuple(f"cnnbook.functional.{m}" for m in (
    "_checks", "activation", "conv", "dropout", "linear", "loss", "normalization", "padding",
    "pooling"))
FORBIDDEN = ("torch", "matplotlib", "tqdm", "scipy", "sklearn", "skimage", "PIL", "pandas")

PROBE = """
import sys
import {module}
engine = {engine!r}
outside = sorted(m for m in sys.modules
                 if m.startswith("cnnbook.") and not m.startswith(tuple(e for e in engine)))
foreign = sorted({{m.split(".")[0] for m in sys.modules}} & set({forbidden!r}))
print(outside, foreign)
"""


@pytest.mark.parametrize("module", MODULES)
def test_engine_module_imports_only_numpy_and_the_engine(module):
    code = PROBE.format(module=module, engine=ENGINE, forbidden=FORBIDDEN)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []", f"importing {module} also loads: {out.stdout.strip()}"


def test_the_probe_notices_a_module_outside_the_engine():
    # the test above would pass vacuously if the probe could not see anything
    code = PROBE.format(module="cnnbook.check", engine=ENGINE, forbidden=FORBIDDEN)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "cnnbook.check" in out.stdout
