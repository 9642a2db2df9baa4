"""Numerical checks used throughout the book.

``assert_close`` compares two arrays (NumPy or PyTorch) and, when they differ, says by how much
and where; ``gradcheck`` compares an analytic gradient with central finite differences.
"""
from __future__ import annotations

import numpy as np

__all__ = ["to_numpy", "assert_close", "max_abs_diff", "gradcheck"]


def to_numpy(a):
    """Return ``a`` as a NumPy array; accepts arrays, scalars, lists and torch tensors."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch.Tensor, without importing torch
        return a.detach().cpu().numpy()
    return np.asarray(a)


def max_abs_diff(actual, expected) -> float:
    """Largest absolute elementwise difference between two arrays of the same shape."""
    a, b = to_numpy(actual), to_numpy(expected)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: actual {a.shape}, expected {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def assert_close(actual, expected, *, rtol: float = 1e-10, atol: float = 1e-10, name: str = "value"):
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    Parameters
    ----------
    actual, expected : array_like or torch.Tensor
        Same shape. Tensors are detached and moved to the CPU.
    rtol, atol : float
        Relative and absolute tolerance. The book uses 1e-10 in float64 and 1e-5 in float32.
    name : str
        What is being compared, used in the error message.

    Raises
    ------
    AssertionError
        With the shapes, the largest absolute and relative errors and where the worst one is.
    """
    a, b = to_numpy(actual), to_numpy(expected)
    if a.shape != b.shape:
        raise AssertionError(f"{name}: shape mismatch: actual {a.shape}, expected {b.shape}")
    if a.size == 0:
        return
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if np.any(nan_a != nan_b):
        raise AssertionError(
            f"{name}: NaN in different places: {int(nan_a.sum())} NaN in actual, {int(nan_b.sum())} in expected"
        )
    diff = np.abs(np.where(nan_a, 0.0, a64 - b64))
    bound = atol + rtol * np.abs(np.where(nan_b, 0.0, b64))
    bad = diff > bound
    if np.any(bad):
        worst = np.unravel_index(np.argmax(diff - bound), a.shape)
        rel = diff / np.maximum(np.abs(b64), np.finfo(np.float64).tiny)
        raise AssertionError(
            f"{name}: {int(bad.sum())} of {a.size} elements differ (shape {a.shape}, "
            f"rtol={rtol:g}, atol={atol:g}); max abs error {diff.max():.3e}, "
            f"max rel error {rel.max():.3e}; worst at index {tuple(int(i) for i in worst)}: "
            f"actual {a64[worst]!r}, expected {b64[worst]!r}"
        )


def gradcheck(f, x, dout=None, analytic=None, *, eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-8,
              name: str = "gradient"):
    """Check an analytic gradient against central finite differences (float64).

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray``; the scalar checked is ``sum(f(x) * dout)``.
    x : ndarray
        The point at which to differentiate; cast to float64 (not modified).
    dout : ndarray, optional
        Upstream gradient, same shape as ``f(x)``. Default: random normal, fixed seed.
    analytic : ndarray
        The gradient to check, same shape as ``x``.

    Returns
    -------
    numeric : ndarray
        The finite-difference gradient, for inspection.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    y = np.asarray(f(x), dtype=np.float64)
    if dout is None:
        dout = np.random.default_rng(0).standard_normal(y.shape)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != y.shape:
        raise ValueError(f"dout: expected shape {y.shape} (the shape of f(x)), got {dout.shape}")
    numeric = np.zeros_like(x)
    flat, grad = x.reshape(-1), numeric.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = float(np.sum(np.asarray(f(x), dtype=np.float64) * dout))
        flat[i] = old - eps
        minus = float(np.sum(np.asarray(f(x), dtype=np.float64) * dout))
        flat[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    if analytic is not None:
        assert_close(analytic, numeric, rtol=rtol, atol=atol, name=name)
    return numeric
