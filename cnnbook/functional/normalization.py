"""Batch normalisation over (N, H, W) per channel (or (N, L), or N), training and evaluation modes.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float, _check_dout


def _check_batch_norm(x, weight=None, bias=None, running_mean=None, running_var=None):
    """Check ``x`` is (N, C), (N, C, L) or (N, C, H, W) and every per-channel vector has shape (C,)."""
    x = _as_float(x, "x")
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"x: expected shape (N, C), (N, C, L) or (N, C, H, W), got {x.shape}")
    C = x.shape[1]
    for name, a in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if a is not None and np.shape(a) != (C,):
            raise ValueError(f"{name}: expected shape ({C},) (one value per channel of x {x.shape}), "
                             f"got {np.shape(a)}")
    return x


def _per_channel(v, x):
    """Reshape a (C,) vector so it broadcasts against x along axis 1."""
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def _as_ncl(x):
    """View x (N, C, ...) as (N, C, L), L = the product of the trailing axes (1 for 2-D input)."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def _channel_sum(a, b=None):
    """Per-channel ``sum(a)`` or ``sum(a * b)`` over every axis but 1, without an (N, C, L) temporary."""
    a3 = _as_ncl(a)
    b3 = np.ones(a3.shape[2], dtype=a3.dtype) if b is None else _as_ncl(b)
    return np.vecdot(a3, b3).sum(axis=0)


def _batch_stats(x):
    """Per-channel mean and biased variance of x over (N, H, W), and the centred ``x - mean``.

    Two passes (mean first, then the mean square of ``x - mean``), which stays accurate when the
    mean is large compared with the spread.
    """
    M = x.size // x.shape[1]
    mean = _channel_sum(x) / M
    xc = x - _per_channel(mean, x)
    var = _channel_sum(xc, xc) / M
    return mean, var, xc


def _centre(x, running_mean, running_var):
    """``x - running_mean`` and ``running_var`` in x's dtype (evaluation mode)."""
    if running_mean is None or running_var is None:
        raise ValueError("running_mean, running_var: expected arrays of shape (C,) when training=False, "
                         "got None")
    mean = np.asarray(running_mean, dtype=x.dtype)
    return x - _per_channel(mean, x), np.asarray(running_var, dtype=x.dtype)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalisation, as ``torch.nn.functional.batch_norm``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), (N, C, L) or (N, C)
    running_mean, running_var : ndarray, shape (C,), or None
        Running statistics. In training mode they are updated IN PLACE:
        ``r = (1 - momentum) * r + momentum * batch_stat``, with the unbiased batch variance
        (divisor ``M - 1``, ``M = N*H*W``) for ``running_var``, as PyTorch does.
    weight, bias : ndarray, shape (C,), optional
        Per-channel scale (gamma) and shift (beta); default 1 and 0.
    training : bool
        True: normalise with the batch mean and biased variance over (N, H, W).
        False: normalise with the running statistics.
    momentum : float
    eps : float
        Added to the variance before the square root.

    Returns
    -------
    out : ndarray, same shape as x
        ``(x - mean) / sqrt(var + eps) * weight + bias``, per channel.
    """
    x = _check_batch_norm(x, weight, bias, running_mean, running_var)
    if training:
        M = x.size // x.shape[1]
        if M <= 1:
            raise ValueError(f"x: expected more than 1 value per channel when training, got shape {x.shape}")
        mean, var, xc = _batch_stats(x)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (M / (M - 1))
    else:
        xc, var = _centre(x, running_mean, running_var)
    scale = 1 / np.sqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    out = xc                                  # a fresh array: normalise it in place
    out *= _per_channel(scale.astype(x.dtype, copy=False), x)
    if bias is not None:
        out += _per_channel(np.asarray(bias, dtype=x.dtype), x)
    return out


def batch_norm_backward(dout, x, weight=None, eps=1e-5, *, training=True, running_mean=None,
                        running_var=None):
    """Gradients of :func:`batch_norm`.

    In training mode (the default) the gradient flows through the batch mean and variance:
    ``dx = scale * (dout - mean(dout) - xhat * mean(dout * xhat))`` per channel (means over
    N, H, W), with ``xhat`` the normalised input and ``scale = weight / sqrt(var + eps)``. In
    evaluation mode (``training=False``, pass the running statistics) batch norm is a fixed
    affine map and ``dx = dout * scale``.

    Parameters
    ----------
    dout : ndarray, same shape as x
    x : ndarray, shape (N, C, H, W), (N, C, L) or (N, C)
    weight : ndarray, shape (C,), optional
    eps : float
    training : bool, keyword-only
    running_mean, running_var : ndarray, shape (C,), keyword-only
        Needed only when ``training=False``.

    Returns
    -------
    dx : ndarray, same shape as x
    dweight, dbias : ndarray, shape (C,)
        ``sum(dout * xhat)`` and ``sum(dout)`` per channel: what weight and bias receive (ignore
        them when the layer has none).
    """
    x = _check_batch_norm(x, weight, None, running_mean, running_var)
    dout = _check_dout(dout, x.shape, x.dtype, what="the shape of x")
    if training:
        _, var, xc = _batch_stats(x)
    else:
        xc, var = _centre(x, running_mean, running_var)
    invstd = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    xhat = xc                                 # a fresh array: normalise it in place
    xhat *= _per_channel(invstd, x)
    dbias = _channel_sum(dout)
    dweight = _channel_sum(dout, xhat)
    scale = invstd if weight is None else invstd * np.asarray(weight, dtype=x.dtype)
    if not training:
        return dout * _per_channel(scale, x), dweight, dbias
    M = x.size // x.shape[1]
    dx = xhat                                 # reuse the buffer: dx = scale * (dout - dbias/M - xhat * dweight/M)
    dx *= _per_channel(-dweight / M, x)
    dx += dout
    dx -= _per_channel(dbias / M, x)
    dx *= _per_channel(scale, x)
    return dx, dweight, dbias
