"""Stochastic gradient descent over :class:`cnnbook.nn.Parameter` objects, as ``torch.optim.SGD``.

This module imports NumPy only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["SGD"]


class SGD:
    """Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum.

    One ``step()`` does, for every parameter ``p`` whose ``grad`` is not None (PyTorch's
    algorithm, step for step)::

        g = p.grad + weight_decay * p.data
        if momentum != 0:
            buf = g                                   (first step)
            buf = momentum * buf + (1 - dampening) * g   (later steps)
            g = g + momentum * buf if nesterov else buf
        p.data -= lr * g

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``.
    lr : float
        Learning rate (>= 0).
    momentum, dampening, weight_decay : float
        All >= 0 (``dampening`` may be any float, as in PyTorch).
    nesterov : bool
        Needs ``momentum > 0`` and ``dampening == 0``.
    """

    def __init__(self, params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        if lr is None or lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(self.params):
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"params: expected Parameter objects (with .data and .grad), "
                                f"got {type(p).__name__} at position {i}")
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.momentum_buffers = [None] * len(self.params)

    def zero_grad(self):
        """Reset every gradient to None (PyTorch's default ``set_to_none=True``)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = np.asarray(p.grad, dtype=p.data.dtype)
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            if self.momentum != 0:
                buf = self.momentum_buffers[i]
                if buf is None:
                    buf = np.array(g, copy=True)
                else:
                    buf *= self.momentum
                    buf += (1 - self.dampening) * g
                self.momentum_buffers[i] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g

    def __repr__(self):
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov})")
