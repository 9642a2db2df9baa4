"""Locally connected (unshared) convolution: its own kernel at every output position.

``conv2d_local`` slides a window over the input as ``conv2d`` does, but the output position
``(i, j)`` uses the kernel ``weight[:, i, j]``: nothing is shared between positions
(DeepFace's "locally connected" layers). PyTorch has no such function; the tests build it
from ``torch.nn.functional.unfold`` and one weight matrix per position.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import _as_float, _batched, _check_dout, _pair
from .padding import _crop, _pad_hw


def _local_setup(x, weight, bias, stride, padding):
    """Validate; return x (4-D), weight, bias, stride, pads, out_hw, squeeze flag."""
    x, squeeze = _batched(x, "x", "(N, C_in, H, W)")
    weight = _as_float(weight, "weight").astype(x.dtype, copy=False)
    if weight.ndim != 6:
        raise ValueError("weight: expected a 6-D array (C_out, H_out, W_out, C_in, kH, kW), "
                         f"got shape {weight.shape}")
    C_out, H_out, W_out, C_in, kH, kW = weight.shape
    if C_in != x.shape[1]:
        raise ValueError(f"weight: expected {x.shape[1]} input channels (x has shape "
                         f"{x.shape}), got weight of shape {weight.shape}")
    stride = _pair(stride, "stride", minimum=1)
    ph, pw = _pair(padding, "padding", minimum=0)
    Hp, Wp = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
    if kH > Hp or kW > Wp:
        raise ValueError(f"weight: kernel {(kH, kW)} is larger than the padded input "
                         f"{(Hp, Wp)}")
    out_hw = ((Hp - kH) // stride[0] + 1, (Wp - kW) // stride[1] + 1)
    if out_hw != (H_out, W_out):
        raise ValueError(f"weight: this input, kernel, stride and padding give {out_hw} "
                         f"output positions, but weight of shape {weight.shape} has "
                         f"{(H_out, W_out)}")
    if bias is not None:
        bias = _as_float(bias, "bias").astype(x.dtype, copy=False)
        if bias.shape != (C_out, H_out, W_out):
            raise ValueError(f"bias: expected shape {(C_out, H_out, W_out)}, "
                             f"got {bias.shape}")
    return x, weight, bias, stride, ((ph, ph), (pw, pw)), out_hw, squeeze


def _local_windows(x, kernel, stride, pads, out_hw):
    """Every receptive field of the padded input, (N, C_in, H_out, W_out, kH, kW): a view."""
    windows = sliding_window_view(_pad_hw(x, pads), kernel, axis=(2, 3))
    return windows[:, :, ::stride[0], ::stride[1]][:, :, :out_hw[0], :out_hw[1]]


def conv2d_local(x, weight, bias=None, stride=1, padding=0):
    """Locally connected 2-D layer: ``conv2d`` with one kernel per output position.

    Parameters
    ----------
    x : ndarray, shape (N, C_in, H, W) or (C_in, H, W)
    weight : ndarray, shape (C_out, H_out, W_out, C_in, kH, kW)
        ``weight[:, i, j]`` is the kernel of output position ``(i, j)``.
    bias : ndarray, shape (C_out, H_out, W_out), optional
        One bias per output value (also unshared).
    stride, padding : int or (int, int)
        As in ``conv2d`` (zero padding).

    Returns
    -------
    out : ndarray, shape (N, C_out, H_out, W_out)
        ``out[n, o, i, j] = sum_{c,a,b} weight[o, i, j, c, a, b]
        * x_padded[n, c, i * s_h + a, j * s_w + b] (+ bias[o, i, j])``.
    """
    x, weight, bias, stride, pads, out_hw, squeeze = _local_setup(
        x, weight, bias, stride, padding)
    windows = _local_windows(x, weight.shape[4:], stride, pads, out_hw)
    out = np.einsum("nchwab,ohwcab->nohw", windows, weight, optimize=True)
    if bias is not None:
        out += bias
    return out[0] if squeeze else out


def conv2d_local_backward(dout, x, weight, stride=1, padding=0):
    """Gradients of ``conv2d_local``: ``(dx, dweight, dbias)``.

    Returns
    -------
    dx : ndarray, shaped like ``x``
    dweight : ndarray, shape (C_out, H_out, W_out, C_in, kH, kW)
    dbias : ndarray, shape (C_out, H_out, W_out)
        ``dout`` summed over the batch (returned even if the forward had no bias).
    """
    x, weight, _, stride, pads, out_hw, squeeze = _local_setup(
        x, weight, None, stride, padding)
    if squeeze and np.ndim(dout) == 3:
        dout = np.asarray(dout)[None]
    dout = _check_dout(dout, (x.shape[0], weight.shape[0], *out_hw), x.dtype)
    kH, kW = weight.shape[4:]
    windows = _local_windows(x, (kH, kW), stride, pads, out_hw)
    dweight = np.einsum("nohw,nchwab->ohwcab", dout, windows, optimize=True)
    (ph, _), (pw, _) = pads
    N, C_in, H, W = x.shape
    dxp = np.zeros((N, C_in, H + 2 * ph, W + 2 * pw), x.dtype)
    (sh, sw), (Ho, Wo) = stride, out_hw
    for a in range(kH):                  # each tap scatters back to its input pixels
        for b in range(kW):
            rows = slice(a, a + sh * (Ho - 1) + 1, sh)
            cols = slice(b, b + sw * (Wo - 1) + 1, sw)
            dxp[:, :, rows, cols] += np.einsum("nohw,ohwc->nchw", dout,
                                               weight[..., a, b], optimize=True)
    dx = np.ascontiguousarray(_crop(dxp, pads, (H, W)))
    dbias = dout.sum(axis=0)
    return (dx[0] if squeeze else dx), dweight, dbias
