"""Padding: ``pad`` (PyTorch's four modes, negative widths crop) and its gradient, plus the
zero/constant padding of the last two axes that convolution and pooling use.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float, _check_dout, _is_int


def _pad_hw(x, pads, value=0.0):
    """Pad the last two axes of ``x`` by ``((top, bottom), (left, right))`` with ``value``."""
    if not any(pads[0]) and not any(pads[1]):
        return x
    (top, bottom), (left, right) = pads
    xp = np.full((*x.shape[:2], x.shape[2] + top + bottom, x.shape[3] + left + right), value, dtype=x.dtype)
    xp[:, :, top:top + x.shape[2], left:left + x.shape[3]] = x
    return xp


def _crop(xp, pads, shape):
    """Undo ``_pad_hw``: the ``(H, W)`` interior of a padded array."""
    (top, _), (left, _) = pads
    return xp[:, :, top:top + shape[0], left:left + shape[1]]


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_widths(x, pad, mode):
    """Turn PyTorch's flat pad tuple (last axis first) into ``[(before, after), ...]`` for every axis of ``x``."""
    if mode not in _PAD_MODES:
        raise ValueError(f"mode: expected one of {sorted(_PAD_MODES)}, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(_is_int(p) for p in pad):
        raise TypeError(f"pad: expected a tuple of ints, got {pad!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of values, at most 2 * x.ndim = {2 * x.ndim}, "
                         f"got {len(pad)} values {tuple(pad)}")
    dims = len(pad) // 2
    if mode != "constant" and not (dims <= 3 and x.ndim in (dims + 1, dims + 2)):
        raise ValueError(f"pad: {mode!r} padding of the last {dims} axes needs a {dims + 1}-D or {dims + 2}-D "
                         f"input (batched or not, as PyTorch), got x of shape {x.shape}")
    widths = [(0, 0)] * x.ndim
    for k in range(dims):
        axis = x.ndim - 1 - k
        before, after = int(pad[2 * k]), int(pad[2 * k + 1])
        size = x.shape[axis]
        if mode != "constant" and min(before, after) < 0:
            raise ValueError(f"pad: negative padding is only allowed in 'constant' mode, got {tuple(pad)}")
        if mode == "reflect" and max(before, after) >= size:
            raise ValueError(f"pad: reflect padding must be smaller than the input size {size} of axis {axis}, "
                             f"got {(before, after)}")
        if mode == "circular" and max(before, after) > size:
            raise ValueError(f"pad: circular padding must be at most the input size {size} of axis {axis}, "
                             f"got {(before, after)}")
        if size + min(before, 0) + min(after, 0) < 0:  # as torch: the crops alone must fit in the axis
            raise ValueError(f"pad: {(before, after)} crops more than the size {size} of axis {axis}")
        widths[axis] = (before, after)
    return widths


def _crop_slices(widths, shape):
    """Slices of a padded array (or, for negative widths, of the input) that the two share."""
    inner = tuple(slice(max(b, 0), max(b, 0) + n + min(b, 0) + min(a, 0)) for (b, a), n in zip(widths, shape))
    outer = tuple(slice(max(-b, 0), max(-b, 0) + n + min(b, 0) + min(a, 0)) for (b, a), n in zip(widths, shape))
    return inner, outer     # padded[inner] corresponds to x[outer]


def pad(x, pad, mode="constant", value=0.0):
    """Pad (or, with negative values in 'constant' mode, crop) an array, as ``torch.nn.functional.pad``.

    Parameters
    ----------
    x : ndarray
    pad : tuple of int
        ``(left, right)`` for the last axis, then ``(top, bottom)`` for the one before, and so on.
    mode : 'constant', 'reflect', 'replicate' or 'circular'
    value : float
        Fill value of 'constant' mode.

    Returns
    -------
    out : ndarray, each padded axis of size ``n + before + after``
    """
    x = _as_float(x, "x")
    widths = _pad_widths(x, pad, mode)
    if mode != "constant":
        return np.pad(x, widths, mode=_PAD_MODES[mode])
    out = np.full([n + b + a for (b, a), n in zip(widths, x.shape)], value, dtype=x.dtype)
    inner, outer = _crop_slices(widths, x.shape)
    out[inner] = x[outer]
    return out


def pad_backward(dout, x, pad, mode="constant"):
    """Gradient of ``pad``: crop (constant mode), or also fold the copied border back (other modes).

    Returns
    -------
    dx : ndarray, shape of ``x``
    """
    x = _as_float(x, "x")
    widths = _pad_widths(x, pad, mode)
    dout = _check_dout(dout, tuple(n + b + a for (b, a), n in zip(widths, x.shape)), x.dtype)
    if mode == "constant":
        dx = np.zeros(x.shape, dtype=x.dtype)
        inner, outer = _crop_slices(widths, x.shape)
        dx[outer] = dout[inner]
        return dx
    dx = dout
    for axis, (before, after) in enumerate(widths):
        if before or after:      # padded position p copies source[p]: add its gradient there
            source = np.pad(np.arange(x.shape[axis]), (before, after), mode=_PAD_MODES[mode])
            moved = np.moveaxis(dx, axis, 0)
            folded = np.zeros((x.shape[axis], *moved.shape[1:]), dtype=x.dtype)
            np.add.at(folded, source, moved)
            dx = np.moveaxis(folded, 0, axis)
    return np.ascontiguousarray(dx)
