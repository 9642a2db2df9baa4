"""Layers of the NumPy engine, with the constructor arguments and parameter names of ``torch.nn``.

A layer's ``forward(x)`` (or ``layer(x)``) computes the output and caches what the backward pass
needs; ``backward(dout)`` returns ``dx`` and ADDS the parameter gradients to ``p.grad`` (as
``loss.backward()`` does in PyTorch). Parameter and buffer names, and so the keys of
``state_dict()``, are those of the PyTorch twin built from the same layer list, so weights copy
across with ``np_model.load_state_dict(torch_model.state_dict())``.

Initialisation follows PyTorch's defaults: weights and biases of ``Linear``, ``Conv2d`` and
``ConvTranspose2d`` are drawn from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (what
``kaiming_uniform_(a=sqrt(5))`` amounts to), batch norm starts at weight 1 and bias 0. The draws
come from the ``rng`` argument (a ``numpy.random.Generator``); ``rng=None`` uses a fresh,
unseeded generator, so pass ``rng=np.random.default_rng(seed)`` for reproducible weights.

Limitation: a layer caches ONE forward pass, so a layer object used twice in a network (weight
sharing) must not be called twice before its backward.

This module imports NumPy only.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from cnnbook import functional as F
from cnnbook.functional._checks import _pair, to_numpy
from cnnbook.functional.dropout import _check_p
from cnnbook.functional.normalization import _normalized_shape

__all__ = [
    "Parameter", "Module", "Linear", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "Sigmoid",
    "Tanh", "Flatten", "Dropout", "Identity", "Sequential", "Residual",
    "PixelShuffle", "PixelUnshuffle", "LayerNorm", "GroupNorm", "InstanceNorm2d",
]
# LocallyConnected2d (chapter 6) is public too, but not in __all__: cnnbook.twins builds a
# PyTorch twin of every layer listed here, and torch.nn has no locally connected layer.


# =============================================================================================
# Parameters and the Module base class
# =============================================================================================
class Parameter:
    """A trainable array: ``data`` holds the values, ``grad`` the accumulated gradient (or None).

    ``grad`` starts as None, as in PyTorch; ``backward`` creates or adds to it and
    ``zero_grad()`` resets it to None.
    """

    def __init__(self, data):
        self.data = np.asarray(data)
        self.grad = None

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def accumulate(self, g):
        """Add ``g`` to ``grad`` (creating it on the first call)."""
        g = np.asarray(g, dtype=self.data.dtype)
        self.grad = g.copy() if self.grad is None else self.grad + g

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of every layer: registration of parameters, buffers and sub-modules, modes,
    ``state_dict`` and the ``forward``/``backward`` protocol.

    Subclasses implement ``forward(x)`` and ``backward(dout)``. Assigning a :class:`Parameter`
    or a :class:`Module` to an attribute registers it, in order; buffers (running statistics)
    are registered with :meth:`register_buffer`.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_cache", None)

    # --- registration --------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = None if value is None else np.asarray(value)
            return
        for d in (self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):   # called only when normal lookup fails
        for d in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(d, {})
            if name in table:
                return table[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def register_buffer(self, name, value):
        """Register a non-trainable array (e.g. ``running_mean``) saved in ``state_dict``."""
        self._buffers[name] = None if value is None else np.asarray(value)

    # --- forward / backward --------------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def _cached(self):
        """The forward cache, or a clear error if ``backward`` comes before ``forward``."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: run "
                               f"forward(x) first (it caches what backward needs)")
        return self._cache

    # --- traversal -----------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        """Yield ``(name, module)`` for this module and all sub-modules, depth first."""
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self):
        return iter(self._modules.values())

    def _named(self, kinds, prefix=""):
        """Yield ``(dotted_name, item)`` for every non-None entry of the tables ``kinds``
        (``"_parameters"``, ``"_buffers"``), module by module, depth first: the one walk behind
        ``named_parameters``, ``named_buffers`` and ``state_dict``."""
        for mod_name, m in self.named_modules(prefix):
            for kind in kinds:
                for name, item in getattr(m, kind).items():
                    if item is not None:
                        yield (f"{mod_name}.{name}" if mod_name else name), item

    def named_parameters(self, prefix=""):
        """Yield ``(dotted_name, Parameter)`` recursively, names as in PyTorch (``"0.weight"``)."""
        yield from self._named(("_parameters",), prefix)

    def parameters(self):
        """Yield every :class:`Parameter`, in the order of :meth:`named_parameters`."""
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix=""):
        """Yield ``(dotted_name, array)`` for the buffers (running statistics) recursively."""
        yield from self._named(("_buffers",), prefix)

    def zero_grad(self):
        """Reset every parameter gradient to None (PyTorch's default ``set_to_none=True``)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Switch this module and its sub-modules to training mode (or evaluation if ``mode`` is False)."""
        for _, m in self.named_modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Switch to evaluation mode: batch norm uses running statistics, dropout is off."""
        return self.train(False)

    # --- state_dict ------------------------------------------------------------------------------
    def _state(self):
        """Yield ``(key, array)`` for every state-dict entry: the live arrays, not copies."""
        for name, item in self._named(("_parameters", "_buffers")):
            yield name, item.data if isinstance(item, Parameter) else item

    def state_dict(self):
        """Return an ordered dict name -> array COPY of every parameter and buffer.

        The keys are those of the PyTorch twin (``"0.weight"``, ``"1.running_mean"``,
        ``"1.num_batches_tracked"``, ...). Unlike PyTorch, the arrays are copies.
        """
        return OrderedDict((name, np.array(arr, copy=True)) for name, arr in self._state())

    def load_state_dict(self, state_dict):
        """Copy values from ``state_dict`` (NumPy arrays or torch tensors) into this module.

        Strict, as in PyTorch: missing keys, unexpected keys and shape mismatches raise one
        ``ValueError`` listing all of them. Values are cast to this module's dtypes and written
        in place.
        """
        current = OrderedDict(self._state())
        given = {k: to_numpy(v) for k, v in state_dict.items()}
        missing = [k for k in current if k not in given]
        unexpected = [k for k in given if k not in current]
        mismatched = [f"{k}: expected shape {arr.shape}, got {given[k].shape}"
                      for k, arr in current.items() if k in given and given[k].shape != arr.shape]
        if missing or unexpected or mismatched:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            if mismatched:
                parts.append("shape mismatches: " + "; ".join(mismatched))
            raise ValueError(f"state_dict: error(s) loading into {type(self).__name__}: " + ", ".join(parts))
        for k, arr in current.items():
            arr[...] = given[k].astype(arr.dtype, copy=False)      # in place: the layers keep their arrays
        return self

    # --- printing --------------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return "\n".join(lines) + "\n)"


def _uniform(rng, bound, shape, dtype):
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def _check_padding_mode(padding_mode):
    if padding_mode != "zeros":
        raise ValueError(f"padding_mode: only 'zeros' is implemented, got {padding_mode!r}")


# =============================================================================================
# Layers that wrap a functional pair: one way of calling it, shared by every layer
# =============================================================================================
class _Functional(Module):
    """A layer that wraps a pair of ``cnnbook.functional`` ops.

    Every such layer names its pair ONCE, as class attributes
    ``_op, _op_backward = staticmethod(F.op), staticmethod(F.op_backward)``, and calls them as
    ``self._op(...)`` and ``self._op_backward(...)``. By default
    ``forward(x) = _op(x, *_args(), **_kwargs())`` (caching ``x``) and
    ``backward(dout) = _op_backward(dout, x, *_args(), **_kwargs())``; a layer whose call
    differs (weights, a mask, running statistics) overrides ``forward``/``backward``.
    """

    _op = _op_backward = None

    def _args(self):
        return ()

    def _kwargs(self):
        return {}

    def forward(self, x):
        self._cache = x
        return self._op(x, *self._args(), **self._kwargs())

    def backward(self, dout):
        return self._op_backward(dout, self._cached(), *self._args(), **self._kwargs())


class _Weighted(_Functional):
    """A layer with a ``weight`` and an optional ``bias`` (Linear, Conv2d, ConvTranspose2d).

    ``forward = _op(x, weight, bias, **_kwargs())``; ``backward`` calls
    ``_op_backward(dout, x, weight, **_kwargs()) -> (dx, dweight, dbias)`` and adds the
    parameter gradients.
    """

    def _init_parameters(self, weight_shape, fan_in, bias_size, rng, dtype):
        """PyTorch's default: weight and bias (None if ``bias_size`` is None) drawn from
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, which is what ``kaiming_uniform_(a=sqrt(5))``
        amounts to."""
        rng = np.random.default_rng() if rng is None else rng
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight = Parameter(_uniform(rng, bound, weight_shape, dtype))
        self.bias = None if bias_size is None else Parameter(_uniform(rng, bound, (bias_size,), dtype))

    def forward(self, x):
        self._cache = x
        return self._op(x, self.weight.data, None if self.bias is None else self.bias.data,
                        **self._kwargs())

    def backward(self, dout):
        dx, dweight, dbias = self._op_backward(dout, self._cached(), self.weight.data, **self._kwargs())
        self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)
        return dx


# =============================================================================================
# Dense layers and activations
# =============================================================================================
class Linear(_Weighted):
    """Fully connected layer ``y = x @ weight.T + bias``, as ``torch.nn.Linear``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    rng : numpy.random.Generator, optional
        Source of the initial weights (``None``: a fresh, unseeded generator).
    dtype : numpy dtype
        ``np.float64`` (default) or ``np.float32``.

    Shapes: x (N, *, in_features) -> out (N, *, out_features).
    """

    _op, _op_backward = staticmethod(F.linear), staticmethod(F.linear_backward)

    def __init__(self, in_features, out_features, bias=True, *, rng=None, dtype=np.float64):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_parameters((out_features, in_features), in_features, out_features if bias else None,
                              rng, dtype)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(_Functional):
    """``max(x, 0)`` elementwise, as ``torch.nn.ReLU``."""
    _op, _op_backward = staticmethod(F.relu), staticmethod(F.relu_backward)


class _SaturatingActivation(_Functional):
    """An activation whose gradient is cheapest from its output: caches ``x`` and ``out``."""

    def forward(self, x):
        out = self._op(x)
        self._cache = (x, out)
        return out

    def backward(self, dout):
        x, out = self._cached()
        return self._op_backward(dout, x, out=out)


class Sigmoid(_SaturatingActivation):
    """``1 / (1 + exp(-x))`` elementwise, as ``torch.nn.Sigmoid``."""
    _op, _op_backward = staticmethod(F.sigmoid), staticmethod(F.sigmoid_backward)


class Tanh(_SaturatingActivation):
    """``tanh(x)`` elementwise, as ``torch.nn.Tanh``."""
    _op, _op_backward = staticmethod(F.tanh), staticmethod(F.tanh_backward)


class Identity(Module):
    """Returns its input unchanged, as ``torch.nn.Identity``."""

    def forward(self, x):
        self._cache = True
        return x

    def backward(self, dout):
        self._cached()
        return dout


class Flatten(_Functional):
    """Merge axes ``start_dim..end_dim``, as ``torch.nn.Flatten`` (default: (N, C, H, W) -> (N, C*H*W))."""

    _op, _op_backward = staticmethod(F.flatten), staticmethod(F.flatten_backward)

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        self._cache = np.shape(x)          # the backward needs only the shape
        return self._op(x, self.start_dim, self.end_dim)

    def backward(self, dout):
        return self._op_backward(dout, self._cached())

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(_Functional):
    """Inverted dropout, as ``torch.nn.Dropout``; the identity in evaluation mode.

    Parameters
    ----------
    p : float in [0, 1]
        Probability of zeroing an element.
    rng : numpy.random.Generator, optional
        Source of the masks (``None``: a fresh, unseeded generator).
    """

    _op, _op_backward = staticmethod(F.dropout), staticmethod(F.dropout_backward)

    def __init__(self, p=0.5, inplace=False, *, rng=None):
        super().__init__()
        if inplace:
            raise ValueError("inplace: only inplace=False is implemented (the NumPy engine keeps x intact)")
        self.p = _check_p(p)
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, x):
        out, mask = self._op(x, self.p, self.training, self.rng, return_mask=True)
        self._cache = (mask,)          # mask is None in evaluation mode
        return out

    def backward(self, dout):
        (mask,) = self._cached()
        return self._op_backward(dout, mask, self.p)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"


# =============================================================================================
# Batch normalisation
# =============================================================================================
class _BatchNorm(_Functional):
    _op, _op_backward = staticmethod(F.batch_norm), staticmethod(F.batch_norm_backward)
    _expected_ndim = (4,)
    _expected_text = "(N, C, H, W)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 *, bias=True, dtype=np.float64):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self.use_bias = affine, track_running_stats, bias
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if bias else None
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _check_input(self, x):
        x = np.asarray(x)
        if x.ndim not in self._expected_ndim:
            raise ValueError(f"x: {type(self).__name__} expects shape {self._expected_text}, got {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"x: expected {self.num_features} channels (axis 1), got shape {x.shape}")
        return x

    def _use_batch_stats(self):
        return self.training or self.running_mean is None

    def forward(self, x):
        x = self._check_input(x)
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if momentum is None:            # cumulative moving average, as in PyTorch
                momentum = 1.0 / float(self.num_batches_tracked)
        batch = self._use_batch_stats()
        weight = None if self.weight is None else self.weight.data
        bias = None if self.bias is None else self.bias.data
        # running stats are None without track_running_stats; in training they are updated in place
        out = self._op(x, self.running_mean, self.running_var, weight, bias, training=batch,
                       momentum=momentum, eps=self.eps)
        # evaluation backward needs the running statistics as they were during this forward
        stats = None if batch else (self.running_mean.copy(), self.running_var.copy())
        self._cache = (x, batch, stats)
        return out

    def backward(self, dout):
        x, batch, stats = self._cached()
        weight = None if self.weight is None else self.weight.data
        if batch:
            dx, dweight, dbias = self._op_backward(dout, x, weight, self.eps)
        else:
            dx, dweight, dbias = self._op_backward(dout, x, weight, self.eps, training=False,
                                                   running_mean=stats[0], running_var=stats[1])
        if self.weight is not None:
            self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)
        return dx

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.use_bias}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, H, W) for each channel, as ``torch.nn.BatchNorm2d``.

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
    momentum : float or None
        Weight of the new batch statistic in the running averages (None: cumulative average).
    affine : bool
        Learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
    bias : bool, keyword-only
        With ``affine``, also learn the shift ``bias`` (PyTorch 2.13's keyword-only ``bias``).
    track_running_stats : bool
        Keep ``running_mean``, ``running_var`` and ``num_batches_tracked`` buffers; without them
        batch statistics are used in evaluation mode too.
    dtype : numpy dtype, keyword-only

    Shapes: x (N, C, H, W) -> out (N, C, H, W).
    """


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, as ``torch.nn.BatchNorm1d``."""
    _expected_ndim = (2, 3)
    _expected_text = "(N, C) or (N, C, L)"


class _AffineNorm(_Functional):
    """What LayerNorm, GroupNorm and InstanceNorm2d share: an optional learned ``weight``
    (init 1) and ``bias`` (init 0) of a given shape, and adding their gradients."""

    def _init_affine(self, affine, bias, shape, dtype):
        if affine:
            self.weight = Parameter(np.ones(shape, dtype=dtype))
            self.bias = Parameter(np.zeros(shape, dtype=dtype)) if bias else None
        else:
            self.weight = self.bias = None

    def _data(self):
        return (None if self.weight is None else self.weight.data,
                None if self.bias is None else self.bias.data)

    def _accumulate(self, dweight, dbias):
        if self.weight is not None:
            self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)


class LayerNorm(_AffineNorm):
    """Layer normalisation over the trailing ``normalized_shape`` axes, as ``torch.nn.LayerNorm``.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        E.g. ``(C, H, W)`` to normalise each image over all its channels and positions.
    eps : float
    elementwise_affine : bool
        Learn an element-wise ``weight`` (init 1) and ``bias`` (init 0) of shape normalized_shape.
    bias : bool
        With ``elementwise_affine``, also learn ``bias``.
    dtype : numpy dtype, keyword-only

    Shapes: x (*, *normalized_shape) -> out, same shape.
    """

    _op, _op_backward = staticmethod(F.layer_norm), staticmethod(F.layer_norm_backward)

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *,
                 dtype=np.float64):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self._init_affine(elementwise_affine, bias, self.normalized_shape, dtype)

    def forward(self, x):
        self._cache = x
        return self._op(x, self.normalized_shape, *self._data(), eps=self.eps)

    def backward(self, dout):
        dx, dweight, dbias = self._op_backward(dout, self._cached(), self.normalized_shape,
                                               self._data()[0], eps=self.eps)
        self._accumulate(dweight, dbias)
        return dx

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(_AffineNorm):
    """Group normalisation, as ``torch.nn.GroupNorm``: each sample's channels split into
    ``num_groups`` groups, each normalised over its channels and positions.

    Parameters
    ----------
    num_groups : int
        G, a divisor of ``num_channels``. G = 1: layer norm over (C, H, W); G = C: instance norm.
    num_channels : int
    eps : float
    affine : bool
        Learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
    bias : bool, keyword-only
    dtype : numpy dtype, keyword-only

    Shapes: x (N, C, ...) -> out, same shape.
    """

    _op, _op_backward = staticmethod(F.group_norm), staticmethod(F.group_norm_backward)

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True,
                 dtype=np.float64):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"num_groups: expected a divisor of num_channels={num_channels}, "
                             f"got {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        self._init_affine(affine, bias, (num_channels,), dtype)

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"x: expected shape (N, {self.num_channels}, ...), got {x.shape}")
        self._cache = x
        return self._op(x, self.num_groups, *self._data(), eps=self.eps)

    def backward(self, dout):
        dx, dweight, dbias = self._op_backward(dout, self._cached(), self.num_groups,
                                               self._data()[0], eps=self.eps)
        self._accumulate(dweight, dbias)
        return dx

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(_AffineNorm):
    """Instance normalisation, as ``torch.nn.InstanceNorm2d``: each channel of each image
    normalised over its own positions (H, W).

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps, momentum : float
    affine : bool, default False
        Learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
    track_running_stats : bool, default False
        Keep running averages of the instances' means and variances and use them in evaluation
        mode (PyTorch's default is not to: instance statistics in both modes).
    bias : bool, keyword-only
    dtype : numpy dtype, keyword-only

    Shapes: x (N, C, H, W) or (C, H, W) -> out, same shape.
    """

    _op, _op_backward = staticmethod(F.instance_norm), staticmethod(F.instance_norm_backward)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, *, bias=True, dtype=np.float64):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self._init_affine(affine, bias, (num_features,), dtype)
        running = track_running_stats
        self.register_buffer("running_mean",
                             np.zeros(num_features, dtype=dtype) if running else None)
        self.register_buffer("running_var",
                             np.ones(num_features, dtype=dtype) if running else None)
        self.register_buffer("num_batches_tracked",
                             np.array(0, dtype=np.int64) if running else None)

    def forward(self, x):
        x = np.asarray(x)
        unbatched = x.ndim == 3
        x = x[None] if unbatched else x
        if x.ndim != 4:
            raise ValueError(f"x: InstanceNorm2d expects shape (N, C, H, W) or (C, H, W), "
                             f"got {x.shape}")
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ValueError(f"x: expected {self.num_features} channels (axis 1), got shape "
                             f"{x.shape}")
        use_input = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum    # as PyTorch
        out = self._op(x, self.running_mean, self.running_var, *self._data(),
                       use_input_stats=use_input, momentum=momentum, eps=self.eps)
        stats = None if use_input else (self.running_mean.copy(), self.running_var.copy())
        self._cache = (x, use_input, stats, unbatched)
        return out[0] if unbatched else out

    def backward(self, dout):
        x, use_input, stats, unbatched = self._cached()
        dout = np.asarray(dout)[None] if unbatched else dout
        rm, rv = (None, None) if stats is None else stats
        dx, dweight, dbias = self._op_backward(dout, x, self._data()[0], self.eps,
                                               use_input_stats=use_input, running_mean=rm,
                                               running_var=rv)
        self._accumulate(dweight, dbias)
        return dx[0] if unbatched else dx

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


# =============================================================================================
# Convolution and pooling (wrapping the functional ops)
# =============================================================================================
class _ConvBase(_Weighted):
    """What Conv2d and ConvTranspose2d share: channel checks, initialisation, repr.

    A subclass names its functional pair (``_op``, ``_op_backward``), its weight shape and the
    extra keyword arguments of that pair (``_kwargs``).
    """

    def _setup(self, in_channels, out_channels, kernel_size, stride, dilation, groups, bias, padding_mode,
               rng, dtype, weight_shape, fan_in):
        _check_padding_mode(padding_mode)
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if v % groups:
                raise ValueError(f"groups: expected a divisor of {name}={v}, got groups={groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", minimum=1)
        self.stride = _pair(stride, "stride", minimum=1)
        self.dilation, self.groups = _pair(dilation, "dilation", minimum=1), groups
        self._init_parameters(weight_shape, fan_in, out_channels if bias else None, rng, dtype)

    def extra_repr(self):
        # the order of torch.nn.modules.conv._ConvNd.extra_repr
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvBase):
    """2-D convolution (cross-correlation), as ``torch.nn.Conv2d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : int, (int, int), 'same' or 'valid'
    groups : int
    bias : bool
    padding_mode : 'zeros'
        The only mode implemented (PyTorch also has 'reflect', 'replicate', 'circular').
    rng : numpy.random.Generator, optional, keyword-only
        Source of the initial weights (``None``: a fresh, unseeded generator).
    dtype : numpy dtype, keyword-only

    Shapes: x (N, C_in, H, W) -> out (N, C_out, H_out, W_out); weight
    (C_out, C_in // groups, kH, kW); bias (C_out,).
    """

    _op, _op_backward = staticmethod(F.conv2d), staticmethod(F.conv2d_backward)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", *, rng=None, dtype=np.float64):
        super().__init__()
        kH, kW = _pair(kernel_size, "kernel_size", minimum=1)
        self._setup(in_channels, out_channels, kernel_size, stride, dilation, groups, bias, padding_mode,
                    rng, dtype, weight_shape=(out_channels, in_channels // groups, kH, kW),
                    fan_in=in_channels // groups * kH * kW)
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding")

    def _kwargs(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)


class ConvTranspose2d(_ConvBase):
    """Transposed 2-D convolution, as ``torch.nn.ConvTranspose2d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, output_padding, dilation : int or (int, int)
    groups : int
    bias : bool
    rng : numpy.random.Generator, optional, keyword-only
    dtype : numpy dtype, keyword-only

    Shapes: x (N, C_in, H, W) -> out (N, C_out, H_out, W_out); weight
    (C_in, C_out // groups, kH, kW) (note the order, as in PyTorch); bias (C_out,).
    """

    _op, _op_backward = staticmethod(F.conv_transpose2d), staticmethod(F.conv_transpose2d_backward)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", *, rng=None, dtype=np.float64):
        super().__init__()
        kH, kW = _pair(kernel_size, "kernel_size", minimum=1)
        self._setup(in_channels, out_channels, kernel_size, stride, dilation, groups, bias, padding_mode,
                    rng, dtype, weight_shape=(in_channels, out_channels // groups, kH, kW),
                    fan_in=out_channels // groups * kH * kW)   # PyTorch uses weight.size(1) * kH * kW
        self.padding = _pair(padding, "padding")
        self.output_padding = _pair(output_padding, "output_padding")

    def _kwargs(self):
        return dict(stride=self.stride, padding=self.padding, output_padding=self.output_padding,
                    groups=self.groups, dilation=self.dilation)


class _Pool(_Functional):
    """Pooling: ``_op(x, window, **_kwargs())``, the window being ``kernel_size`` or
    ``output_size``; max pooling can also return the indices of the maxima."""

    return_indices = False

    def forward(self, x):
        if not self.return_indices:
            return super().forward(x)
        self._cache = x
        return self._op(x, *self._args(), **self._kwargs(), return_indices=True)


class MaxPool2d(_Pool):
    """Max pooling, as ``torch.nn.MaxPool2d`` (``stride=None`` means ``stride = kernel_size``).

    With ``return_indices=True`` the forward pass returns ``(out, indices)`` as in PyTorch.
    """

    _op, _op_backward = staticmethod(F.max_pool2d), staticmethod(F.max_pool2d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices

    def _args(self):
        return (self.kernel_size,)

    def _kwargs(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, ceil_mode=self.ceil_mode)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool):
    """Average pooling, as ``torch.nn.AvgPool2d`` (``stride=None`` means ``stride = kernel_size``)."""

    _op, _op_backward = staticmethod(F.avg_pool2d), staticmethod(F.avg_pool2d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def _args(self):
        return (self.kernel_size,)

    def _kwargs(self):
        return dict(stride=self.stride, padding=self.padding, ceil_mode=self.ceil_mode,
                    count_include_pad=self.count_include_pad, divisor_override=self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(_Pool):
    """What the adaptive pooling layers share: the ``output_size`` argument and the repr.

    (In PyTorch neither adaptive layer is a subclass of the other, nor is it here.)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def _args(self):
        return (self.output_size,)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling to a fixed ``output_size``, as ``torch.nn.AdaptiveAvgPool2d``."""

    _op, _op_backward = staticmethod(F.adaptive_avg_pool2d), staticmethod(F.adaptive_avg_pool2d_backward)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max pooling to a fixed ``output_size``, as ``torch.nn.AdaptiveMaxPool2d``.

    With ``return_indices=True`` the forward pass returns ``(out, indices)`` as in PyTorch.
    """

    _op, _op_backward = staticmethod(F.adaptive_max_pool2d), staticmethod(F.adaptive_max_pool2d_backward)

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices


# =============================================================================================
# Containers
# =============================================================================================
class Sequential(Module):
    """Layers applied in order, as ``torch.nn.Sequential``; parameters named ``"0.weight"``, ...

    ``backward`` runs the layers' backward passes in reverse order. Supports ``len``, indexing
    (an int gives the layer, a slice a new ``Sequential`` sharing the layers) and iteration.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"layers: expected cnnbook.nn.Module instances, got {type(layer).__name__} "
                                f"at position {i}")
            self._modules[str(i)] = layer

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, i):
        layers = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*layers[i])
        return layers[i]

    def forward(self, x):
        self._cache = True
        for layer in self:
            x = layer(x)
        return x

    def backward(self, dout):
        self._cached()
        for layer in reversed(list(self)):
            dout = layer.backward(dout)
        return dout


class Residual(Module):
    """``body(x) + shortcut(x)``: a residual connection; ``shortcut=None`` is the
    identity.

    Keys are ``"body.<...>"`` and ``"shortcut.<...>"`` (e.g. ``"body.0.weight"``), so
    the PyTorch twin must name its two branches ``body`` and ``shortcut``
    (``cnnbook.twins.Residual`` does). A ResNet block's final ReLU comes after the sum:
    ``Sequential(Residual(body, shortcut), ReLU())``.
    """

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        self._cache = True
        out = self.body(x)
        return out + (x if self.shortcut is None else self.shortcut(x))

    def backward(self, dout):
        self._cached()
        dx = self.body.backward(dout)
        return dx + (dout if self.shortcut is None else self.shortcut.backward(dout))


# =============================================================================================
# Convolution variants (chapter 6): sub-pixel rearrangement and unshared convolution
# =============================================================================================
class PixelShuffle(_Functional):
    """``(N, C * r**2, H, W) -> (N, C, r * H, r * W)``, as ``torch.nn.PixelShuffle``."""

    _op, _op_backward = staticmethod(F.pixel_shuffle), staticmethod(F.pixel_shuffle_backward)

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def _args(self):
        return (self.upscale_factor,)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(_Functional):
    """``(N, C, r * H, r * W) -> (N, C * r**2, H, W)``, as ``torch.nn.PixelUnshuffle``."""

    _op, _op_backward = staticmethod(F.pixel_unshuffle), staticmethod(F.pixel_unshuffle_backward)

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def _args(self):
        return (self.downscale_factor,)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class LocallyConnected2d(_Weighted):
    """Locally connected (unshared) convolution: its own kernel at every output position.

    PyTorch has no such layer; ``F.conv2d_local`` documents the computation.

    Parameters
    ----------
    in_channels, out_channels : int
    input_size : int or (int, int)
        ``(H, W)`` of the input: unlike a convolution, the layer's weights depend on it.
    kernel_size, stride, padding : int or (int, int)
    bias : bool
        One bias per output value, shape (C_out, H_out, W_out).
    rng : numpy.random.Generator, optional, keyword-only
    dtype : numpy dtype, keyword-only

    Shapes: weight (C_out, H_out, W_out, C_in, kH, kW), initialised as ``Conv2d``'s
    (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, ``fan_in = C_in * kH * kW``).
    """

    _op, _op_backward = staticmethod(F.conv2d_local), staticmethod(F.conv2d_local_backward)

    def __init__(self, in_channels, out_channels, input_size, kernel_size, stride=1, padding=0,
                 bias=True, *, rng=None, dtype=np.float64):
        super().__init__()
        H, W = _pair(input_size, "input_size", minimum=1)
        kH, kW = self.kernel_size = _pair(kernel_size, "kernel_size", minimum=1)
        self.stride = _pair(stride, "stride", minimum=1)
        self.padding = _pair(padding, "padding")
        H_out = (H + 2 * self.padding[0] - kH) // self.stride[0] + 1
        W_out = (W + 2 * self.padding[1] - kW) // self.stride[1] + 1
        if H_out < 1 or W_out < 1:
            raise ValueError(f"kernel_size: {(kH, kW)} does not fit the padded input "
                             f"{(H + 2 * self.padding[0], W + 2 * self.padding[1])}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_size, self.output_size = (H, W), (H_out, W_out)
        rng = np.random.default_rng() if rng is None else rng
        bound = 1 / math.sqrt(in_channels * kH * kW)
        self.weight = Parameter(_uniform(rng, bound, (out_channels, H_out, W_out, in_channels,
                                                      kH, kW), dtype))
        self.bias = (Parameter(_uniform(rng, bound, (out_channels, H_out, W_out), dtype))
                     if bias else None)

    def _kwargs(self):
        return dict(stride=self.stride, padding=self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, input_size={self.input_size}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={self.bias is not None}")
