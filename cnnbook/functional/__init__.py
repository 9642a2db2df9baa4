"""Pure-NumPy neural-network operations, named and shaped like ``torch.nn.functional``.

Every forward ``op`` has an ``op_backward`` twin that returns exactly what PyTorch's autograd
returns for the same call. Arrays are NCHW, ``float64`` by default (``float32`` accepted).
This package imports NumPy only.

One file per family; everything public is re-exported here, so ``F.conv2d`` is the name to use:

========================  =====================================================================
``conv.py``               ``conv2d``, ``conv_transpose2d``, ``conv1d`` (im2col + one matmul)
``pooling.py``            ``max_pool2d``, ``avg_pool2d``, ``adaptive_*_pool2d``, ``max_unpool2d``
``normalization.py``      ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``
``activation.py``         ``relu``, ``sigmoid``, ``tanh``, ``softmax``, ``log_softmax``
``linear.py``             ``linear``, ``flatten``
``loss.py``               ``cross_entropy``
``dropout.py``            ``dropout``
``padding.py``            ``pad``
``shuffle.py``            ``pixel_shuffle``, ``pixel_unshuffle`` (sub-pixel convolution, chapter 6)
``local.py``              ``conv2d_local`` (locally connected, unshared convolution, chapter 6)
``_checks.py``            argument checks shared by all of them (private)
========================  =====================================================================

A new op goes into the file of its family (or a new file), with its ``*_backward``, and is
added to the imports below and to ``__all__``.
"""
from .activation import (log_softmax, log_softmax_backward, relu, relu_backward, sigmoid,
                         sigmoid_backward, softmax, softmax_backward, tanh, tanh_backward)
from .conv import (conv1d, conv1d_backward, conv2d, conv2d_backward, conv_transpose2d,
                   conv_transpose2d_backward)
from .dropout import dropout, dropout_backward
from .linear import flatten, flatten_backward, linear, linear_backward
from .local import conv2d_local, conv2d_local_backward
from .loss import cross_entropy, cross_entropy_backward
from .normalization import (batch_norm, batch_norm_backward, group_norm, group_norm_backward,
                            instance_norm, instance_norm_backward, layer_norm,
                            layer_norm_backward)
from .padding import pad, pad_backward
from .pooling import (adaptive_avg_pool2d, adaptive_avg_pool2d_backward, adaptive_max_pool2d,
                      adaptive_max_pool2d_backward, avg_pool2d, avg_pool2d_backward, max_pool2d,
                      max_pool2d_backward, max_unpool2d)
from .shuffle import (pixel_shuffle, pixel_shuffle_backward, pixel_unshuffle,
                      pixel_unshuffle_backward)

__all__ = [
    "conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward", "conv1d",
    "conv1d_backward",
    "max_pool2d", "max_pool2d_backward", "max_unpool2d", "avg_pool2d", "avg_pool2d_backward",
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward", "group_norm",
    "group_norm_backward", "instance_norm", "instance_norm_backward",
    "relu", "relu_backward", "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "linear", "linear_backward", "flatten", "flatten_backward",
    "cross_entropy", "cross_entropy_backward",
    "dropout", "dropout_backward",
    "pad", "pad_backward",
    "pixel_shuffle", "pixel_shuffle_backward", "pixel_unshuffle", "pixel_unshuffle_backward",
    "conv2d_local", "conv2d_local_backward",
]
