"""Pixel shuffle (sub-pixel convolution's rearrangement), its inverse, their gradients.

``pixel_shuffle`` moves blocks of ``r * r`` channels into ``r x r`` squares of pixels,
``(N, C * r**2, H, W) -> (N, C, r * H, r * W)``, as in ESPCN; ``pixel_unshuffle`` undoes
it. Both only move numbers, so each one's backward pass is the other one.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float, _check_dout, _is_int


def _check_factor(r, name):
    if not _is_int(r) or r < 1:
        raise ValueError(f"{name}: expected a positive int, got {r!r}")
    return int(r)


def _check_ndim(x, name="x"):
    if x.ndim < 3:
        raise ValueError(f"{name}: expected an array of shape (*, C, H, W) with at "
                         f"least 3 axes, got shape {x.shape}")


def pixel_shuffle(x, upscale_factor):
    """Rearrange channels into space, as ``torch.nn.functional.pixel_shuffle``.

    Parameters
    ----------
    x : ndarray, shape (*, C * r**2, H, W)
    upscale_factor : int
        ``r``; the channels must be divisible by ``r**2``.

    Returns
    -------
    out : ndarray, shape (*, C, H * r, W * r)
        ``out[..., c, r*i + a, r*j + b] = x[..., c*r*r + a*r + b, i, j]``.
    """
    x = _as_float(x, "x")
    _check_ndim(x)
    r = _check_factor(upscale_factor, "upscale_factor")
    *lead, Cr, H, W = x.shape
    if Cr % (r * r):
        raise ValueError(f"x: the channels ({Cr}, shape {x.shape}) must be divisible "
                         f"by upscale_factor**2 = {r * r}")
    C = Cr // (r * r)
    y = x.reshape(*lead, C, r, r, H, W)                        # (..., c, a, b, i, j)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # (..., c, i, a, j, b)
    return np.ascontiguousarray(y.reshape(*lead, C, H * r, W * r))


def pixel_unshuffle(x, downscale_factor):
    """Rearrange space into channels, as ``torch.nn.functional.pixel_unshuffle``.

    Parameters
    ----------
    x : ndarray, shape (*, C, H * r, W * r)
    downscale_factor : int
        ``r``; height and width must be divisible by ``r``.

    Returns
    -------
    out : ndarray, shape (*, C * r**2, H, W), the inverse of ``pixel_shuffle``.
    """
    x = _as_float(x, "x")
    _check_ndim(x)
    r = _check_factor(downscale_factor, "downscale_factor")
    *lead, C, Hr, Wr = x.shape
    if Hr % r or Wr % r:
        raise ValueError(f"x: height and width ({Hr}, {Wr}, shape {x.shape}) must be "
                         f"divisible by downscale_factor = {r}")
    H, W = Hr // r, Wr // r
    y = x.reshape(*lead, C, H, r, W, r)                        # (..., c, i, a, j, b)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # (..., c, a, b, i, j)
    return np.ascontiguousarray(y.reshape(*lead, C * r * r, H, W))


def pixel_shuffle_backward(dout, x, upscale_factor):
    """Gradient of ``pixel_shuffle`` with respect to ``x``: ``pixel_unshuffle(dout)``.
    """
    x = _as_float(x, "x")
    out_shape = pixel_shuffle(np.empty_like(x), upscale_factor).shape
    dout = _check_dout(dout, out_shape, x.dtype)
    return pixel_unshuffle(dout, upscale_factor)


def pixel_unshuffle_backward(dout, x, downscale_factor):
    """Gradient of ``pixel_unshuffle`` with respect to ``x``: ``pixel_shuffle(dout)``.
    """
    x = _as_float(x, "x")
    out_shape = pixel_unshuffle(np.empty_like(x), downscale_factor).shape
    dout = _check_dout(dout, out_shape, x.dtype)
    return pixel_shuffle(dout, downscale_factor)
