"""One layer list, two models: a ``cnnbook.nn`` network and its PyTorch twin.

A *builder* is a function ``builder(L, **options)`` that writes a network ONCE against a layer
library ``L`` (``L.Conv2d``, ``L.ReLU``, ``L.Sequential``, ``L.Residual``, ...). Called with the
NumPy library it returns a ``cnnbook.nn`` model, called with the torch library a ``torch.nn``
model; both have the same ``state_dict`` keys, so weights copy across in one line
(``np_model.load_state_dict(torch_model.state_dict())``) and
``cnnbook.check.compare_with_torch`` compares the two. The book's tests, benchmarks and chapters
take their twins from here, so there is one LeNet, one residual block, ...

Example
-------
>>> import numpy as np
>>> from cnnbook import twins
>>> from cnnbook.check import compare_with_torch
>>> np_model, torch_model = twins.make(twins.lenet, act="ReLU", pool="MaxPool2d")
>>> list(np_model.state_dict()) == list(torch_model.state_dict())
True
>>> x = np.random.default_rng(0).random((2, 1, 28, 28))
>>> report = compare_with_torch(np_model, torch_model, x)   # outputs, gradients, buffers
>>> report["output"] < 1e-10
True

A builder of your own:

>>> def mlp(L, hidden=32):
...     return L.Sequential(L.Flatten(), L.Linear(64, hidden), L.ReLU(), L.Linear(hidden, 10))
>>> np_mlp, torch_mlp = twins.make(mlp, dtype=np.float32, hidden=16)
>>> np_mlp[1].weight.dtype, torch_mlp[1].weight.dtype
(dtype('float32'), torch.float32)

This module imports torch; the engine (``cnnbook.nn``, ``cnnbook.functional``,
``cnnbook.optim``) never imports it.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np
import torch

from cnnbook import nn

__all__ = ["Residual", "Library", "library", "make", "lenet", "residual_block", "resnet_like"]

_TORCH_DTYPE = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
LAYERS = tuple(name for name in nn.__all__ if name not in ("Parameter", "Module"))


class Residual(torch.nn.Module):
    """``body(x) + shortcut(x)``: the PyTorch twin of :class:`cnnbook.nn.Residual`.

    The branches are named ``body`` and ``shortcut`` (``None``: the identity), so the
    ``state_dict`` keys (``"body.0.weight"``, ``"shortcut.1.running_var"``, ...) and the
    ``repr`` are those of the NumPy layer.
    """

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def _np_dtype(dtype):
    """np.float32/np.float64, "float32"/"float64" or torch.float32/torch.float64 -> numpy dtype."""
    name = str(dtype).removeprefix("torch.") if isinstance(dtype, torch.dtype) else dtype
    try:
        dt = np.dtype(name)
    except TypeError:
        dt = None
    if dt not in _TORCH_DTYPE:
        raise ValueError(f"dtype: expected float32 or float64 (NumPy or torch), got {dtype!r}")
    return dt


class Library:
    """The layer constructors of one backend, with ``dtype`` (and for NumPy ``rng``) filled in.

    Every layer of ``cnnbook.nn`` is an attribute (``L.Conv2d``, ``L.BatchNorm2d``, ``L.ReLU``,
    ``L.Sequential``, ``L.Residual``, ...), taking the arguments of its ``torch.nn`` namesake.
    Build one with :func:`library`.

    Attributes
    ----------
    backend : "numpy" or "torch"
    dtype : numpy dtype
        float64 or float32, passed to every layer that takes a ``dtype``.
    rng : numpy.random.Generator or None
        The NumPy library's source of initial weights and dropout masks (None for torch, which
        draws from its global generator: seed it with ``torch.manual_seed``).
    """

    def __init__(self, backend, dtype=np.float64, rng=None):
        if backend not in ("numpy", "torch"):
            raise ValueError(f"backend: expected 'numpy' or 'torch', got {backend!r}")
        if backend == "torch" and rng is not None:
            raise ValueError("rng: only the NumPy library takes an rng (torch draws its initial "
                             "weights from torch.manual_seed)")
        self.backend, self.dtype = backend, _np_dtype(dtype)
        self.rng = np.random.default_rng(rng) if backend == "numpy" else None
        extra = ({"dtype": self.dtype, "rng": self.rng} if backend == "numpy"
                 else {"dtype": _TORCH_DTYPE[self.dtype]})
        for name in LAYERS:
            if name == "Residual":
                cls = nn.Residual if backend == "numpy" else Residual
            else:
                cls = getattr(nn if backend == "numpy" else torch.nn, name)
            accepted = inspect.signature(cls).parameters
            given = {k: v for k, v in extra.items() if k in accepted}
            setattr(self, name, functools.partial(cls, **given) if given else cls)

    def __getattr__(self, name):      # only called for names that are not layers
        raise AttributeError(f"{self.backend} library: no layer {name!r}; the layers are {', '.join(LAYERS)}")

    def __repr__(self):
        return f"library({self.backend!r}, dtype={self.dtype.name})"


def library(backend, dtype=np.float64, rng=None):
    """The layer library of ``backend`` ("numpy" or "torch") for ``dtype``.

    Parameters
    ----------
    backend : "numpy" or "torch"
    dtype : np.float64 (default) or np.float32
        Also accepted as a string or a torch dtype.
    rng : numpy.random.Generator, int or None
        NumPy only: the source of initial weights (an int seeds a new generator; None: unseeded).

    Example
    -------
    >>> L = library("numpy", np.float32, rng=0)
    >>> L.Conv2d(1, 6, 5).weight.dtype
    dtype('float32')
    """
    return Library(backend, dtype, rng)


def make(builder, dtype=np.float64, seed=0, **kwargs):
    """Build ``builder``'s NumPy model and its PyTorch twin, starting from the same weights.

    The torch model is built under ``torch.manual_seed(seed)`` (inside ``torch.random.fork_rng``,
    so the caller's torch generator is left as it was), then its ``state_dict`` is copied into the
    NumPy model.

    Parameters
    ----------
    builder : callable
        ``builder(L, **kwargs)`` returning a model built from the layers of ``L``.
    dtype : np.float64 (default) or np.float32
    seed : int
        Seeds torch's initialisation (the NumPy draws are overwritten by the copy).
    **kwargs
        Passed on to ``builder``.

    Returns
    -------
    np_model : cnnbook.nn.Module
    torch_model : torch.nn.Module
        In training mode, with equal parameters and buffers.

    Example
    -------
    >>> np_model, torch_model = make(resnet_like)
    >>> bool(np.array_equal(np_model.state_dict()["0.weight"], torch_model.state_dict()["0.weight"]))
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch_model = builder(library("torch", dtype), **kwargs)
    np_model = builder(library("numpy", dtype, rng=seed), **kwargs)
    np_model.load_state_dict(torch_model.state_dict())
    return np_model, torch_model


# =============================================================================================
# Builders: each written once, for either library
# =============================================================================================
def lenet(L, act="Sigmoid", pool="AvgPool2d", size=28, num_classes=10):
    """LeNet-5 as in d2l: conv 6@5x5 (padding 2), pool, conv 16@5x5, pool, flatten, 120, 84, 10.

    Parameters
    ----------
    L : Library
    act : str
        The activation layer, e.g. "Sigmoid" (LeNet's), "ReLU", "Tanh".
    pool : str
        The 2x2, stride-2 pooling layer: "AvgPool2d" (LeNet's) or "MaxPool2d".
    size : int
        The side of the square input, at least 12: x (N, 1, size, size); 28 gives LeNet's
        16 * 5 * 5 = 400 features before the dense layers.
    num_classes : int

    Layers are numbered 0..11: convs 0 and 3, linears 7, 9 and 11 (``"11.bias"``).
    """
    side = (size // 2 - 4) // 2          # after conv(pad 2), pool 2, conv 5x5, pool 2
    if side < 1:
        raise ValueError(f"size: expected an input side of at least 12, got {size}")
    Act, Pool = getattr(L, act), getattr(L, pool)
    return L.Sequential(
        L.Conv2d(1, 6, 5, padding=2), Act(), Pool(2),
        L.Conv2d(6, 16, 5), Act(), Pool(2), L.Flatten(),
        L.Linear(16 * side * side, 120), Act(), L.Linear(120, 84), Act(),
        L.Linear(84, num_classes))


def residual_block(L, c_in, c_out, stride=1):
    """The basic ResNet block: ReLU(body(x) + shortcut(x)).

    body: conv 3x3 (stride) - BN - ReLU - conv 3x3 - BN; shortcut: the identity, or a
    1x1 conv (stride) + BN projection when the shape changes (``stride != 1`` or
    ``c_in != c_out``). Keys: ``"0.body.0.weight"``, ``"0.shortcut.1.running_var"``, ...
    """
    body = L.Sequential(
        L.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        L.BatchNorm2d(c_out), L.ReLU(),
        L.Conv2d(c_out, c_out, 3, padding=1, bias=False), L.BatchNorm2d(c_out))
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = L.Sequential(L.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                L.BatchNorm2d(c_out))
    return L.Sequential(L.Residual(body, shortcut), L.ReLU())


def resnet_like(L, in_channels=1, channels=(4, 8), num_classes=10):
    """A small ResNet: stem conv 3x3 - BN - ReLU, an identity block at ``channels[0]``, then one
    stride-2 projection block per further entry of ``channels``, global average pooling, linear.

    With the defaults: layers 0-2 the stem, 3 the identity block, 4 the projection block
    (``"4.0.shortcut.0.weight"``), 5 pooling, 6 flatten, 7 the linear layer.
    """
    layers = [L.Conv2d(in_channels, channels[0], 3, padding=1, bias=False), L.BatchNorm2d(channels[0]),
              L.ReLU(), residual_block(L, channels[0], channels[0])]
    layers += [residual_block(L, c_in, c_out, stride=2) for c_in, c_out in zip(channels, channels[1:])]
    layers += [L.AdaptiveAvgPool2d(1), L.Flatten(), L.Linear(channels[-1], num_classes)]
    return L.Sequential(*layers)
