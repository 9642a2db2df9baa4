"""The fully connected layer ``linear`` and ``flatten``, which turns feature maps into its input.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float, _check_dim


def _check_linear(x, weight, bias=None):
    """Check ``x`` (..., in_features), ``weight`` (out_features, in_features) and ``bias``; return them as float arrays."""
    x, weight = _as_float(x, "x"), _as_float(weight, "weight")
    if weight.ndim != 2:
        raise ValueError(f"weight: expected shape (out_features, in_features), got {weight.shape}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"x: expected shape (..., {weight.shape[1]}) to match weight {weight.shape}, "
                         f"got {x.shape}")
    if bias is not None:
        bias = _as_float(bias, "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias: expected shape ({weight.shape[0]},), got {bias.shape}")
    return x, weight, bias


def linear(x, weight, bias=None):
    """Affine map ``x @ weight.T + bias``, as ``torch.nn.functional.linear``.

    Parameters
    ----------
    x : ndarray, shape (N, *, in_features)
    weight : ndarray, shape (out_features, in_features)
    bias : ndarray, shape (out_features,), optional

    Returns
    -------
    out : ndarray, shape (N, *, out_features)
    """
    x, weight, bias = _check_linear(x, weight, bias)
    out = x @ weight.T
    if bias is not None:
        out += bias
    return out


def linear_backward(dout, x, weight):
    """Gradients of :func:`linear`.

    Parameters
    ----------
    dout : ndarray, shape (N, *, out_features)
    x : ndarray, shape (N, *, in_features)
    weight : ndarray, shape (out_features, in_features)

    Returns
    -------
    dx : ndarray, shape (N, *, in_features)
    dweight : ndarray, shape (out_features, in_features)
    dbias : ndarray, shape (out_features,)
        What the bias would receive (ignore it for a layer without bias).
    """
    x, weight, _ = _check_linear(x, weight)
    dout = _as_float(dout, "dout")
    expected = x.shape[:-1] + (weight.shape[0],)
    if dout.shape != expected:
        raise ValueError(f"dout: expected shape {expected}, got {dout.shape}")
    dout2 = dout.reshape(-1, weight.shape[0])
    dx = dout @ weight
    dweight = dout2.T @ x.reshape(-1, weight.shape[1])
    dbias = dout2.sum(axis=0)
    return dx, dweight, dbias


def flatten(x, start_dim=1, end_dim=-1):
    """Merge the axes ``start_dim .. end_dim`` (inclusive) into one, as ``torch.flatten``.

    Parameters
    ----------
    x : ndarray, e.g. shape (N, C, H, W)
    start_dim, end_dim : int

    Returns
    -------
    out : ndarray, e.g. shape (N, C*H*W) with the defaults (a view when possible)
    """
    x = np.asarray(x)
    if x.ndim == 0:
        return x.reshape(1)
    start, end = _check_dim(x, start_dim, arg="start_dim"), _check_dim(x, end_dim, arg="end_dim")
    if start > end:
        raise ValueError(f"start_dim: expected start_dim <= end_dim, got start_dim={start_dim}, "
                         f"end_dim={end_dim} for x of shape {x.shape}")
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


def flatten_backward(dout, x_shape):
    """Gradient of :func:`flatten`: ``dout`` reshaped back to the input shape ``x_shape``."""
    dout = np.asarray(dout)
    if dout.size != int(np.prod(x_shape)):
        raise ValueError(f"dout: expected {int(np.prod(x_shape))} elements to reshape to {tuple(x_shape)}, "
                         f"got shape {dout.shape}")
    return dout.reshape(x_shape)
