"""Cross-entropy loss on logits and integer labels, and its gradient with respect to the logits.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float, _check_finite
from .activation import log_softmax, softmax


def _check_cross_entropy(logits, target):
    """Check ``logits`` (N, C), finite, and integer ``target`` (N,) in [0, C); return both as arrays."""
    logits = _as_float(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits: expected shape (N, C), got {logits.shape}")
    N, C = logits.shape
    if N == 0:
        raise ValueError("logits: expected at least one row (N >= 1), got shape (0, C)")
    _check_finite(logits, "logits")
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer):
        hint = " (contains NaN/inf)" if np.issubdtype(target.dtype, np.floating) and not np.all(
            np.isfinite(target)) else ""
        raise ValueError(f"target: expected integer class labels, got dtype {target.dtype}{hint}")
    if target.shape != (N,):
        raise ValueError(f"target: expected shape ({N},) to match logits {logits.shape}, got {target.shape}")
    if target.size and (target.min() < 0 or target.max() >= C):
        raise ValueError(f"target: expected labels in [0, {C - 1}], got values in "
                         f"[{target.min()}, {target.max()}]")
    return logits, target


def cross_entropy(logits, target):
    """Mean cross-entropy between ``softmax(logits)`` and integer class labels.

    Parameters
    ----------
    logits : ndarray, shape (N, C)
        Unnormalised scores; any finite size (stable for huge values).
    target : ndarray of int, shape (N,)
        Class labels in ``[0, C)``.

    Returns
    -------
    loss : float
        ``-mean_i log softmax(logits)[i, target[i]]``.
    """
    logits, target = _check_cross_entropy(logits, target)
    logp = log_softmax(logits, dim=1)
    return float(-logp[np.arange(len(target)), target].mean())


def cross_entropy_backward(logits, target):
    """Gradient of :func:`cross_entropy` for ``logits``: ``(softmax - one_hot) / N``.

    Returns
    -------
    dlogits : ndarray, shape (N, C)
    """
    logits, target = _check_cross_entropy(logits, target)
    dlogits = softmax(logits, dim=1)
    dlogits[np.arange(len(target)), target] -= 1
    dlogits /= len(target)
    return dlogits
