"""The lineage from LeNet to EfficientNet, written once in PyTorch (``torch.nn`` only).

Every builder returns a ``torch.nn.Module`` whose defaults are the ImageNet
configuration of its paper (LeNet: the simplified LeNet-5 of d2l on 28 x 28 digits), so
its parameter count is the published one; keyword options give the small versions the
chapters train on a CPU (``num_classes``, ``in_channels``, ``width_mult`` and friends).
Adaptive average pooling before the classifier lets the networks whose paper allows it
run on small inputs too.

===================  ===============================================  ================
builder              default configuration                            parameters
===================  ===============================================  ================
``lenet5``           simplified LeNet-5 (sigmoid, average pooling)    61,706
``alexnet``          the paper's two-group AlexNet                    60,965,224
``vgg16``            VGG-16 (configuration D)                         138,357,544
``nin``              Network in Network, ImageNet layout of d2l       7,439,608
``googlenet``        GoogLeNet (Inception v1), no auxiliary heads     6,998,552
``resnet18/34/50``   ResNet with projection shortcuts (option B)      11.7/21.8/25.6 M
``resnet101/152``    ResNet, bottleneck blocks (option B)             44.5/60.2 M
``resnext50_32x4d``  ResNeXt-50, 32 groups of width 4                 25,028,904
``densenet121``      DenseNet-BC-121 (k = 32)                         7,978,856
``mobilenet_v1``     MobileNet v1, width 1.0                          4,231,976
``mobilenet_v2``     MobileNet v2, width 1.0                          3,504,872
``efficientnet_b0``  EfficientNet-B0 (MBConv, squeeze-and-excitation) 5,288,548
``xception``         Xception (Keras reference), 299 x 299 input      22,855,952
``fasternet``        FasterNet-T0 (official repository)               3,905,500
===================  ===============================================  ================

Counting tools: :func:`param_count`, :func:`macs` (multiply-adds of one forward pass,
counted by forward hooks), :func:`summary` (one row per layer: name, type, output shape,
parameters, MACs) and :func:`summary_table` (those rows as a Markdown table).

A model built under ``with torch.device("meta"):`` has shapes but no numbers: counting
its parameters and MACs then takes milliseconds even for VGG-16 (this is how the
appendix table and the tests count the ImageNet-size models).

``python -m cnnbook.models --table`` prints the book's appendix page
``appendix/models.md``; ``--check`` fails if the committed page differs.

Example
-------
>>> import torch
>>> from cnnbook import models
>>> with torch.device("meta"):
...     net = models.resnet18()
>>> models.param_count(net)
11689512
>>> round(models.macs(net, (3, 224, 224)) / 1e9, 2)
1.81
>>> small = models.resnet18(num_classes=10, in_channels=1, width_mult=0.25)
>>> small(torch.zeros(2, 1, 32, 32)).shape
torch.Size([2, 10])
"""
from __future__ import annotations

import argparse
import math
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "lenet5", "alexnet", "vgg16", "vgg", "nin", "googlenet", "resnet", "resnet18",
    "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "densenet",
    "densenet121", "mobilenet_v1", "mobilenet_v2", "efficientnet_b0",
    "BasicBlock", "Bottleneck", "Inception", "DenseLayer", "DenseBlock", "Transition",
    "DepthwiseSeparable", "InvertedResidual", "SqueezeExcitation", "MBConv",
    "xception", "SeparableConv2d", "XceptionBlock", "fasternet", "PConv",
    "FasterNetBlock", "FASTERNET_VARIANTS",
    "ALEXNET_ONE_TOWER_WIDTHS", "MODELS",
    "param_count", "macs", "summary", "summary_table", "LayerRow", "stage_table",
    "appendix_page",
]


# ======================================================================================
# Argument checks: bad arguments raise ValueError naming the argument
# ======================================================================================
def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _positive_float(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def _probability(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not 0 <= value < 1:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")
    return float(value)


def _int_tuple(name, value, length=None):
    try:
        values = tuple(value)
    except TypeError:
        raise ValueError(f"{name}: expected a sequence of positive integers, "
                         f"got {value!r}") from None
    if (length is not None and len(values) != length) or not values:
        raise ValueError(f"{name}: expected {length or 'some'} positive integers, "
                         f"got {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}: expected positive integers, got {value!r}")
    return tuple(int(v) for v in values)


def _scaled(channels, width_mult):
    """``channels * width_mult`` rounded, at least 1."""
    return max(1, int(round(channels * width_mult)))


def _make_divisible(value, divisor=8):
    """Round ``value`` to a multiple of ``divisor`` (at least ``divisor``), never going
    more than 10 % below it: the channel rule of MobileNet v2 and EfficientNet."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


# ======================================================================================
# LeNet (1998), simplified as in d2l
# ======================================================================================
def lenet5(num_classes=10, act="Sigmoid", pool="AvgPool2d", size=28):
    """The simplified LeNet-5 that d2l uses, with 61,706 parameters.

    conv 6@5x5 (padding 2) - sigmoid - 2x2 average pool - conv 16@5x5 - sigmoid - pool -
    dense 120 - dense 84 - dense ``num_classes``. Input: ``(N, 1, 28, 28)`` (padding 2
    gives the 32 x 32 that the 1998 network read). The 1998 LeNet-5 had scaled tanh
    units, trainable subsampling, a partially connected C3 and RBF outputs.

    The same network as the NumPy twin :func:`cnnbook.twins.lenet` (the tests check it):
    the layers are numbered alike, so their ``state_dict`` keys agree ("0.weight", ...,
    "11.bias").

    Parameters
    ----------
    num_classes : int
    act : str
        The ``torch.nn`` activation: "Sigmoid" (LeNet's), "ReLU", "Tanh".
    pool : str
        "AvgPool2d" (LeNet's) or "MaxPool2d".
    size : int
        Side of the square input (at least 12).
    """
    num_classes = _positive_int("num_classes", num_classes)
    size = _positive_int("size", size)
    if act not in ("Sigmoid", "ReLU", "Tanh"):
        raise ValueError(f"act: expected 'Sigmoid', 'ReLU' or 'Tanh', got {act!r}")
    if pool not in ("AvgPool2d", "MaxPool2d"):
        raise ValueError(f"pool: expected 'AvgPool2d' or 'MaxPool2d', got {pool!r}")
    side = (size // 2 - 4) // 2          # after conv (padding 2), pool, conv 5x5, pool
    if side < 1:
        raise ValueError(f"size: expected an input side of at least 12, got {size}")
    Act, Pool = getattr(nn, act), getattr(nn, pool)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), Act(), Pool(2),
        nn.Conv2d(6, 16, 5), Act(), Pool(2), nn.Flatten(),
        nn.Linear(16 * side * side, 120), Act(), nn.Linear(120, 84), Act(),
        nn.Linear(84, num_classes))


# ======================================================================================
# AlexNet (2012)
# ======================================================================================
ALEXNET_ONE_TOWER_WIDTHS = (64, 192, 384, 256, 256)
"""The conv widths of the one-tower AlexNet of Krizhevsky (2014) that torchvision ships:
with ``groups=1`` it has 61,100,840 parameters."""


def alexnet(num_classes=1000, in_channels=3, groups=2, widths=(96, 256, 384, 384, 256),
            hidden=4096, dropout=0.5, lrn=True):
    """AlexNet: five convolutions (11x11/4, 5x5, 3x3, 3x3, 3x3), three max-pools, two
    dense layers of ``hidden`` units with dropout, and the classifier.

    The defaults are the paper's network: conv2, conv4 and conv5 split into two groups
    (one per GPU; conv3 and the dense layers see both), local response normalisation
    (LRN) after conv1 and conv2, 60,965,224 parameters. The paper speaks of 224 x 224
    inputs; its arithmetic needs 227, or 224 with 2 pixels of padding in conv1 (used
    here, as torchvision does). Other configurations:

    - ``groups=1``: the same widths in one tower, 62,378,344 parameters;
    - ``groups=1, widths=ALEXNET_ONE_TOWER_WIDTHS, lrn=False``: the one-tower variant of
      Krizhevsky (2014) that torchvision calls AlexNet, 61,100,840 parameters.

    Adaptive average pooling to 6 x 6 before the dense layers (the identity at 224 x
    224) lets smaller inputs (at least 63 x 63) through.

    Parameters
    ----------
    num_classes, in_channels : int
    groups : int
        Groups of conv2, conv4 and conv5; must divide their input and output widths.
    widths : five ints
        Output channels of conv1 ... conv5.
    hidden : int
        Units of each of the two hidden dense layers.
    dropout : float
        Dropout probability before each hidden dense layer.
    lrn : bool
        LRN after conv1 and conv2 (size 5, k = 2, alpha = 1e-4 per summed square, beta =
        0.75; ``torch.nn.LocalResponseNorm`` divides its alpha by the size, so it gets
        5e-4).
    """
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    groups = _positive_int("groups", groups)
    c1, c2, c3, c4, c5 = _int_tuple("widths", widths, 5)
    hidden = _positive_int("hidden", hidden)
    dropout = _probability("dropout", dropout)
    for c in (c1, c2, c3, c4, c5):
        if c % groups:
            raise ValueError(f"groups: {groups} must divide the widths of the grouped "
                             f"convs and their inputs, got widths={tuple(widths)}")

    def norm():
        return [nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)] if lrn else []

    features = nn.Sequential(
        nn.Conv2d(in_channels, c1, 11, stride=4, padding=2), nn.ReLU(), *norm(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c1, c2, 5, padding=2, groups=groups), nn.ReLU(), *norm(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1, groups=groups), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1, groups=groups), nn.ReLU(),
        nn.MaxPool2d(3, stride=2))
    classifier = nn.Sequential(
        nn.Dropout(dropout), nn.Linear(c5 * 6 * 6, hidden), nn.ReLU(),
        nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, num_classes))
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(6), nn.Flatten(), classifier)


# ======================================================================================
# VGG (2014)
# ======================================================================================
VGG_CONFIGS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),
}


def vgg(depth=16, num_classes=1000, in_channels=3, width_mult=1.0, hidden=4096,
        dropout=0.5, batch_norm=False):
    """VGG-``depth``: 11, 13, 16 or 19 weight layers (configurations A, B, D, E).

    Only 3 x 3 convolutions (padding 1) with ReLU, five 2 x 2 max-pools, then dense
    layers of ``hidden``, ``hidden`` and ``num_classes`` units with dropout. Adaptive
    average pooling to 7 x 7 (the identity at 224 x 224) lets inputs from 32 x 32 up
    through. ``width_mult`` scales every conv width; ``batch_norm`` adds BN after each
    conv (a later variant).
    """
    if depth not in VGG_CONFIGS:
        raise ValueError(f"depth: expected one of {sorted(VGG_CONFIGS)}, got {depth!r}")
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    width_mult = _positive_float("width_mult", width_mult)
    hidden = _positive_int("hidden", hidden)
    dropout = _probability("dropout", dropout)
    layers, c_in = [], in_channels
    for v in VGG_CONFIGS[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
            continue
        c_out = _scaled(v, width_mult)
        layers.append(nn.Conv2d(c_in, c_out, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU())
        c_in = c_out
    classifier = nn.Sequential(
        nn.Linear(c_in * 7 * 7, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, num_classes))
    return nn.Sequential(nn.Sequential(*layers), nn.AdaptiveAvgPool2d(7), nn.Flatten(),
                         classifier)


def vgg16(num_classes=1000, **kwargs):
    """VGG-16 (configuration D): 13 conv + 3 dense layers, 138,357,544 parameters.

    Keyword options as :func:`vgg` (``in_channels``, ``width_mult``, ``hidden``,
    ``dropout``, ``batch_norm``).
    """
    return vgg(16, num_classes=num_classes, **kwargs)


# ======================================================================================
# Network in Network (2014)
# ======================================================================================
def _nin_block(c_in, c_out, kernel_size, stride, padding):
    """One "MLP-conv" block: a k x k conv and two 1 x 1 convs, each followed by ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 1), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 1), nn.ReLU())


def nin(num_classes=1000, in_channels=3, widths=(96, 256, 384), dropout=0.5):
    """Network in Network for ImageNet in the layout of d2l: 7,439,608 parameters.

    Four MLP-conv blocks (11x11/4, 5x5, 3x3, 3x3; each a k x k conv and two 1 x 1
    convs), 3 x 3 stride-2 max-pools after the first three, dropout, and a last block
    with ``num_classes`` channels whose global average is the output: no dense layer at
    all. (The NiN paper reports CIFAR, SVHN and MNIST networks; its ImageNet model was
    published as a Caffe file, with a 1024-channel last block. This is d2l's
    simplification.) Inputs from 67 x 67 up.
    """
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    c1, c2, c3 = _int_tuple("widths", widths, 3)
    dropout = _probability("dropout", dropout)
    return nn.Sequential(
        _nin_block(in_channels, c1, 11, 4, 0), nn.MaxPool2d(3, stride=2),
        _nin_block(c1, c2, 5, 1, 2), nn.MaxPool2d(3, stride=2),
        _nin_block(c2, c3, 3, 1, 1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(dropout),
        _nin_block(c3, num_classes, 3, 1, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


# ======================================================================================
# GoogLeNet / Inception v1 (2015)
# ======================================================================================
class Inception(nn.Module):
    """The Inception block: four branches side by side, their outputs concatenated.

    ``b1``: 1x1 conv; ``b2``: 1x1 reduction then 3x3; ``b3``: 1x1 reduction then 5x5;
    ``b4``: 3x3 max-pool (stride 1) then 1x1 projection. Every conv is followed by ReLU
    (and BN before it if ``batch_norm``). The output has ``c1 + c3 + c5 + pool_proj``
    channels and the input's height and width.

    Parameters
    ----------
    c_in : int
    c1 : int                 channels of the 1x1 branch
    c3_reduce, c3 : int      the 3x3 branch
    c5_reduce, c5 : int      the 5x5 branch
    pool_proj : int          the pooling branch
    """

    def __init__(self, c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj,
                 batch_norm=False):
        super().__init__()

        def conv(ci, co, k):
            layers = [nn.Conv2d(ci, co, k, padding=k // 2, bias=not batch_norm)]
            layers += [nn.BatchNorm2d(co)] if batch_norm else []
            return layers + [nn.ReLU()]

        self.b1 = nn.Sequential(*conv(c_in, c1, 1))
        self.b2 = nn.Sequential(*conv(c_in, c3_reduce, 1), *conv(c3_reduce, c3, 3))
        self.b3 = nn.Sequential(*conv(c_in, c5_reduce, 1), *conv(c5_reduce, c5, 5))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                *conv(c_in, pool_proj, 1))
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


# Table 1 of the paper: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
GOOGLENET_BLOCKS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet(num_classes=1000, in_channels=3, width_mult=1.0, dropout=0.4, lrn=True,
              batch_norm=False):
    """GoogLeNet (Inception v1) as in Table 1 of the paper, without the two auxiliary
    classifiers (used only in training): 6,998,552 parameters.

    Stem: 7x7/2 conv (64), 3x3/2 max-pool, LRN, 1x1 conv (64), 3x3 conv (192), LRN,
    3x3/2 max-pool; Inception 3a-3b, max-pool, 4a-4e, max-pool, 5a-5b; global average
    pooling, dropout 0.4, a dense classifier. Max-pools round up (``ceil_mode``), giving
    the paper's 56, 28, 14 and 7. The paper's table sums to about 6.8 M: it leaves out
    biases, counts K as 1,024 (3a: 163,328 weights = 159.5 K, listed as 159 K) and has
    low rows (conv1, 4c) and a high one (5a); the common variant with BN and a 3x3 conv
    in the "5x5" branch (torchvision) has 6,624,904. 1.58 G MACs at 224 x 224 (the
    text's budget: 1.5 G; Table 1's operations column, with conv1 at 34 M, sums to
    1.50 G).

    ``width_mult`` scales every channel count (for CPU experiments); ``batch_norm`` adds
    BN after every conv (and drops the conv biases and LRN is then usually switched
    off).
    """
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    width_mult = _positive_float("width_mult", width_mult)
    dropout = _probability("dropout", dropout)

    def w(c):
        return _scaled(c, width_mult)

    def conv(ci, co, k, stride=1):
        layers = [nn.Conv2d(ci, co, k, stride=stride, padding=k // 2,
                            bias=not batch_norm)]
        layers += [nn.BatchNorm2d(co)] if batch_norm else []
        return layers + [nn.ReLU()]

    def norm():
        return [nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)] if lrn else []

    stem = nn.Sequential(
        *conv(in_channels, w(64), 7, stride=2),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        *norm(), *conv(w(64), w(64), 1), *conv(w(64), w(192), 3), *norm(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True))
    layers, c = [("stem", stem)], w(192)
    for name, sizes in GOOGLENET_BLOCKS.items():
        if name in ("4a", "5a"):
            layers.append((f"pool{name[0]}", nn.MaxPool2d(3, stride=2, ceil_mode=True)))
        block = Inception(c, *(w(s) for s in sizes), batch_norm=batch_norm)
        layers.append((f"inception{name}", block))
        c = block.out_channels
    model = nn.Sequential()
    head = [("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
            ("dropout", nn.Dropout(dropout)), ("fc", nn.Linear(c, num_classes))]
    for name, layer in layers + head:
        model.add_module(name, layer)
    return model


# ======================================================================================
# ResNet (2016)
# ======================================================================================
class BasicBlock(nn.Module):
    """ReLU(F(x) + shortcut(x)) with F = conv3x3(stride) - BN - ReLU - conv3x3 - BN.

    The shortcut is the identity, or a 1x1 conv (stride) + BN projection when the shape
    changes (option B of the paper). The same function as
    :func:`cnnbook.twins.residual_block`, whose NumPy twin the book trains; here with
    readable names (``conv1``, ``bn1``, ...). ``shortcut=False`` gives the block of the
    "plain" twin: the same layers F, no addition (and no projection), ReLU(F(x)).
    """

    expansion = 1

    def __init__(self, c_in, channels, stride=1, stride_in_3x3=True, shortcut=True):
        super().__init__()
        c_out = channels * self.expansion
        self.use_shortcut = bool(shortcut)
        self.conv1 = nn.Conv2d(c_in, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = _projection(c_in, c_out, stride) if shortcut else None
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if not self.use_shortcut:
            return self.relu2(out)
        return self.relu2(out + (x if self.shortcut is None else self.shortcut(x)))


class Bottleneck(nn.Module):
    """ReLU(F(x) + shortcut(x)), F = 1x1 (reduce) - 3x3 - 1x1 (expand x4), each + BN.

    ``channels`` sets the output, ``4 * channels``; the 3x3 conv has
    ``int(channels * width_per_group / 64) * groups`` channels (``channels`` itself for
    a ResNet, ``groups=1, width_per_group=64``) and is split into ``groups`` groups:
    ResNeXt's grouped bottleneck (torchvision's rule). The paper (and its Caffe models)
    put a block's stride in the first 1x1 conv; ``stride_in_3x3=True`` moves it to the
    3x3 conv ("ResNet v1.5", torchvision's choice): same parameters, more MACs.
    ``shortcut=False`` gives the plain twin's block: the same layers, no addition.
    """

    expansion = 4

    def __init__(self, c_in, channels, stride=1, stride_in_3x3=False, shortcut=True,
                 groups=1, width_per_group=64):
        super().__init__()
        groups = _positive_int("groups", groups)
        width_per_group = _positive_int("width_per_group", width_per_group)
        c_out = channels * self.expansion
        width = int(channels * width_per_group / 64) * groups
        if width < 1:
            raise ValueError(f"width_per_group: {width_per_group} leaves no channels "
                             f"in the 3x3 conv for channels={channels}")
        self.use_shortcut = bool(shortcut)
        s1, s3 = (1, stride) if stride_in_3x3 else (stride, 1)
        self.conv1 = nn.Conv2d(c_in, width, 1, stride=s1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, stride=s3, padding=1, groups=groups,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.shortcut = _projection(c_in, c_out, stride) if shortcut else None
        self.relu3 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if not self.use_shortcut:
            return self.relu3(out)
        return self.relu3(out + (x if self.shortcut is None else self.shortcut(x)))


def _projection(c_in, c_out, stride):
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(c_out))


def resnet(block="basic", layers=(2, 2, 2, 2), num_classes=1000, in_channels=3,
           width_mult=1.0, small_input=False, stride_in_3x3=False, shortcut=True,
           groups=1, width_per_group=64):
    """A ResNet: stem, four stages of residual blocks (widths 64, 128, 256, 512 times
    ``width_mult``; stages 2-4 start with stride 2), global average pooling, a dense
    classifier.

    Parameters
    ----------
    block : "basic" or "bottleneck"
    layers : four ints
        Blocks per stage: (2, 2, 2, 2) ResNet-18, (3, 4, 6, 3) ResNet-34 (basic) or -50
        (bottleneck), (3, 4, 23, 3) -101, (3, 8, 36, 3) -152.
    num_classes, in_channels : int
    width_mult : float
        Scales every width (0.25 gives 16, 32, 64, 128).
    small_input : bool
        Replace the ImageNet stem (7x7/2 conv, 3x3/2 max-pool) by a 3x3/1 conv, as for
        CIFAR.
    stride_in_3x3 : bool
        Bottleneck only: the stride in the 3x3 conv (torchvision, "v1.5") instead of the
        first 1x1 (the paper).
    shortcut : bool
        ``False`` builds the "plain" twin of the paper's degradation experiment: the
        same layers, no shortcut additions (and no projections).
    groups, width_per_group : int
        Bottleneck only: ResNeXt's grouped 3x3 conv (``groups=32, width_per_group=4``
        is ResNeXt-50 32x4d); the defaults give a ResNet.

    The names follow torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
    ``fc``).
    """
    blocks = {"basic": BasicBlock, "bottleneck": Bottleneck}
    if block not in blocks:
        raise ValueError(f"block: expected 'basic' or 'bottleneck', got {block!r}")
    Block = blocks[block]
    layers = _int_tuple("layers", layers, 4)
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    width_mult = _positive_float("width_mult", width_mult)
    groups = _positive_int("groups", groups)
    width_per_group = _positive_int("width_per_group", width_per_group)
    block_kwargs = dict(stride_in_3x3=stride_in_3x3, shortcut=shortcut)
    if block == "bottleneck":
        block_kwargs.update(groups=groups, width_per_group=width_per_group)
    elif (groups, width_per_group) != (1, 64):
        raise ValueError(f"groups, width_per_group: the basic block has no grouped "
                         f"conv, got groups={groups}, "
                         f"width_per_group={width_per_group}")
    widths = [_scaled(c, width_mult) for c in (64, 128, 256, 512)]
    model = nn.Sequential()
    if small_input:
        stem = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
    else:
        stem = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
    model.add_module("conv1", stem)
    model.add_module("bn1", nn.BatchNorm2d(widths[0]))
    model.add_module("relu", nn.ReLU())
    if not small_input:
        model.add_module("maxpool", nn.MaxPool2d(3, stride=2, padding=1))
    c_in = widths[0]
    for i, (width, n) in enumerate(zip(widths, layers)):
        stage = []
        for j in range(n):
            stride = 2 if (i > 0 and j == 0) else 1
            stage.append(Block(c_in, width, stride=stride, **block_kwargs))
            c_in = width * Block.expansion
        model.add_module(f"layer{i + 1}", nn.Sequential(*stage))
    model.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(c_in, num_classes))
    return model


def resnet18(num_classes=1000, **kwargs):
    """ResNet-18: basic blocks (2, 2, 2, 2), 11,689,512 parameters.
    Options as :func:`resnet`."""
    return resnet("basic", (2, 2, 2, 2), num_classes=num_classes, **kwargs)


def resnet34(num_classes=1000, **kwargs):
    """ResNet-34: basic blocks (3, 4, 6, 3), 21,797,672 parameters.
    Options as :func:`resnet`."""
    return resnet("basic", (3, 4, 6, 3), num_classes=num_classes, **kwargs)


def resnet50(num_classes=1000, **kwargs):
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), 25,557,032 parameters; the stride sits
    in each stage's first 1x1 conv as in the paper (``stride_in_3x3=True``:
    torchvision's v1.5). Options as :func:`resnet`."""
    return resnet("bottleneck", (3, 4, 6, 3), num_classes=num_classes, **kwargs)


def resnet101(num_classes=1000, **kwargs):
    """ResNet-101: bottleneck blocks (3, 4, 23, 3), 44,549,160 parameters.
    Options as :func:`resnet`."""
    return resnet("bottleneck", (3, 4, 23, 3), num_classes=num_classes, **kwargs)


def resnet152(num_classes=1000, **kwargs):
    """ResNet-152: bottleneck blocks (3, 8, 36, 3), 60,192,808 parameters.
    Options as :func:`resnet`."""
    return resnet("bottleneck", (3, 8, 36, 3), num_classes=num_classes, **kwargs)


def resnext50_32x4d(num_classes=1000, **kwargs):
    """ResNeXt-50 (32x4d): ResNet-50's layout with the 3x3 conv of every bottleneck
    split into 32 groups of 4 x (stage width / 64) channels, 25,028,904 parameters.
    Options as :func:`resnet`."""
    kwargs.setdefault("groups", 32)
    kwargs.setdefault("width_per_group", 4)
    return resnet("bottleneck", (3, 4, 6, 3), num_classes=num_classes, **kwargs)


# ======================================================================================
# DenseNet (2017)
# ======================================================================================
class DenseLayer(nn.Module):
    """BN - ReLU - 1x1 conv (``bn_size * growth_rate``) - BN - ReLU - 3x3 conv
    (``growth_rate``), whose output is concatenated to its input: ``c_in`` channels in,
    ``c_in + growth_rate`` out.
    """

    def __init__(self, c_in, growth_rate, bn_size=4):
        super().__init__()
        inner = bn_size * growth_rate
        self.norm1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(c_in, inner, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(inner)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(inner, growth_rate, 3, padding=1, bias=False)

    def forward(self, x):
        new = self.conv1(self.relu1(self.norm1(x)))
        new = self.conv2(self.relu2(self.norm2(new)))
        return torch.cat([x, new], dim=1)


class DenseBlock(nn.Sequential):
    """``num_layers`` dense layers; each sees every earlier feature map of the block."""

    def __init__(self, num_layers, c_in, growth_rate, bn_size=4):
        super().__init__(*(DenseLayer(c_in + i * growth_rate, growth_rate, bn_size)
                           for i in range(num_layers)))
        self.out_channels = c_in + num_layers * growth_rate


class Transition(nn.Sequential):
    """BN - ReLU - 1x1 conv (compression) - 2x2 average pool, between dense blocks."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(c_in))
        self.add_module("relu", nn.ReLU())
        self.add_module("conv", nn.Conv2d(c_in, c_out, 1, bias=False))
        self.add_module("pool", nn.AvgPool2d(2, stride=2))


def densenet(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
             bn_size=4, compression=0.5, num_classes=1000, in_channels=3,
             small_input=False):
    """DenseNet-BC: stem, dense blocks joined by transitions that compress the channels
    by ``compression``, a last BN-ReLU, global average pooling, a dense classifier.

    ``small_input`` replaces the ImageNet stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) by
    a 3x3/1 conv. The names follow torchvision's.
    """
    growth_rate = _positive_int("growth_rate", growth_rate)
    block_config = _int_tuple("block_config", block_config)
    num_init_features = _positive_int("num_init_features", num_init_features)
    bn_size = _positive_int("bn_size", bn_size)
    if isinstance(compression, bool) or not isinstance(compression, (int, float)) \
            or not 0 < compression <= 1:
        raise ValueError(f"compression: expected a number in (0, 1], "
                         f"got {compression!r}")
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    features = nn.Sequential()
    if small_input:
        features.add_module("conv0", nn.Conv2d(in_channels, num_init_features, 3,
                                               padding=1, bias=False))
    else:
        features.add_module("conv0", nn.Conv2d(in_channels, num_init_features, 7,
                                               stride=2, padding=3, bias=False))
        features.add_module("norm0", nn.BatchNorm2d(num_init_features))
        features.add_module("relu0", nn.ReLU())
        features.add_module("pool0", nn.MaxPool2d(3, stride=2, padding=1))
    c = num_init_features
    for i, n in enumerate(block_config):
        block = DenseBlock(n, c, growth_rate, bn_size)
        features.add_module(f"denseblock{i + 1}", block)
        c = block.out_channels
        if i < len(block_config) - 1:
            c_out = max(1, int(c * compression))
            features.add_module(f"transition{i + 1}", Transition(c, c_out))
            c = c_out
    features.add_module("norm5", nn.BatchNorm2d(c))
    features.add_module("relu5", nn.ReLU())
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(c, num_classes))


def densenet121(num_classes=1000, **kwargs):
    """DenseNet-121 (DenseNet-BC, k = 32, blocks 6, 12, 24, 16): 7,978,856 parameters.
    Options as :func:`densenet`."""
    return densenet(32, (6, 12, 24, 16), 64, num_classes=num_classes, **kwargs)


# ======================================================================================
# MobileNet v1 (2017)
# ======================================================================================
class DepthwiseSeparable(nn.Module):
    """A 3x3 depthwise conv (one filter per channel, ``groups = c_in``) - BN - ReLU,
    then a 1x1 pointwise conv mixing the channels - BN - ReLU."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU()
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        x = self.relu1(self.bn1(self.depthwise(x)))
        return self.relu2(self.bn2(self.pointwise(x)))


MOBILENET_V1_LAYERS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                       (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2),
                       (1024, 1))


def mobilenet_v1(num_classes=1000, in_channels=3, width_mult=1.0, dropout=1e-3):
    """MobileNet v1 (Table 1 of the paper): a 3x3/2 conv (32), thirteen depthwise
    separable blocks, global average pooling and a dense classifier; 4,231,976
    parameters at width 1.0 (the paper's "4.2 M"; Keras lists 4,253,864 because it also
    counts BN's running statistics).

    ``width_mult`` is the paper's width multiplier alpha; the input resolution (its rho)
    is whatever you feed in (224, 192, 160, 128; global pooling takes any size from 32
    up). ``dropout`` before the classifier as in the Keras definition.
    """
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    width_mult = _positive_float("width_mult", width_mult)
    dropout = _probability("dropout", dropout)
    c = _scaled(32, width_mult)
    layers = [nn.Sequential(
        nn.Conv2d(in_channels, c, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c), nn.ReLU())]
    for width, stride in MOBILENET_V1_LAYERS:
        layers.append(DepthwiseSeparable(c, _scaled(width, width_mult), stride))
        c = _scaled(width, width_mult)
    return nn.Sequential(nn.Sequential(*layers), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(dropout), nn.Linear(c, num_classes))


# ======================================================================================
# MobileNet v2 (2018)
# ======================================================================================
class InvertedResidual(nn.Module):
    """MobileNet v2's block: 1x1 expansion (times ``expand_ratio``) - BN - ReLU6, 3x3
    depthwise (stride) - BN - ReLU6, 1x1 linear projection - BN; plus the input when the
    stride is 1 and the channels agree. With ``expand_ratio=1`` the expansion conv is
    left out.
    """

    def __init__(self, c_in, c_out, stride, expand_ratio):
        super().__init__()
        hidden = int(round(c_in * expand_ratio))
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                       nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden,
                             bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.conv(x) if self.use_residual else self.conv(x)


MOBILENET_V2_STAGES = (   # expansion t, channels c, blocks n, first stride s (Table 2)
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
    (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(num_classes=1000, in_channels=3, width_mult=1.0, dropout=0.2):
    """MobileNet v2 (Table 2 of the paper): 3x3/2 conv (32), seventeen inverted residual
    blocks, a 1x1 conv to 1280, global average pooling, dropout, dense classifier;
    3,504,872 parameters (as torchvision; the paper rounds to 3.4 M).

    ``width_mult`` scales the widths, rounded to multiples of 8 (the last conv keeps
    1280 for multipliers below 1, as in the paper).
    """
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    width_mult = _positive_float("width_mult", width_mult)
    dropout = _probability("dropout", dropout)
    c = _make_divisible(32 * width_mult)
    last = _make_divisible(1280 * max(1.0, width_mult))
    layers = [nn.Sequential(
        nn.Conv2d(in_channels, c, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c), nn.ReLU6())]
    for t, channels, n, s in MOBILENET_V2_STAGES:
        c_out = _make_divisible(channels * width_mult)
        for i in range(n):
            layers.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
            c = c_out
    layers.append(nn.Sequential(nn.Conv2d(c, last, 1, bias=False), nn.BatchNorm2d(last),
                                nn.ReLU6()))
    return nn.Sequential(nn.Sequential(*layers), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(dropout), nn.Linear(last, num_classes))


# ======================================================================================
# EfficientNet (2019)
# ======================================================================================
class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: global average (squeeze), 1x1 conv to ``squeeze``
    channels - SiLU - 1x1 conv back - sigmoid (excitation), and the input scaled channel
    by channel."""

    def __init__(self, channels, squeeze):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.act = nn.SiLU()
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class MBConv(nn.Module):
    """EfficientNet's mobile inverted bottleneck: 1x1 expansion (``expand_ratio``) -
    BN - SiLU, k x k depthwise (stride) - BN - SiLU, squeeze-and-excitation
    (``se_ratio`` of the block's INPUT channels), 1x1 projection - BN; plus the input
    when stride 1 and channels agree. MBConv1 (``expand_ratio=1``) has no expansion
    conv."""

    def __init__(self, c_in, c_out, kernel_size, stride, expand_ratio, se_ratio=0.25):
        super().__init__()
        hidden = c_in * expand_ratio
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                       nn.SiLU()]
        layers += [nn.Conv2d(hidden, hidden, kernel_size, stride=stride,
                             padding=kernel_size // 2, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.SiLU(),
                   SqueezeExcitation(hidden, max(1, int(c_in * se_ratio))),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.block(x) if self.use_residual else self.block(x)


# expansion, kernel, first stride, channels, layers (Table 1 of the paper)
EFFICIENTNET_B0_STAGES = (
    (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def efficientnet_b0(num_classes=1000, in_channels=3, width_mult=1.0, depth_mult=1.0,
                    dropout=0.2):
    """EfficientNet-B0 (Table 1 of the paper): 5,288,548 parameters.

    ``model.features`` holds the paper's nine stages: [0] the 3x3/2 stem conv (32),
    [1]-[7] the MBConv stages (MBConv1 k3, then MBConv6 with k 3, 5, 3, 5, 5, 3 and
    first strides 2, 2, 2, 1, 2, 1), [8] the 1x1 head conv (1280); then global average
    pooling, dropout and the classifier. :func:`stage_table` reads the paper's table
    back from a model.

    ``width_mult`` and ``depth_mult`` are the compound-scaling factors (B1: 1.0, 1.1 at
    240 x 240; B2: 1.1, 1.2 at 260): widths are rounded to multiples of 8, layer counts
    rounded up. (Stochastic depth, used in training the published models, is left out.)
    """
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    width_mult = _positive_float("width_mult", width_mult)
    depth_mult = _positive_float("depth_mult", depth_mult)
    dropout = _probability("dropout", dropout)

    def w(c):
        return _make_divisible(c * width_mult)

    c = w(32)
    stages = [nn.Sequential(
        nn.Conv2d(in_channels, c, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c), nn.SiLU())]
    for expand, k, stride, channels, n in EFFICIENTNET_B0_STAGES:
        blocks = []
        for i in range(int(math.ceil(n * depth_mult))):
            blocks.append(MBConv(c, w(channels), k, stride if i == 0 else 1, expand))
            c = w(channels)
        stages.append(nn.Sequential(*blocks))
    head = 4 * c
    stages.append(nn.Sequential(nn.Conv2d(c, head, 1, bias=False), nn.BatchNorm2d(head),
                                nn.SiLU()))
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(*stages))
    model.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("dropout", nn.Dropout(dropout))
    model.add_module("classifier", nn.Linear(head, num_classes))
    return model


# ======================================================================================
# Xception (2017)
# ======================================================================================
class SeparableConv2d(nn.Module):
    """A depthwise separable convolution: a k x k depthwise conv (one filter per input
    channel, ``groups = c_in``) then a 1x1 pointwise conv mixing the channels, with
    nothing in between (Xception's choice, and Keras' ``SeparableConv2D``)."""

    def __init__(self, c_in, c_out, kernel_size=3, stride=1, bias=False):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, kernel_size, stride=stride,
                                   padding=kernel_size // 2, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """One Xception module: [ReLU - SeparableConv2d 3x3 - BN] for each width in
    ``widths``, then a 3x3/2 max-pool if ``stride == 2``; plus a shortcut, the identity
    or (when the shape changes) a 1x1 conv with the stride and BN. ``relu_first=False``
    drops the first ReLU (the first entry-flow block, whose input was just activated).
    """

    def __init__(self, c_in, widths, stride=1, relu_first=True):
        super().__init__()
        layers, c = [], c_in
        for i, width in enumerate(widths):
            if i > 0 or relu_first:
                layers.append(nn.ReLU())
            layers += [SeparableConv2d(c, width), nn.BatchNorm2d(width)]
            c = width
        if stride == 2:
            layers.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.body = nn.Sequential(*layers)
        self.shortcut = None
        if stride != 1 or c != c_in:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c, 1, stride=stride,
                                                    bias=False), nn.BatchNorm2d(c))
        self.out_channels = c

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def xception(num_classes=1000, in_channels=3, middle_blocks=8, width_mult=1.0):
    """Xception (Fig. 5 of the paper) as in the Keras reference: 22,855,952 parameters
    (Keras lists 22,910,480 because it also counts BN's running statistics).

    ``entry``: two 3x3 convs (32/2 and 64, no padding) with BN and ReLU, and three
    modules of two separable convs (128, 256, 728) each ending in a 3x3/2 max-pool with
    a 1x1/2 conv shortcut; ``middle``: ``middle_blocks`` modules of three separable
    convs (728) with identity shortcuts; ``exit``: a module (728, 1024, max-pool), then
    separable convs of 1536 and 2048 each with BN and ReLU; global average pooling and
    a dense classifier. The paper's input is 299 x 299 (10 x 10 before the pooling);
    any input from 32 x 32 up runs. ``width_mult`` scales every width.
    """
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    if isinstance(middle_blocks, bool) \
            or not isinstance(middle_blocks, (int, np.integer)) or middle_blocks < 0:
        raise ValueError(f"middle_blocks: expected a non-negative integer, "
                         f"got {middle_blocks!r}")
    width_mult = _positive_float("width_mult", width_mult)

    def w(c):
        return _scaled(c, width_mult)

    entry = nn.Sequential(
        nn.Conv2d(in_channels, w(32), 3, stride=2, bias=False), nn.BatchNorm2d(w(32)),
        nn.ReLU(),
        nn.Conv2d(w(32), w(64), 3, bias=False), nn.BatchNorm2d(w(64)), nn.ReLU(),
        XceptionBlock(w(64), (w(128), w(128)), stride=2, relu_first=False),
        XceptionBlock(w(128), (w(256), w(256)), stride=2),
        XceptionBlock(w(256), (w(728), w(728)), stride=2))
    middle = nn.Sequential(*(XceptionBlock(w(728), (w(728),) * 3)
                             for _ in range(int(middle_blocks))))
    exit_flow = nn.Sequential(
        XceptionBlock(w(728), (w(728), w(1024)), stride=2),
        SeparableConv2d(w(1024), w(1536)), nn.BatchNorm2d(w(1536)), nn.ReLU(),
        SeparableConv2d(w(1536), w(2048)), nn.BatchNorm2d(w(2048)), nn.ReLU())
    model = nn.Sequential()
    for name, layer in [("entry", entry), ("middle", middle), ("exit", exit_flow),
                        ("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
                        ("fc", nn.Linear(w(2048), num_classes))]:
        model.add_module(name, layer)
    return model


# ======================================================================================
# FasterNet (2023)
# ======================================================================================
class PConv(nn.Module):
    """Partial convolution: a k x k conv (stride 1, same size, no bias) on the first
    ``channels // n_div`` channels; the other channels pass through unchanged.

    At ``n_div = 4`` it does 1/16 of the multiply-adds of a full k x k conv on all
    ``channels`` and reads and writes about 1/4 of its memory. The parameter names are
    those of the official implementation (``partial_conv3``).
    """

    def __init__(self, channels, n_div=4, kernel_size=3):
        super().__init__()
        channels = _positive_int("channels", channels)
        n_div = _positive_int("n_div", n_div)
        kernel_size = _positive_int("kernel_size", kernel_size)
        if channels < n_div:
            raise ValueError(f"n_div: {n_div} leaves no channel to convolve out of "
                             f"channels={channels}")
        self.dim_conv = channels // n_div
        self.dim_untouched = channels - self.dim_conv
        self.partial_conv3 = nn.Conv2d(self.dim_conv, self.dim_conv, kernel_size,
                                       padding=kernel_size // 2, bias=False)

    def forward(self, x):
        x1, x2 = torch.split(x, [self.dim_conv, self.dim_untouched], dim=1)
        return torch.cat((self.partial_conv3(x1), x2), dim=1)


class FasterNetBlock(nn.Module):
    """PConv (3x3 on 1/``n_div`` of the channels), then an MLP of two pointwise (1x1)
    convs, ``channels`` -> ``mlp_ratio * channels`` (BN, activation) -> ``channels``;
    plus the input. (The paper's "T-shaped" receptive field: the PConv and the first
    PWConv together act like a conv whose centre tap sees all channels.)"""

    def __init__(self, channels, n_div=4, mlp_ratio=2, act="GELU"):
        super().__init__()
        hidden = int(channels * mlp_ratio)
        self.spatial_mixing = PConv(channels, n_div)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False),
                                 nn.BatchNorm2d(hidden), getattr(nn, act)(),
                                 nn.Conv2d(hidden, channels, 1, bias=False))

    def forward(self, x):
        return x + self.mlp(self.spatial_mixing(x))


# embedding width, blocks per stage, activation (cfg/fasternet_*.yaml of the official
# repository)
FASTERNET_VARIANTS = {
    "t0": (40, (1, 2, 8, 2), "GELU"), "t1": (64, (1, 2, 8, 2), "GELU"),
    "t2": (96, (1, 2, 8, 2), "ReLU"), "s": (128, (1, 2, 13, 2), "ReLU"),
    "m": (144, (3, 4, 18, 3), "ReLU"), "l": (192, (3, 4, 18, 3), "ReLU")}


def fasternet(variant="t0", num_classes=1000, in_channels=3, embed_dim=None,
              depths=None, n_div=4, mlp_ratio=2, feature_dim=1280):
    """FasterNet (Chen et al. 2023): ``variant`` "t0" (3,905,500 parameters; the paper's
    3.9 M), "t1", "t2", "s", "m" or "l", as in the official repository.

    A 4x4/4 conv "embedding" (``embed_dim`` channels) with BN; four stages of
    :class:`FasterNetBlock` (``depths``), joined by 2x2/2 "merging" convs with BN that
    double the width; global average pooling, a 1x1 conv to ``feature_dim`` with the
    activation, and a dense classifier. ``embed_dim`` and ``depths`` override the
    variant's (for small CPU versions); module names follow the official code, so its
    ``state_dict`` keys are the same. Inputs from 32 x 32 up.
    """
    if variant not in FASTERNET_VARIANTS:
        raise ValueError(f"variant: expected one of {sorted(FASTERNET_VARIANTS)}, "
                         f"got {variant!r}")
    dim, stage_depths, act = FASTERNET_VARIANTS[variant]
    dim = dim if embed_dim is None else _positive_int("embed_dim", embed_dim)
    stage_depths = stage_depths if depths is None else _int_tuple("depths", depths)
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    n_div = _positive_int("n_div", n_div)
    mlp_ratio = _positive_float("mlp_ratio", mlp_ratio)
    feature_dim = _positive_int("feature_dim", feature_dim)
    if dim < n_div:
        raise ValueError(f"embed_dim: expected at least n_div={n_div} channels, "
                         f"got {dim}")
    patch_embed = nn.Sequential()
    patch_embed.add_module("proj", nn.Conv2d(in_channels, dim, 4, stride=4, bias=False))
    patch_embed.add_module("norm", nn.BatchNorm2d(dim))
    stages = []
    for i, n in enumerate(stage_depths):
        if i > 0:
            merging = nn.Sequential()
            merging.add_module("reduction", nn.Conv2d(dim, 2 * dim, 2, stride=2,
                                                      bias=False))
            merging.add_module("norm", nn.BatchNorm2d(2 * dim))
            stages.append(merging)
            dim *= 2
        stage = nn.Sequential()
        stage.add_module("blocks", nn.Sequential(
            *(FasterNetBlock(dim, n_div, mlp_ratio, act) for _ in range(n))))
        stages.append(stage)
    model = nn.Sequential()
    model.add_module("patch_embed", patch_embed)
    model.add_module("stages", nn.Sequential(*stages))
    model.add_module("avgpool_pre_head", nn.Sequential(
        nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, feature_dim, 1, bias=False),
        getattr(nn, act)()))
    model.add_module("flatten", nn.Flatten())
    model.add_module("head", nn.Linear(feature_dim, num_classes))
    return model


StageRow = namedtuple("StageRow", "stage operator resolution channels layers")


def stage_table(model, input_size=224):
    """The stage table of an EfficientNet (:func:`efficientnet_b0`), read from a model.

    One row per entry of ``model.features``: ``StageRow(stage, operator, resolution,
    channels, layers)`` with the stage number (1-9), its operator ("Conv3x3", "MBConv6,
    k5x5", "Conv1x1"), the side of the stage's INPUT (the paper's "resolution"), its
    output channels and its number of layers (blocks). Measured with a forward pass of a
    ``(1, C, input_size, input_size)`` input.
    """
    input_size = _positive_int("input_size", input_size)
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential):
        raise ValueError("model: expected a model with a .features Sequential of "
                         "stages (from efficientnet_b0)")
    seen = {}
    hooks = [stage.register_forward_hook(
        lambda m, inp, out, i=i: seen.__setitem__(i, (inp[0].shape[-1], out.shape[1])))
        for i, stage in enumerate(features)]
    first = next(model.parameters())
    x = torch.zeros(1, features[0][0].in_channels, input_size, input_size,
                    device=first.device, dtype=first.dtype)
    try:
        with torch.no_grad():
            _eval_forward(model, x)
    finally:
        for h in hooks:
            h.remove()
    rows = []
    for i, stage in enumerate(features):
        resolution, channels = seen[i]
        blocks = [b for b in stage if isinstance(b, MBConv)]
        if blocks:
            b = blocks[0]
            dw = next(m for m in b.block if isinstance(m, nn.Conv2d) and m.groups > 1)
            first_conv = b.block[0]
            expand = (first_conv.out_channels // first_conv.in_channels
                      if first_conv is not dw else 1)
            k = dw.kernel_size[0]
            operator, layers = f"MBConv{expand}, k{k}x{k}", len(blocks)
        else:
            conv = stage[0]
            k = conv.kernel_size[0]
            operator, layers = f"Conv{k}x{k}", 1
        rows.append(StageRow(i + 1, operator, int(resolution), int(channels), layers))
    return rows


# ======================================================================================
# Counting: parameters, multiply-adds, per-layer summaries
# ======================================================================================
def param_count(model, trainable_only=False):
    """The number of parameters of ``model`` (each shared tensor counted once).

    BatchNorm's ``weight`` and ``bias`` are parameters and counted; its running mean and
    variance are buffers and are not (Keras lists them as "non-trainable parameters").
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, "
                         f"got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters()
               if p.requires_grad or not trainable_only)


_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _layer_macs(module, inputs, output):
    """Multiply-adds of one call of a Conv, ConvTranspose or Linear layer (else 0)."""
    if isinstance(module, _CONV):
        # each output element: C_in / groups input channels times the kernel's taps
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return output.numel() * per_output
    if isinstance(module, _CONV_T):
        # each input element is scattered onto C_out / groups channels x the kernel taps
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return inputs[0].numel() * per_input
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _input(model, input_shape):
    if isinstance(input_shape, torch.Size):
        input_shape = tuple(input_shape)
    shape = _int_tuple("input_shape", input_shape)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"input_shape: expected (C, H, W), (N, C, H, W) or "
                         f"(N, C, D, H, W), got {input_shape!r}")
    if len(shape) == 3:
        shape = (1,) + shape
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    floating = first is not None and first.is_floating_point()
    dtype = first.dtype if floating else torch.float32
    return torch.zeros(shape, device=device, dtype=dtype)


def _eval_forward(model, x):
    """One forward pass in evaluation mode; the modes are restored afterwards."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        return model(x)
    finally:
        for m, training in modes.items():
            m.train(training)


def _traced_forward(model, input_shape):
    """Run ``model`` once (eval mode, no grad) with hooks on every module; return
    ``{module: [macs of its own calls, last output]}``."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, "
                         f"got {type(model).__name__}")
    x = _input(model, input_shape)
    record = {}

    def hook(module, inputs, output):
        entry = record.setdefault(module, [0, None])
        entry[0] += _layer_macs(module, inputs, output)
        entry[1] = output

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            _eval_forward(model, x)
    except RuntimeError as err:
        raise ValueError(f"input_shape: the forward pass of a {tuple(x.shape)} input "
                         f"failed (too small for this model, or the wrong number of "
                         f"channels?): {err}") from err
    finally:
        for h in handles:
            h.remove()
    return record


def macs(model, input_shape):
    """Multiply-adds (MACs) of one forward pass of ``model`` on ``input_shape``.

    Counted by forward hooks during a real forward pass (evaluation mode, no gradients),
    so a layer that is skipped is not counted and a layer called twice is counted twice.
    Counted: ``Conv1d/2d/3d`` (output elements x ``in_channels / groups`` x kernel taps:
    grouped and depthwise convs cost 1/groups of a full conv), ``ConvTranspose`` (input
    elements x ``out_channels / groups`` x taps) and ``Linear`` (output elements x
    ``in_features``). Not counted, as the papers do not count them: bias additions,
    batch normalisation, activations, pooling, LRN, the elementwise products of
    squeeze-and-excitation, residual additions and concatenations.
    ``torch.utils.flop_counter.FlopCounterMode`` counts the same layers as 2 FLOPs per
    MAC.

    Parameters
    ----------
    model : torch.nn.Module
        Its device and dtype are used; a model built on the "meta" device is counted
        without any arithmetic.
    input_shape : (C, H, W), (N, C, H, W) or (N, C, D, H, W)
        A 3-tuple means one image (a batch of 1 is added); with N images the count is N
        times larger.
    """
    return sum(entry[0] for entry in _traced_forward(model, input_shape).values())


LayerRow = namedtuple("LayerRow", "name type output_shape params macs")


def _shape(output):
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return tuple(_shape(o) for o in output)
    return None


def summary(model, input_shape, depth=None):
    """One row per layer: ``LayerRow(name, type, output_shape, params, macs)``.

    With ``depth=None`` the rows are the leaf modules (convs, norms, activations, ...)
    in the order they were created; with ``depth=k`` they are the modules whose dotted
    name has ``k`` parts (``depth=1``: the model's children, e.g. ResNet's stages), plus
    shallower leaves, each row adding up the parameters and MACs of everything inside
    it. Modules the forward pass never called are left out. ``sum(row.params)`` is the
    model's parameter count and ``sum(row.macs)`` its :func:`macs`.
    """
    if depth is not None:
        depth = _positive_int("depth", depth)
    record = _traced_forward(model, input_shape)
    rows = []
    for name, module in model.named_modules():
        if not name:
            continue
        parts = name.count(".") + 1
        is_leaf = next(module.children(), None) is None
        if depth is None and not is_leaf or depth is not None and (
                parts > depth or parts < depth and not is_leaf):
            continue
        if module not in record:
            continue
        subtree = list(module.modules())
        params = sum(p.numel() for p in module.parameters())
        mac = sum(record[m][0] for m in subtree if m in record)
        rows.append(LayerRow(name, type(module).__name__, _shape(record[module][1]),
                             params, mac))
    return rows


def _si(value):
    for factor, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if value >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:g}"


def summary_table(rows, total=True):
    """The rows of :func:`summary` as a Markdown table (counts with thousands
    separators, output shapes without the batch dimension)."""
    lines = ["| layer | type | output shape | parameters | MACs |",
             "|---|---|---|---:|---:|"]
    for r in rows:
        shape = r.output_shape
        if shape and isinstance(shape[0], int):          # one tensor: drop the batch
            shape = " × ".join(map(str, shape[1:]))
        else:
            shape = str(shape)
        lines.append(f"| `{r.name}` | {r.type} | {shape} | {r.params:,} | {r.macs:,} |")
    if total:
        lines.append(f"| **total** | | | {sum(r.params for r in rows):,} | "
                     f"{sum(r.macs for r in rows):,} |")
    return "\n".join(lines) + "\n"


# ======================================================================================
# The appendix page: every model counted next to its published figures
# ======================================================================================
# name: (builder, kwargs, input side, configuration, published parameters, their source,
#        published MACs, their source). Sources are keys of references.bib.
MODELS = {
    "LeNet-5 (simplified)": (lenet5, {}, 28, "d2l's: sigmoid, average pooling",
                             "61,706 (by hand)", None, None, None),
    "AlexNet": (alexnet, {}, 224, "the paper's two groups, LRN",
                "60 M", "krizhevsky2012imagenet", "724 M", "sze2017efficient"),
    "AlexNet, one tower": (alexnet, dict(groups=1, widths=ALEXNET_ONE_TOWER_WIDTHS,
                                         lrn=False),
                           224, "widths 64, 192, 384, 256, 256 (torchvision)",
                           "61,100,840", "torchvision2024models", "0.71 G",
                           "torchvision2024models"),
    "VGG-16": (vgg16, {}, 224, "configuration D", "138 M", "simonyan2015very",
               "15.5 G", "sze2017efficient"),
    "NiN": (nin, {}, 224, "d2l's ImageNet layout", None, None, None, None),
    "GoogLeNet": (googlenet, {}, 224, "Table 1, no auxiliary heads, LRN",
                  "6.8 M (table)", "szegedy2015going", "1.5 G (text)",
                  "szegedy2015going"),
    "ResNet-18": (resnet18, {}, 224, "projection shortcuts (B)", "11,689,512",
                  "torchvision2024models", "1.8 G", "he2016deep"),
    "ResNet-34": (resnet34, {}, 224, "projection shortcuts (B)", "21,797,672",
                  "torchvision2024models", "3.6 G", "he2016deep"),
    "ResNet-50": (resnet50, {}, 224, "stride in the first 1 × 1 (paper)", "25,557,032",
                  "torchvision2024models", "3.8 G", "he2016deep"),
    "ResNet-50 v1.5": (resnet50, dict(stride_in_3x3=True), 224, "stride in the 3 × 3",
                       "25,557,032", "torchvision2024models", "4.09 G",
                       "torchvision2024models"),
    "ResNet-101": (resnet101, {}, 224, "stride in the first 1 × 1 (paper)",
                   "44,549,160", "torchvision2024models", "7.6 G", "he2016deep"),
    "ResNet-152": (resnet152, {}, 224, "stride in the first 1 × 1 (paper)",
                   "60,192,808", "torchvision2024models", "11.3 G", "he2016deep"),
    "ResNeXt-50 (32 × 4d)": (resnext50_32x4d, dict(stride_in_3x3=True), 224,
                             "stride in the 3 × 3 (reference code)", "25,028,904",
                             "torchvision2024models", "4.2 G", "xie2017aggregated"),
    "DenseNet-121": (densenet121, {}, 224, "DenseNet-BC, k = 32", "7,978,856",
                     "torchvision2024models", "2.83 G", "torchvision2024models"),
    "MobileNet v1": (mobilenet_v1, {}, 224, "width 1.0", "4.2 M",
                     "howard2017mobilenets", "569 M", "howard2017mobilenets"),
    "MobileNet v2": (mobilenet_v2, {}, 224, "width 1.0", "3,504,872",
                     "torchvision2024models", "300 M", "sandler2018mobilenetv2"),
    "EfficientNet-B0": (efficientnet_b0, {}, 224, "Table 1", "5,288,548",
                        "torchvision2024models", "0.39 G", "tan2019efficientnet"),
    "Xception": (xception, {}, 299, "Keras reference", "22,855,952",
                 "chollet2017xception", None, None),
    "FasterNet-T0": (fasternet, {}, 224, "official code, variant T0", "3.9 M",
                     "chen2023run", "0.34 G", "chen2023run"),
}

_PAGE_HEAD = """\
# The model zoo in numbers

<!-- Generated by `python -m cnnbook.models --table > appendix/models.md`:
     do not edit by hand. tests/test_models.py fails if this page and the
     command's output differ. -->

Part III builds the networks that changed the field from one definition each, in
`cnnbook/models.py` (PyTorch, `torch.nn` only). This page counts every one of them at
its ImageNet size and puts the count next to the figure its paper or reference
implementation publishes. Every number in the two "ours" columns comes from the code:
`param_count(model)` adds up the parameters (参数), `macs(model, input_shape)` the
multiply-adds (乘加运算, MACs) of one forward pass of one image, counted by hooks on
the convolutional and dense layers while the network runs (on PyTorch's "meta" device,
which has shapes but no numbers, so even VGG-16 is counted in milliseconds).

MACs count only convolutions and dense layers, as the papers do: batch normalisation,
activations, pooling, residual additions and squeeze-and-excitation's scaling are left
out. One MAC is one multiplication and one addition, so a FLOP count (浮点运算次数) is
about twice the MAC count; several papers (ResNet's "FLOPs", EfficientNet's "FLOPS")
write FLOPs for what are MACs.

"""
_PAGE_COLUMNS = ("model", "configuration", "input", "parameters (ours)", "published",
                 "MACs (ours)", "published")

_PAGE_TAIL = """
Notes on the rows:

- **LeNet-5** is d2l's simplification {cite}`zhang2023dive` of the 1998 network
  {cite}`lecun1998gradient`: two 5 × 5 convolutions, average pooling, sigmoid units
  and dense layers of 120 and 84, on 28 × 28 digits padded by 2 (the 1998 input was
  32 × 32). By hand: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters.
- **AlexNet** as published {cite}`krizhevsky2012imagenet` ("60 million parameters")
  splits conv2, conv4 and conv5 into two groups, one per GPU: 60,965,224 parameters.
  Its widths in one tower would have 62,378,344; the one-tower network torchvision
  ships (61,100,840) has the narrower widths of Krizhevsky's later single-GPU version
  {cite}`krizhevsky2014one`. The paper writes 224 × 224 inputs; its arithmetic needs
  227, or 224 with 2 pixels of padding (used here).
- **NiN** has no published ImageNet figure to compare with: the paper
  {cite}`lin2014network` reports CIFAR, SVHN and MNIST networks; this is d2l's
  ImageNet layout.
- **GoogLeNet** follows the paper's Table 1 {cite}`szegedy2015going` with real 5 × 5
  convolutions and without the auxiliary classifiers used only in training. The
  table's parameter column sums to about 6.8 M: it leaves out biases, counts K as
  1,024 (inception (3a): 163,328 weights = 159.5 K, listed as 159 K) and has low rows
  (conv1, 4c); the common variant with
  batch normalisation and a 3 × 3 convolution in the "5 × 5" branch (torchvision) has
  6,624,904. The text gives a budget of 1.5 G multiply-adds; the table's operations
  column, whose conv1 row reads 34 M, adds up to 1.50 G.
- **ResNet** counts use projection shortcuts where the shape changes (option B of
  {cite}`he2016deep`). The paper puts a bottleneck stage's stride in its first 1 × 1
  convolution; torchvision moved it to the 3 × 3 ("v1.5"), which costs more MACs for
  the same parameters. The published parameter counts are those of the reference
  implementation {cite}`torchvision2024models`, which the papers round (11.7 M,
  21.8 M, 25.6 M).
- **DenseNet-121** is DenseNet-BC with growth rate 32 {cite}`huang2017densely`.
- **MobileNet v1** {cite}`howard2017mobilenets`: Keras lists 4,253,864 parameters
  because it also counts batch normalisation's running means and variances (21,888
  numbers that are not trained).
- **MobileNet v2** {cite}`sandler2018mobilenetv2` rounds its count to 3.4 M;
  torchvision's definition, which this one follows, has 3,504,872.
- **EfficientNet-B0** {cite}`tan2019efficientnet` needs its strides, MBConv1/MBConv6
  blocks, 3 × 3 and 5 × 5 kernels and squeeze-and-excitation with ratio 0.25 of each
  block's input channels to reach 5,288,548.
- **ResNeXt-50 (32 × 4d)** {cite}`xie2017aggregated` is ResNet-50 with each
  bottleneck's 3 × 3 convolution split into 32 groups; its reference code puts the
  stride in the 3 × 3, which is what the paper's 4.2 G counts (3.77 G with the stride
  in the first 1 × 1).
- **Xception** {cite}`chollet2017xception` is counted at its own 299 × 299 input; the
  paper's Table 3 gives 22,855,952 parameters and no multiply-add count.
- **FasterNet-T0** {cite}`chen2023run` follows the official code; the paper rounds to
  3.9 M parameters and 0.34 G "FLOPs", which are multiply-adds.

Published MAC figures come from the papers where they give one, from the survey of
Sze et al. {cite}`sze2017efficient` for AlexNet and VGG-16, and from torchvision's
model documentation {cite}`torchvision2024models` for its variants.
"""


def _cite(text, key):
    if text is None:
        return "—"
    return text if key is None else f"{text} {{cite}}`{key}`"


def appendix_page():
    """The Markdown of ``appendix/models.md``: every model of :data:`MODELS` counted."""
    rows = []
    for name, entry in MODELS.items():
        builder, kwargs, side, config, p_pub, p_src, m_pub, m_src = entry
        with torch.device("meta"):
            model = builder(**kwargs)
        channels = 1 if builder is lenet5 else 3
        n_params = param_count(model)
        n_macs = macs(model, (channels, side, side))
        rows.append(f"| {name} | {config} | {channels} × {side} × {side} | "
                    f"{n_params:,} | {_cite(p_pub, p_src)} | {_si(n_macs)} | "
                    f"{_cite(m_pub, m_src)} |")
    header = ["| " + " | ".join(_PAGE_COLUMNS) + " |",
              "|---|---|---|---:|---:|---:|---:|"]
    return _PAGE_HEAD + "\n".join(header + rows) + "\n" + _PAGE_TAIL


PAGE = "appendix/models.md"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnbook.models",
                                     description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--table", action="store_true",
                       help=f"print the appendix page ({PAGE}) to standard output")
    group.add_argument("--check", action="store_true",
                       help=f"fail if {PAGE} differs from what --table prints")
    parser.add_argument("--root", default=".", help="the book's folder (for --check)")
    args = parser.parse_args(argv)
    page = appendix_page()
    if args.table:
        sys.stdout.write(page)
        return 0
    path = Path(args.root) / PAGE
    if not path.exists() or path.read_text(encoding="utf-8") != page:
        print(f"{path} is out of date: run python -m cnnbook.models --table > {PAGE}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
