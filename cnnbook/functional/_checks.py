"""Argument checks shared by every family of ops (private).

Each check either returns its argument in the form the ops need (a float array, a pair of ints,
a normalised axis) or raises ``TypeError``/``ValueError`` naming the argument, what was expected
and what was received.
"""
from __future__ import annotations

import numpy as np


def to_numpy(a):
    """Return ``a`` as a NumPy array; accepts arrays, scalars, lists and torch tensors.

    A tensor is recognised by its ``detach`` and ``cpu`` methods, so the engine never imports torch.
    """
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _as_float(a, name):
    """Return ``a`` as a float32 or float64 array (integers and booleans become float64).

    Anything else (complex numbers, strings, objects) is a TypeError: casting it would silently
    drop information.
    """
    a = np.asarray(a)
    if a.dtype in (np.float32, np.float64):
        return a
    if a.dtype.kind in "iub":
        return a.astype(np.float64)
    raise TypeError(f"{name}: expected a real numeric array (float32, float64, integer or bool), got dtype {a.dtype}")


def _is_int(v):
    """True for Python and NumPy integers, False for bools."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _pair(value, name, minimum=0):
    """Normalise an int or a pair of ints to a tuple ``(h, w)``, each ``>= minimum``.

    Raises TypeError for anything else and ValueError (naming ``name``) for too small values.
    """
    if _is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: expected values >= {minimum}, got {value!r}")
    return pair


def _batched(x, name="x", layout="(N, C, H, W)"):
    """Accept ``(N, C, H, W)`` or unbatched ``(C, H, W)`` (as PyTorch does).

    Returns the 4-D array and whether a batch axis was added (to be removed from the result).
    """
    x = _as_float(x, name)
    if x.ndim == 3:
        return x[None], True
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D array {layout} or one unbatched 3-D image "
                         f"(C, H, W), got shape {x.shape}")
    return x, False


def _check_dout(dout, expected_shape, dtype, what="the shape of the forward output"):
    """Check the upstream gradient has the shape of the forward output; return it in ``dtype``."""
    dout = _as_float(dout, "dout")
    if dout.shape != tuple(expected_shape):
        raise ValueError(f"dout: expected shape {tuple(expected_shape)} ({what}), got {dout.shape}")
    return dout.astype(dtype, copy=False)


def _check_same_shape(dout, x):
    """An element-wise op's ``x`` as a float array, and ``dout`` checked to have its shape."""
    x = _as_float(x, "x")
    return _check_dout(dout, x.shape, x.dtype, what="the shape of x"), x


def _check_finite(x, name):
    """Raise ValueError, counting them, if ``x`` holds NaN or infinite values."""
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf of {np.size(x)}")


def _check_dim(x, dim, name="x", arg="dim"):
    """Return the axis ``dim`` of ``x`` as a non-negative int; ValueError (naming ``arg``) if out of range."""
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"{arg}: expected an integer in [{-x.ndim}, {x.ndim - 1}] for {name} of shape "
                         f"{x.shape}, got {dim}")
    return dim % x.ndim
