"""cnnbook.check: the one tolerance policy, and assert_close's bound built on it."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnbook.check import assert_close, tolerance

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dtype", [np.float64, "float64", np.dtype("float64"), torch.float64])
def test_tolerance_is_1e_10_in_float64_whatever_names_the_dtype(dtype):
    assert tolerance(dtype) == 1e-10


@pytest.mark.parametrize("dtype", [np.float32, "float32", np.dtype("float32"), torch.float32])
def test_tolerance_is_1e_5_in_float32_whatever_names_the_dtype(dtype):
    assert tolerance(dtype) == 1e-5


@pytest.mark.parametrize("dtype", [np.float16, np.int64, "complex128", torch.bfloat16, "nonsense"])
def test_tolerance_refuses_dtypes_without_a_policy(dtype):
    with pytest.raises(ValueError, match="dtype: expected float32 or float64"):
        tolerance(dtype)


def test_the_book_states_the_tolerances_of_the_policy():
    # the appendix and the README give the tolerances in words: they must be the policy's
    for path in (ROOT / "appendix" / "engine.md", ROOT / "README.md"):
        text = path.read_text(encoding="utf-8")
        for dtype in ("float64", "float32"):
            exponent = round(np.log10(tolerance(dtype)))
            stated = {f"10^{{{exponent}}}", f"1e{exponent}"}
            assert any(s in text for s in stated), f"{path.name} does not state 1e{exponent} for {dtype}"
        assert not re.search(r"1e-(?!10\b|5\b)\d+ in float|10\^\{-(?!10\}|5\})\d+\}\$ in `float", text)


def test_assert_close_defaults_to_the_float64_tolerance():
    assert_close(np.array([1.0]), np.array([1.0 + 1e-11]))
    with pytest.raises(AssertionError, match="rtol=1e-10, atol=1e-10"):
        assert_close(np.array([1.0]), np.array([1.0 + 1e-8]))


def test_assert_close_uses_the_float32_tolerance_when_either_side_is_float32():
    a = np.array([1.0], dtype=np.float32)
    assert_close(a, np.array([1.0 + 1e-6]))
    assert_close(torch.tensor([1.0 + 1e-6], dtype=torch.float64), a)
    with pytest.raises(AssertionError, match="rtol=1e-05"):
        assert_close(a, np.array([1.001]))


def test_assert_close_explicit_tolerances_override_the_policy():
    assert_close(np.array([1.0]), np.array([1.1]), rtol=0, atol=0.2)
    with pytest.raises(AssertionError):
        assert_close(np.array([1.0]), np.array([1.0 + 1e-12]), rtol=0, atol=0)


def test_assert_close_treats_nan_in_both_places_as_equal_and_elsewhere_as_a_failure():
    assert_close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    with pytest.raises(AssertionError, match="NaN in different places"):
        assert_close(np.array([np.nan, 1.0]), np.array([1.0, 1.0]))


def test_assert_close_names_the_worst_element_and_the_shape_mismatch():
    with pytest.raises(AssertionError, match=r"worst at index \(1,\)"):
        assert_close(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.1]))
    with pytest.raises(AssertionError, match="shape mismatch"):
        assert_close(np.zeros(3), np.zeros(4))
