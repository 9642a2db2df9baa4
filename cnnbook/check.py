"""Numerical checks used throughout the book.

``tolerance`` is the book's one tolerance policy (1e-10 in float64, 1e-5 in float32);
``assert_close`` compares two arrays (NumPy or PyTorch) within it and, when they differ, says by
how much and where; ``gradcheck`` compares an analytic gradient with central finite differences;
``compare_with_torch`` runs a NumPy-engine model and its PyTorch twin and compares everything.

This module imports the engine (for ``to_numpy``); the engine never imports it.
"""
from __future__ import annotations

import numpy as np

from cnnbook.functional._checks import to_numpy

__all__ = ["tolerance", "to_numpy", "assert_close", "max_abs_diff", "gradcheck", "compare_with_torch"]


_TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}


def tolerance(dtype):
    """The book's tolerance for results in ``dtype``: 1e-10 (float64) or 1e-5 (float32).

    Used as both the relative and the absolute tolerance of :func:`assert_close`
    (``|actual - expected| <= tol + tol * |expected|``). This is the single source of
    the tolerances the book states; tests and chapters call it rather than writing
    numbers.

    Parameters
    ----------
    dtype : numpy dtype, torch dtype or str
        ``np.float64``, ``"float32"``, ``torch.float32``, ...

    Returns
    -------
    tol : float
    """
    name = str(dtype).replace("torch.", "")
    try:
        key = np.dtype(name if name in ("float32", "float64") else dtype)
    except TypeError:
        key = None
    if key not in _TOLERANCE:
        raise ValueError(f"dtype: expected float32 or float64, got {dtype!r}")
    return _TOLERANCE[key]


def _comparison_dtype(a, b):
    """float32 if either array is float32 (the less precise one decides), otherwise float64."""
    return np.float32 if np.float32 in (a.dtype, b.dtype) else np.float64


def _excess(a64, b64, rtol, atol):
    """The one bound of the book: ``|a - b|`` and ``|a - b| / (atol + rtol * |b|)`` elementwise.

    An excess above 1 fails. NaN in both places counts as equal, NaN in one place only as an
    infinite difference.
    """
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    diff = np.where(nan_a | nan_b, np.where(nan_a == nan_b, 0.0, np.inf), np.abs(a64 - b64))
    bound = atol + rtol * np.abs(np.where(nan_b, 0.0, b64))
    with np.errstate(divide="ignore", invalid="ignore"):
        return diff, np.where(diff == 0, 0.0, diff / bound)


def max_abs_diff(actual, expected) -> float:
    """Largest absolute elementwise difference between two arrays of the same shape."""
    a, b = to_numpy(actual), to_numpy(expected)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: actual {a.shape}, expected {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def assert_close(actual, expected, *, rtol=None, atol=None, name: str = "value"):
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    Parameters
    ----------
    actual, expected : array_like or torch.Tensor
        Same shape. Tensors are detached and moved to the CPU.
    rtol, atol : float, optional
        Relative and absolute tolerance. Default: :func:`tolerance` of the less precise of the
        two dtypes (1e-10 in float64, 1e-5 in float32).
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
    tol = tolerance(_comparison_dtype(a, b))
    rtol = tol if rtol is None else rtol
    atol = tol if atol is None else atol
    if a.size == 0:
        return
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if np.any(nan_a != nan_b):
        raise AssertionError(
            f"{name}: NaN in different places: {int(nan_a.sum())} NaN in actual, {int(nan_b.sum())} in expected"
        )
    diff, excess = _excess(a64, b64, rtol, atol)
    bad = excess > 1
    if np.any(bad):
        worst = np.unravel_index(np.argmax(excess), a.shape)
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


class ComparisonReport(dict):
    """``name -> largest absolute difference`` between the NumPy and PyTorch models, printable."""

    def __str__(self):
        width = max((len(k) for k in self), default=4)
        return "\n".join(f"{k:<{width}}  {v:.3e}" for k, v in self.items())


def compare_with_torch(np_model, torch_model, x, dout=None, *, rtol=None, atol=None):
    """Run a ``cnnbook.nn`` model and its PyTorch twin on the same input and compare everything.

    The PyTorch weights and buffers are first copied into the NumPy model
    (``np_model.load_state_dict(torch_model.state_dict())``); then both run forward on ``x`` and
    backward with the same ``dout``, each in its own current mode (``train()``/``eval()`` must
    agree). Parameter gradients are reset on both models first. Dropout masks cannot match, so
    compare models with dropout in evaluation mode.

    Parameters
    ----------
    np_model : cnnbook.nn.Module
    torch_model : torch.nn.Module
        Same layer list, so the ``state_dict`` keys agree.
    x : ndarray or torch.Tensor
        The input; converted to the dtype of ``torch_model``'s parameters.
    dout : ndarray, optional
        Upstream gradient of the output. Default: standard normal with a fixed seed.
    rtol, atol : float, optional
        Default: :func:`tolerance` of the torch model's dtype (1e-10 float64, 1e-5 float32).

    Returns
    -------
    report : ComparisonReport
        ``{"output": d, "grad x": d, "grad <param>": d, ..., "buffer <name>": d}`` where ``d`` is
        the largest absolute difference.

    Raises
    ------
    AssertionError
        Naming the worst entry, if any entry exceeds ``atol + rtol * |torch value|``.
    """
    import torch  # imported here so that importing cnnbook.check stays light

    if bool(np_model.training) != bool(torch_model.training):
        raise ValueError(f"np_model, torch_model: expected the same mode, got np_model.training="
                         f"{np_model.training}, torch_model.training={torch_model.training}")
    params = list(torch_model.parameters())
    tdtype = params[0].dtype if params else torch.float64
    np_dtype = np.dtype(str(tdtype).replace("torch.", ""))
    tol = tolerance(np_dtype)
    rtol = tol if rtol is None else rtol
    atol = tol if atol is None else atol

    np_model.load_state_dict(torch_model.state_dict())
    np_model.zero_grad()
    torch_model.zero_grad(set_to_none=True)

    x_np = np.array(to_numpy(x), dtype=np_dtype, copy=True)
    x_t = torch.tensor(x_np, requires_grad=True)
    out_t = torch_model(x_t)
    out_np = np_model(x_np.copy())
    if dout is None:
        dout = np.random.default_rng(0).standard_normal(tuple(out_t.shape))
    dout = np.asarray(to_numpy(dout), dtype=np_dtype)
    out_t.backward(torch.tensor(dout))
    dx_np = np_model.backward(dout.copy())

    pairs = [("output", out_np, out_t), ("grad x", dx_np, x_t.grad)]
    np_params = dict(np_model.named_parameters())
    for name, p in torch_model.named_parameters():
        if name not in np_params:
            raise ValueError(f"np_model: has no parameter {name!r} (the torch model has)")
        g_np, g_t = np_params[name].grad, p.grad
        if g_np is None or g_t is None:
            if (g_np is None) != (g_t is None):
                raise AssertionError(f"grad {name}: None in {'NumPy' if g_np is None else 'torch'} model only")
            continue
        pairs.append((f"grad {name}", g_np, g_t))
    np_buffers = dict(np_model.named_buffers())
    for name, b in torch_model.named_buffers():
        pairs.append((f"buffer {name}", np_buffers.get(name), b))

    report, worst, worst_excess = ComparisonReport(), None, 0.0
    for name, a, b in pairs:
        if a is None:
            raise ValueError(f"np_model: has no buffer {name[len('buffer '):]!r} (the torch model has)")
        a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
        if a.shape != b.shape:
            raise AssertionError(f"{name}: shape mismatch: NumPy {a.shape}, torch {b.shape}")
        if not a.size:
            report[name] = 0.0
            continue
        diff, excess = _excess(a, b, rtol, atol)
        report[name], excess = float(diff.max()), float(excess.max())
        if excess > 1 and excess > worst_excess:
            worst, worst_excess = name, excess
    if worst is not None:
        raise AssertionError(f"{worst}: NumPy and torch differ by {report[worst]:.3e} (> atol={atol:g} + "
                             f"rtol={rtol:g} * |torch|, {worst_excess:.3g}x the tolerance)\n{report}")
    return report
