"""Inverted dropout with an explicit random generator, and its gradient.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float


def _check_p(p):
    """Return the dropout probability ``p`` as a float; ValueError unless it is a number in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0 <= p <= 1:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    return float(p)


def dropout(x, p=0.5, training=True, rng=None, *, return_mask=False):
    """Inverted dropout: zero each element with probability ``p``, scale the rest by ``1 / (1 - p)``.

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1]
        Probability of dropping an element.
    training : bool
        When False (evaluation), ``x`` is returned unchanged.
    rng : numpy.random.Generator, optional
        Source of the random mask. ``None`` uses a fresh, unseeded ``np.random.default_rng()``
        (not reproducible); pass your own generator for reproducible masks.
    return_mask : bool
        Also return the boolean keep-mask, which is what :func:`dropout_backward` needs.

    Returns
    -------
    out : ndarray, same shape as x
    mask : ndarray of bool, same shape as x, or None (only with ``return_mask=True``)
        True where the element was kept; None when not training (dropout is then the identity).
    """
    x = _as_float(x, "x")
    p = _check_p(p)
    if not training:
        out, mask = x, None
    else:
        rng = np.random.default_rng() if rng is None else rng
        mask = rng.random(x.shape) >= p
        out = x * _dropout_scale(mask, p, x.dtype)
    return (out, mask) if return_mask else out


def _dropout_scale(mask, p, dtype):
    """``mask / (1 - p)`` in ``dtype`` (all zeros when ``p == 1``), as PyTorch builds its noise."""
    if p == 1:
        return np.zeros(mask.shape, dtype=dtype)
    return mask.astype(dtype) / dtype.type(1 - p)


def dropout_backward(dout, mask, p=0.5):
    """Gradient of :func:`dropout` (training mode), given the mask it returned.

    Parameters
    ----------
    dout : ndarray, same shape as mask
    mask : ndarray of bool, or None
        The keep-mask from ``dropout(..., return_mask=True)``; None (evaluation mode) gives
        ``dx = dout``.
    p : float in [0, 1]
        The same ``p`` as in the forward pass.

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    dout = _as_float(dout, "dout")
    p = _check_p(p)
    if mask is None:        # evaluation mode: the identity
        return dout
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask: expected a boolean array, got dtype {mask.dtype}")
    if mask.shape != dout.shape:
        raise ValueError(f"mask: expected shape {dout.shape} (the shape of dout), got {mask.shape}")
    return dout * _dropout_scale(mask, p, dout.dtype)
