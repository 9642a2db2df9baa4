"""Element-wise activations (ReLU, sigmoid, tanh) and softmax / log-softmax along an axis.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float, _check_dim, _check_same_shape


def relu(x):
    """Rectified linear unit ``max(x, 0)``, elementwise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as x
    """
    x = _as_float(x, "x")
    return np.maximum(x, 0)


def relu_backward(dout, x):
    """Gradient of :func:`relu`: ``dout`` where ``x > 0``, else 0 (PyTorch's choice at 0)."""
    dout, x = _check_same_shape(dout, x)
    return np.where(x > 0, dout, 0).astype(np.result_type(dout, x), copy=False)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise.

    For ``x`` below about -710 (-89 in float32), ``exp(-x)`` overflows to ``inf`` and the result is
    ``1 / inf = 0``, off by less than the smallest normal number (about 1e-308, or 1e-38 in
    float32), so the overflow warning is silenced. Large positive ``x`` gives ``1 / (1 + 0) = 1``.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as x, values in [0, 1]
    """
    x = _as_float(x, "x")
    with np.errstate(over="ignore"):
        z = np.exp(-x)
    z += 1
    return np.reciprocal(z, out=z)


def sigmoid_backward(dout, x, *, out=None):
    """Gradient of :func:`sigmoid`: ``dout * (1 - s) * s`` with ``s = sigmoid(x)``.

    ``out``, keyword-only: the forward output ``sigmoid(x)`` if you kept it (saves recomputing it).
    """
    dout, x = _check_same_shape(dout, x)
    s = sigmoid(x) if out is None else out
    return dout * (1 - s) * s


def tanh(x):
    """Hyperbolic tangent, elementwise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as x, values in [-1, 1]
    """
    return np.tanh(_as_float(x, "x"))


def tanh_backward(dout, x, *, out=None):
    """Gradient of :func:`tanh`: ``dout * (1 - t**2)`` with ``t = tanh(x)``.

    ``out``, keyword-only: the forward output ``tanh(x)`` if you kept it (saves recomputing it).
    """
    dout, x = _check_same_shape(dout, x)
    t = np.tanh(x) if out is None else out
    return dout * (1 - t * t)


def softmax(x, dim):
    """Softmax along ``dim``, stable for huge logits (the maximum is subtracted first).

    Parameters
    ----------
    x : ndarray, any shape
    dim : int
        The axis that sums to one (required, as in PyTorch).

    Returns
    -------
    out : ndarray, same shape as x
    """
    x = _as_float(x, "x")
    dim = _check_dim(x, dim)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(dout, x, dim):
    """Gradient of :func:`softmax`: ``y * (dout - sum(dout * y, dim))`` with ``y = softmax(x, dim)``."""
    dout, x = _check_same_shape(dout, x)
    y = softmax(x, dim)
    return y * (dout - (dout * y).sum(axis=dim, keepdims=True))


def log_softmax(x, dim):
    """Logarithm of :func:`softmax`, computed as ``x - max - log(sum(exp(x - max)))``.

    Parameters
    ----------
    x : ndarray, any shape
    dim : int

    Returns
    -------
    out : ndarray, same shape as x, all values <= 0
    """
    x = _as_float(x, "x")
    dim = _check_dim(x, dim)
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def log_softmax_backward(dout, x, dim):
    """Gradient of :func:`log_softmax`: ``dout - softmax(x, dim) * sum(dout, dim)``."""
    dout, x = _check_same_shape(dout, x)
    return dout - softmax(x, dim) * dout.sum(axis=dim, keepdims=True)
