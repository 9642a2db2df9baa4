"""Pure-NumPy neural-network operations, named and shaped like ``torch.nn.functional``.

Every forward ``op`` has an ``op_backward`` twin that returns exactly what PyTorch's autograd
returns for the same call. Arrays are NCHW, ``float64`` by default (``float32`` accepted).
This module imports NumPy only.
"""
from __future__ import annotations

import numpy as np

# =============================================================================================
# Convolution, padding and pooling
# =============================================================================================

_CHUNK_BYTES = 32 * 2**20  # the im2col buffer of one batch chunk holds at most this many bytes


# ---- argument checks (shared: the dense-layer section may call _check_4d and _pair) --------

def _as_float(a, name):
    """Return ``a`` as a float32 or float64 array (integers and booleans become float64).

    Anything else (complex numbers, strings, objects) is a TypeError: casting it would silently
    drop information.
    """
    a = np.asarray(a)
    if a.dtype in (np.float32, np.float64):
        return a
    if a.dtype.kind in "iub":
        return a.astype(np.float64)
    raise TypeError(f"{name}: expected a real numeric array (float32, float64, integer or bool), got dtype {a.dtype}")


def _is_int(v):
    """True for Python and NumPy integers, False for bools."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _pair(value, name, minimum=0):
    """Normalise an int or a pair of ints to a tuple ``(h, w)``, each ``>= minimum``.

    Raises TypeError for anything else and ValueError (naming ``name``) for too small values.
    """
    if _is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: expected values >= {minimum}, got {value!r}")
    return pair


def _check_4d(x, name="x", layout="(N, C, H, W)"):
    """Return ``x`` as a float array after checking it is 4-D; ValueError otherwise."""
    x = _as_float(x, name)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D array {layout}, got shape {x.shape}")
    return x


def _batched(x, name="x", layout="(N, C, H, W)"):
    """Accept ``(N, C, H, W)`` or unbatched ``(C, H, W)`` (as PyTorch does).

    Returns the 4-D array and whether a batch axis was added (to be removed from the result).
    """
    x = _as_float(x, name)
    if x.ndim == 3:
        return x[None], True
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D array {layout} or one unbatched 3-D image "
                         f"(C, H, W), got shape {x.shape}")
    return x, False


def _check_dout(dout, expected_shape, dtype, what="the shape of the forward output"):
    """Check the upstream gradient has the shape of the forward output; return it in ``dtype``."""
    dout = _as_float(dout, "dout")
    if dout.shape != tuple(expected_shape):
        raise ValueError(f"dout: expected shape {tuple(expected_shape)} ({what}), got {dout.shape}")
    return dout.astype(dtype, copy=False)


def _window(offset, stride, n_out):
    """Slice picking, for each of ``n_out`` outputs, the input at ``start + offset`` (start = o * stride)."""
    return slice(offset, offset + stride * (n_out - 1) + 1, stride)


# ---- convolution geometry ---------------------------------------------------------------------

def _conv_padding(padding, kernel_size, stride, dilation):
    """Per-side padding ``((top, bottom), (left, right))`` for an int, pair or padding mode.

    'valid' is no padding; 'same' pads dilation*(k-1) in total, the extra pixel of an odd total
    going to the bottom/right (as PyTorch), and needs stride 1; 'full' pads dilation*(k-1) per side.
    """
    if isinstance(padding, str):
        total = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"padding='same' needs stride=1, got stride={stride}")
            return tuple((t // 2, t - t // 2) for t in total)
        if padding == "full":
            return tuple((t, t) for t in total)
        raise ValueError(f"padding: expected an int, a pair, 'valid', 'same' or 'full', got {padding!r}")
    ph, pw = _pair(padding, "padding", minimum=0)
    return ((ph, ph), (pw, pw))


def _conv_out_size(size, pads, kernel, stride, dilation, axis):
    """Output length of a convolution along one axis; ValueError if the kernel does not fit."""
    padded = size + pads[0] + pads[1]
    effective = dilation * (kernel - 1) + 1
    if effective > padded:
        raise ValueError(f"weight: the {axis} kernel size {kernel} (effective size {effective} with "
                         f"dilation {dilation}) is larger than the padded input {axis} {padded} "
                         f"(input {size} + padding {pads[0]} + {pads[1]})")
    return (padded - effective) // stride + 1


def _conv_weight(weight, x_channels, groups, transposed=False, unbatched=False):
    """Check a conv weight against the input channels and groups; return the output channels C_out."""
    layout = "(C_in, C_out // groups, kH, kW)" if transposed else "(C_out, C_in // groups, kH, kW)"
    if weight.ndim != 4:
        raise ValueError(f"weight: expected a 4-D array {layout}, got shape {weight.shape}")
    if 0 in weight.shape:
        raise ValueError(f"weight: expected every dimension of {layout} to be at least 1, got shape {weight.shape}")
    hint = (" (a 3-D x is one unbatched image (C_in, H, W), as in PyTorch; a batch of grey images "
            "has shape (N, 1, H, W))") if unbatched else ""
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"groups: expected a positive int, got {groups!r}")
    if transposed:
        c_in, c_out = weight.shape[0], weight.shape[1] * groups
        if c_in % groups:
            raise ValueError(f"groups: {groups} does not divide the {c_in} input channels "
                             f"(weight.shape = {weight.shape})")
        if x_channels != c_in:
            raise ValueError(f"x: expected {c_in} channels (weight.shape[0]), got {x_channels}{hint}")
        return c_out
    c_out, c_in = weight.shape[0], weight.shape[1] * groups
    if c_out % groups:
        raise ValueError(f"groups: {groups} does not divide the {c_out} output channels "
                         f"(weight.shape = {weight.shape})")
    if x_channels != c_in:
        if x_channels % groups:
            raise ValueError(f"groups: {groups} does not divide the {x_channels} input channels of x")
        raise ValueError(f"x: expected C_in = weight.shape[1] * groups = {weight.shape[1]} * {groups} = "
                         f"{c_in} channels, got {x_channels}{hint}")
    return c_out


def _conv_bias(bias, c_out, dtype):
    """Check that ``bias`` is None or has shape ``(C_out,)``; return it in ``dtype``."""
    if bias is None:
        return None
    bias = _as_float(bias, "bias")
    if bias.shape != (c_out,):
        raise ValueError(f"bias: expected shape ({c_out},) (one per output channel), got {bias.shape}")
    return bias.astype(dtype, copy=False)


def _conv_setup(x, weight, stride, padding, dilation, groups):
    """Validate conv2d arguments; return ``(x, weight, stride, dilation, pads, out_hw, squeeze)``."""
    x, squeeze = _batched(x, "x", "(N, C_in, H, W)")
    weight = _as_float(weight, "weight").astype(x.dtype, copy=False)
    _conv_weight(weight, x.shape[1], groups, unbatched=squeeze)
    stride = _pair(stride, "stride", minimum=1)
    dilation = _pair(dilation, "dilation", minimum=1)
    kernel = weight.shape[2:]
    pads = _conv_padding(padding, kernel, stride, dilation)
    out_hw = tuple(_conv_out_size(x.shape[2 + a], pads[a], kernel[a], stride[a], dilation[a], name)
                   for a, name in enumerate(("height", "width")))
    return x, weight, stride, dilation, pads, out_hw, squeeze


def _batch_chunks(n, bytes_per_sample, budget):
    """Split ``range(n)`` into slices whose buffers hold at most ``budget`` bytes (one sample at least)."""
    step = max(1, int(budget // max(bytes_per_sample, 1)))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _conv_chunks(x_shape, itemsize, kernel_size, c_out, out_hw, pads):
    """Batch chunks for the im2col buffers: at most 32 MB, and about an eighth of the output (at
    least 1 MB), so that each chunk's share of the output is still in the CPU cache when the bias
    is added to it; small chunks cost nothing in speed and keep the peak memory low."""
    n, c, h, w = x_shape
    per_sample = itemsize * c * (kernel_size[0] * kernel_size[1] * out_hw[0] * out_hw[1]
                                 + (h + sum(pads[0])) * (w + sum(pads[1])))
    out_bytes = itemsize * n * c_out * out_hw[0] * out_hw[1]
    return _batch_chunks(n, per_sample, min(_CHUNK_BYTES, max(out_bytes // 8, 2**20)))


def _pad_hw(x, pads, value=0.0):
    """Pad the last two axes of ``x`` by ``((top, bottom), (left, right))`` with ``value``."""
    if not any(pads[0]) and not any(pads[1]):
        return x
    (top, bottom), (left, right) = pads
    xp = np.full((*x.shape[:2], x.shape[2] + top + bottom, x.shape[3] + left + right), value, dtype=x.dtype)
    xp[:, :, top:top + x.shape[2], left:left + x.shape[3]] = x
    return xp


# ---- im2col / col2im ----------------------------------------------------------------------------

def _im2col(xp, kernel_size, stride, dilation, out_hw, ones_row=False):
    """Copy every receptive field of a padded input into columns.

    Parameters
    ----------
    xp : ndarray, shape (N, C, Hp, Wp)
        Padded input.
    kernel_size, stride, dilation, out_hw : pairs of int
    ones_row : bool
        Append a row of ones, so that a bias can ride along in the matrix product as one more
        weight (a bias is a weight on a constant input of 1).

    Returns
    -------
    cols : ndarray, shape (N, C * kH * kW (+ 1), Ho * Wo)
        ``cols[n, (c, i, j), (h, w)] = xp[n, c, h*sH + i*dH, w*sW + j*dW]``.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel_size, stride, dilation, out_hw
    n, c = xp.shape[:2]
    if (kh, kw, sh, sw) == (1, 1, 1, 1) and xp.shape[2:] == (ho, wo) and not ones_row:
        return xp.reshape(n, c, ho * wo)                       # a 1x1 convolution needs no copy
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)               # the dilated kernel's extent
    windows = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))  # a view, no copy
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :ho, :wo]          # (N, C, Ho, Wo, kH, kW)
    k = c * kh * kw
    cols = np.empty((n, k + ones_row, ho * wo), dtype=xp.dtype)
    np.copyto(cols[:, :k].reshape(n, c, kh, kw, ho, wo), windows.transpose(0, 1, 4, 5, 2, 3))  # the one copy
    if ones_row:
        cols[:, k] = 1
    return cols


def _col2im(cols, padded_shape, kernel_size, stride, dilation, out_hw):
    """Scatter-add columns back onto a padded input: the transpose (adjoint) of ``_im2col``.

    Parameters
    ----------
    cols : ndarray, shape (N, C * kH * kW, Ho * Wo)
    padded_shape : tuple (N, C, Hp, Wp)

    Returns
    -------
    xp : ndarray, shape (N, C, Hp, Wp)
        ``xp[n, c, h*sH + i*dH, w*sW + j*dW] += cols[n, (c, i, j), (h, w)]`` summed over all terms.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel_size, stride, dilation, out_hw
    n, c = padded_shape[:2]
    cols = cols.reshape(n, c, kh, kw, ho, wo)
    xp = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, _window(i * dh, sh, ho), _window(j * dw, sw, wo)] += cols[:, :, i, j]
    return xp


def _crop(xp, pads, shape):
    """Undo ``_pad_hw``: the ``(H, W)`` interior of a padded array."""
    (top, _), (left, _) = pads
    return xp[:, :, top:top + shape[0], left:left + shape[1]]


# ---- convolution kernels (shared by conv2d, conv_transpose2d and their gradients) -----------------

def _conv_forward(x, weight, stride, pads, dilation, groups, out_hw, bias=None):
    """``out[n, g*Cog + o] = weight[g*Cog + o] . cols[n, g] + bias``: one batched matmul per chunk.

    Without groups the bias joins the weights as one more column, multiplied by a row of ones in
    ``cols``; with groups it is added to each chunk while that part of the output is in the cache.
    """
    n, (c_out, _, kh, kw) = x.shape[0], weight.shape
    w_mat = weight.reshape(groups, c_out // groups, -1)        # (G, C_out/G, C_in/G * kH * kW)
    fold = bias is not None and groups == 1
    if fold:
        w_mat = np.concatenate([w_mat, bias.reshape(1, c_out, 1)], axis=2)
    out = np.empty((n, c_out, out_hw[0] * out_hw[1]), dtype=x.dtype)
    for chunk in _conv_chunks(x.shape, x.itemsize, (kh, kw), c_out, out_hw, pads):
        cols = _im2col(_pad_hw(x[chunk], pads), (kh, kw), stride, dilation, out_hw, ones_row=fold)
        m = cols.shape[0]
        np.matmul(w_mat, cols.reshape(m, groups, -1, cols.shape[-1]),
                  out=out[chunk].reshape(m, groups, c_out // groups, -1))
        if bias is not None and not fold:
            out[chunk] += bias[:, None]
        del cols                                                # free it before the next chunk's
    return out.reshape(n, c_out, *out_hw)


def _conv_input_grad(dout, weight, x_shape, stride, pads, dilation, groups):
    """Gradient of a convolution with respect to its input (= a transposed convolution of ``dout``).

    ``dout`` (N, C_out, Ho, Wo), ``weight`` (C_out, C_in/G, kH, kW) -> dx of shape ``x_shape``.
    """
    n, c_out, ho, wo = dout.shape
    kh, kw = weight.shape[2:]
    padded = (x_shape[2] + sum(pads[0]), x_shape[3] + sum(pads[1]))
    w_t = weight.reshape(groups, c_out // groups, -1).transpose(0, 2, 1)   # (G, C_in/G*kH*kW, C_out/G)
    w_t = np.ascontiguousarray(w_t)                        # a transposed view would miss the BLAS path
    dx = np.empty(x_shape, dtype=dout.dtype)
    for chunk in _conv_chunks(x_shape, dout.itemsize, (kh, kw), c_out, (ho, wo), pads):
        d = dout[chunk].reshape(-1, groups, c_out // groups, ho * wo)
        dcols = np.matmul(w_t, d)                                          # (n, G, C_in/G*kH*kW, P)
        m = d.shape[0]
        dxp = _col2im(dcols.reshape(m, -1, ho * wo), (m, x_shape[1], *padded), (kh, kw), stride,
                      dilation, (ho, wo))
        dx[chunk] = _crop(dxp, pads, x_shape[2:])
        del dcols, dxp
    return dx


def _conv_weight_grad(dout, x, weight_shape, stride, pads, dilation, groups):
    """Gradient of a convolution with respect to its weight: ``sum_n dout[n] @ cols[n].T`` per group.

    Only the first ``Ho x Wo`` windows are used, ``(Ho, Wo) = dout.shape[2:]``.
    """
    n, c_out, ho, wo = dout.shape
    dweight = np.zeros((groups, c_out // groups, int(np.prod(weight_shape[1:]))), dtype=dout.dtype)
    for chunk in _conv_chunks(x.shape, x.itemsize, weight_shape[2:], c_out, (ho, wo), pads):
        cols = _im2col(_pad_hw(x[chunk], pads), weight_shape[2:], stride, dilation, (ho, wo))
        m = cols.shape[0]
        cols = cols.reshape(m, groups, -1, ho * wo)
        d = dout[chunk].reshape(m, groups, c_out // groups, ho * wo)
        dweight += np.matmul(d, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        del cols
    return dweight.reshape(weight_shape)


# ---- public convolution API -------------------------------------------------------------------

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (what deep learning calls convolution), as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : ndarray, shape (N, C_in, H, W) or (C_in, H, W)
    weight : ndarray, shape (C_out, C_in // groups, kH, kW)
    bias : ndarray, shape (C_out,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), 'valid', 'same' (stride 1 only) or 'full'
    groups : int
        Input and output channels are split into ``groups`` independent convolutions.

    Returns
    -------
    out : ndarray, shape (N, C_out, Ho, Wo), the dtype of ``x``
        ``Ho = (H + pad_top + pad_bottom - dilation * (kH - 1) - 1) // stride + 1`` (same for W).
    """
    x, weight, stride, dilation, pads, out_hw, squeeze = _conv_setup(x, weight, stride, padding,
                                                                     dilation, groups)
    bias = _conv_bias(bias, weight.shape[0], x.dtype)
    out = _conv_forward(x, weight, stride, pads, dilation, groups, out_hw, bias)
    return out[0] if squeeze else out


def conv2d_backward(dout, x, weight, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of ``conv2d`` with respect to its input, weight and bias.

    Parameters
    ----------
    dout : ndarray, shape (N, C_out, Ho, Wo)
        Gradient of the loss with respect to the output of ``conv2d(x, weight, ...)``.
    x, weight, stride, padding, dilation, groups
        As passed to ``conv2d``.

    Returns
    -------
    dx : ndarray, shape (N, C_in, H, W)
    dweight : ndarray, shape (C_out, C_in // groups, kH, kW)
    dbias : ndarray, shape (C_out,)
        ``dout`` summed over N, H and W (returned even if the forward had no bias).
    """
    x, weight, stride, dilation, pads, out_hw, squeeze = _conv_setup(x, weight, stride, padding,
                                                                     dilation, groups)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout,
                       (x.shape[0], weight.shape[0], *out_hw), x.dtype)
    dx = _conv_input_grad(dout, weight, x.shape, stride, pads, dilation, groups)
    dweight = _conv_weight_grad(dout, x, weight.shape, stride, pads, dilation, groups)
    dbias = dout.sum(axis=(0, 2, 3))
    return (dx[0] if squeeze else dx), dweight, dbias


def _conv_transpose_setup(x, weight, stride, padding, output_padding, groups, dilation):
    """Validate conv_transpose2d arguments; return the arguments of the equivalent conv2d gradient."""
    x, squeeze = _batched(x, "x", "(N, C_in, H, W)")
    weight = _as_float(weight, "weight").astype(x.dtype, copy=False)
    c_out = _conv_weight(weight, x.shape[1], groups, transposed=True, unbatched=squeeze)
    stride = _pair(stride, "stride", minimum=1)
    dilation = _pair(dilation, "dilation", minimum=1)
    if isinstance(padding, str):
        raise ValueError(f"padding: conv_transpose2d expects an int or a pair, got {padding!r}")
    ph, pw = _pair(padding, "padding", minimum=0)
    op = _pair(output_padding, "output_padding", minimum=0)
    for a, name in enumerate(("height", "width")):
        if op[a] >= max(stride[a], dilation[a]):
            raise ValueError(f"output_padding: must be smaller than stride or dilation along the {name}, "
                             f"got output_padding={op}, stride={stride}, dilation={dilation}")
    kernel = weight.shape[2:]
    out_hw = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * p + dilation[a] * (kernel[a] - 1) + op[a] + 1
                   for a, p in enumerate((ph, pw)))
    if min(out_hw) < 1:
        raise ValueError(f"x: conv_transpose2d output size {out_hw} is not positive "
                         f"(input {x.shape[2:]}, padding {(ph, pw)}, kernel {kernel})")
    out_shape = (x.shape[0], c_out, *out_hw)
    return x, weight, stride, dilation, ((ph, ph), (pw, pw)), out_shape, squeeze


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    It is the gradient of ``conv2d`` with respect to its input: each input pixel scatters a
    weighted copy of the kernel onto the (larger) output.

    Parameters
    ----------
    x : ndarray, shape (N, C_in, H, W) or (C_in, H, W)
    weight : ndarray, shape (C_in, C_out // groups, kH, kW)
    bias : ndarray, shape (C_out,), optional
    stride, padding, output_padding, dilation : int or (int, int)
        ``output_padding`` must be smaller than the stride or the dilation.
    groups : int

    Returns
    -------
    out : ndarray, shape (N, C_out, Ho, Wo)
        ``Ho = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``.
    """
    x, weight, stride, dilation, pads, out_shape, squeeze = _conv_transpose_setup(
        x, weight, stride, padding, output_padding, groups, dilation)
    bias = _conv_bias(bias, out_shape[1], x.dtype)
    out = _conv_input_grad(x, weight, out_shape, stride, pads, dilation, groups)
    if bias is not None:
        out += bias[:, None, None]
    return out[0] if squeeze else out


def conv_transpose2d_backward(dout, x, weight, stride=1, padding=0, output_padding=0, groups=1,
                              dilation=1):
    """Gradients of ``conv_transpose2d``: ``(dx, dweight, dbias)``, shaped like ``x``, ``weight``, ``(C_out,)``.

    ``dx`` is ``conv2d(dout, weight)`` and ``dweight`` is conv2d's weight gradient with the roles
    of ``x`` and ``dout`` exchanged.
    """
    x, weight, stride, dilation, pads, out_shape, squeeze = _conv_transpose_setup(
        x, weight, stride, padding, output_padding, groups, dilation)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout, out_shape, x.dtype)
    in_hw = x.shape[2:]
    full_hw = tuple(_conv_out_size(out_shape[2 + a], pads[a], weight.shape[2 + a], stride[a],
                                   dilation[a], name) for a, name in enumerate(("height", "width")))
    dx = _conv_forward(dout, weight, stride, pads, dilation, groups, full_hw)[:, :, :in_hw[0], :in_hw[1]]
    dweight = _conv_weight_grad(x, dout, weight.shape, stride, pads, dilation, groups)
    dbias = dout.sum(axis=(0, 2, 3))
    dx = np.ascontiguousarray(dx)
    return (dx[0] if squeeze else dx), dweight, dbias


def _lift1d(value, name, fill):
    """An int (or 1-tuple) conv1d argument as the pair ``(fill, value)`` of the height-1 conv2d."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not _is_int(value):
        raise TypeError(f"{name}: expected an int or a 1-tuple, got {value!r}")
    return (fill, int(value))


def _conv1d_args(x, weight, stride, padding, dilation):
    """Lift conv1d arguments to conv2d ones (a height-1 image)."""
    x = _as_float(x, "x")
    if x.ndim not in (2, 3):
        raise ValueError(f"x: expected a 3-D array (N, C_in, L) or 2-D (C_in, L), got shape {x.shape}")
    weight = _as_float(weight, "weight")
    if weight.ndim != 3:
        raise ValueError(f"weight: expected a 3-D array (C_out, C_in // groups, kL), got shape {weight.shape}")
    if not isinstance(padding, str):
        padding = _lift1d(padding, "padding", 0)
    return (x[..., None, :], weight[:, :, None, :], _lift1d(stride, "stride", 1), padding,
            _lift1d(dilation, "dilation", 1))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution, as ``torch.nn.functional.conv1d``: ``x`` (N, C_in, L), ``weight`` (C_out, C_in // groups, kL).

    Returns ``out`` of shape (N, C_out, L_out); a thin wrapper over ``conv2d`` on height-1 images.
    """
    x4, w4, stride, padding, dilation = _conv1d_args(x, weight, stride, padding, dilation)
    return conv2d(x4, w4, bias, stride, padding, dilation, groups)[..., 0, :]


def conv1d_backward(dout, x, weight, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of ``conv1d``: ``(dx, dweight, dbias)`` shaped like ``x``, ``weight`` and ``(C_out,)``."""
    x4, w4, stride, padding, dilation = _conv1d_args(x, weight, stride, padding, dilation)
    dout = _as_float(dout, "dout")
    dx, dweight, dbias = conv2d_backward(dout[..., None, :], x4, w4, stride, padding, dilation, groups)
    return dx[..., 0, :], dweight[:, :, 0, :], dbias


# ---- pooling ----------------------------------------------------------------------------------------

def _pool_out_size(size, kernel, stride, pad, dilation, ceil_mode, axis):
    """Output length of a pooling window along one axis, with PyTorch's ceil_mode rule.

    With ``ceil_mode`` a last, partial window is kept only if it starts inside the input or the
    left padding.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    if out < 1:
        raise ValueError(f"kernel_size: the pooling window (kernel {kernel}, dilation {dilation}) is larger "
                         f"than the padded input {axis} {size + 2 * pad} (input {size} + 2 * padding {pad})")
    return out


def _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate pooling arguments; return ``(x, kernel, stride, padding, dilation, out_hw, squeeze)``."""
    x, squeeze = _batched(x, "x", "(N, C, H, W)")
    kernel = _pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None or stride == () or stride == [] else _pair(stride, "stride", minimum=1)
    padding = _pair(padding, "padding", minimum=0)
    dilation = _pair(dilation, "dilation", minimum=1)
    for a in range(2):
        half = kernel[a] // 2
        if padding[a] > half:
            raise ValueError(f"padding: must be at most half of the kernel size, got padding={padding}, "
                             f"kernel_size={kernel}, dilation={dilation}")
    out_hw = tuple(_pool_out_size(x.shape[2 + a], kernel[a], stride[a], padding[a], dilation[a], bool(ceil_mode),
                                  name) for a, name in enumerate(("height", "width")))
    valid = _pool_valid(x.shape[2:], kernel, stride, padding, dilation, out_hw)
    if valid is not None and not np.logical_or.reduce(valid).all():
        raise ValueError(f"dilation: with dilation={dilation} and padding={padding}, a pooling window "
                         f"covers only padding (input size {x.shape[2:]})")
    return x, kernel, stride, padding, dilation, out_hw, squeeze


def _pool_pad(x, padding, kernel, stride, dilation, out_hw, value):
    """Pad ``x`` by ``padding`` on each side, and further at the bottom/right if ceil_mode windows need it."""
    pads = []
    for a in range(2):
        need = (out_hw[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1   # extent of all windows
        pads.append((padding[a], max(need - x.shape[2 + a] - padding[a], 0)))
    return _pad_hw(x, pads, value)


def _pool_offsets(kernel, stride, dilation, out_hw):
    """For each kernel offset ``(i, j)``, the strided slices that select it in every window."""
    return [(i * kernel[1] + j, (_window(i * dilation[0], stride[0], out_hw[0]),
                                 _window(j * dilation[1], stride[1], out_hw[1])))
            for i in range(kernel[0]) for j in range(kernel[1])]


class _PoolTaps:
    """The ``(N, C, Ho, Wo)`` view of a padded input that each kernel offset selects in every window.

    With overlapping windows and a stride above 1, reading one strided view per offset streams the
    whole input through memory ``kH * kW`` times. Then the input is first split into its stride
    phases ``xp[:, :, a::sH, b::sW]`` (one contiguous copy each) and every offset becomes a
    contiguous slice of one phase. ``targets`` and ``gradient`` accumulate gradients the same way.
    """

    def __init__(self, shape, kernel, stride, dilation, out_hw):
        self.shape, self.stride = shape, stride
        rows = [divmod(i * dilation[0], stride[0]) for i in range(kernel[0])]   # (start, phase) per row
        cols = [divmod(j * dilation[1], stride[1]) for j in range(kernel[1])]
        phases = {(a, b) for _, a in rows for _, b in cols}
        self.split = stride != (1, 1) and kernel[0] * kernel[1] > len(phases)
        if self.split:
            self.taps = [((a, b), (slice(r, r + out_hw[0]), slice(c, c + out_hw[1])))
                         for r, a in rows for c, b in cols]
        else:
            self.taps = [((0, 0), window) for _, window in _pool_offsets(kernel, stride, dilation, out_hw)]

    def _phase_view(self, xp, phase):
        return xp[:, :, phase[0]::self.stride[0], phase[1]::self.stride[1]] if self.split else xp

    def views(self, xp):
        """The view of the padded input ``xp`` for each kernel offset (row-major)."""
        phases, views = {}, []
        for phase, window in self.taps:
            if phase not in phases:
                phases[phase] = np.ascontiguousarray(self._phase_view(xp, phase))
            views.append(phases[phase][(slice(None), slice(None)) + window])
        return views

    def targets(self, dtype):
        """Zero gradient buffers and, per kernel offset, the view to accumulate into; then call ``gradient``."""
        self._dxp = np.zeros(self.shape, dtype=dtype)
        self._grads, targets = {}, []
        for phase, window in self.taps:
            if phase not in self._grads:
                self._grads[phase] = np.zeros_like(self._phase_view(self._dxp, phase)) if self.split else self._dxp
            targets.append(self._grads[phase][(slice(None), slice(None)) + window])
        return targets

    def gradient(self):
        """The gradient with respect to the padded input, after accumulating into ``targets``."""
        if self.split:
            for phase, grad in self._grads.items():
                self._phase_view(self._dxp, phase)[...] = grad
        return self._dxp


def _pool_valid(x_hw, kernel, stride, padding, dilation, out_hw):
    """Per kernel offset, a (Ho, Wo) mask of the windows where it falls inside the input (not padding).

    None when no window reaches into padding.
    """
    inside = []
    for a in range(2):
        pos = (np.arange(out_hw[a])[:, None] * stride[a] - padding[a]
               + np.arange(kernel[a])[None, :] * dilation[a])                 # (Ho, kH) input positions
        inside.append((pos >= 0) & (pos < x_hw[a]))
    if inside[0].all() and inside[1].all():
        return None
    return [inside[0][:, i, None] & inside[1][None, :, j] for i in range(kernel[0]) for j in range(kernel[1])]


def _max_pool_argmax(xp, kernel, stride, dilation, out_hw, valid):
    """Window maxima and the kernel offset (row-major) of the maximum PyTorch picks, padding excluded.

    Scanning the window, an element replaces the current maximum if it is strictly larger or NaN
    (so the first of equal maxima wins, and the last NaN); the scan starts from the first element
    inside the input.
    """
    views = _PoolTaps(xp.shape, kernel, stride, dilation, out_hw).views(xp)
    best = np.full(views[0].shape, -np.inf, dtype=xp.dtype)
    arg = np.full(best.shape, -1, dtype=np.int32)
    for k, v in enumerate(views):
        take = (v > best) | np.isnan(v) | (arg < 0)
        if valid is not None:
            take &= valid[k]
        np.copyto(best, v, where=take)
        np.copyto(arg, k, where=take)
    return best, arg


def _max_pool_indices(arg, x_hw, kernel, stride, padding, dilation):
    """Turn kernel offsets into PyTorch's indices: the flat position ``h * W + w`` in each input plane."""
    ho, wo = arg.shape[2:]
    h = np.arange(ho)[:, None] * stride[0] - padding[0] + (arg // kernel[1]) * dilation[0]
    w = np.arange(wo)[None, :] * stride[1] - padding[1] + (arg % kernel[1]) * dilation[1]
    return (h * x_hw[1] + w).astype(np.int64)


def _max_pool_values(xp, kernel, stride, dilation, out_hw):
    """Window maxima of a (-inf padded) input: ``np.maximum`` over one view per kernel offset."""
    views = _PoolTaps(xp.shape, kernel, stride, dilation, out_hw).views(xp)
    out = views[0].copy()
    for v in views[1:]:
        np.maximum(out, v, out=out)
    return out


def _max_pool_first_max(xp, out, kernel, stride, dilation, out_hw, valid):
    """Kernel offset (row-major) of the first input element of each window equal to its maximum ``out``.

    Equivalent to ``_max_pool_argmax`` when ``out`` has no NaN, and faster (no masked writes).
    """
    free = np.ones(out.shape, dtype=bool)             # windows whose maximum is not found yet
    eq = np.empty(out.shape, dtype=bool)
    arg, step = np.zeros(out.shape, dtype=np.int32), np.empty(out.shape, dtype=np.int32)
    views = _PoolTaps(xp.shape, kernel, stride, dilation, out_hw).views(xp)
    for k, v in enumerate(views):
        np.equal(v, out, out=eq)
        if valid is not None:
            np.logical_and(eq, valid[k], out=eq)
        np.logical_and(eq, free, out=eq)
        np.logical_xor(free, eq, out=free)
        if k:
            np.multiply(eq, k, out=step)
            arg += step
    return arg


def _max_pool_scatter(dout, arg, padded_shape, kernel, stride, dilation):
    """Add each ``dout[n, c, h, w]`` to the padded-input position that kernel offset ``arg[n, c, h, w]`` picks.

    One ``np.bincount`` over flat positions; outputs sharing a maximum add up, in PyTorch's order.
    """
    n, c, hp, wp = padded_shape
    ho, wo = dout.shape[2:]
    k = np.arange(kernel[0] * kernel[1])
    lookup = (k // kernel[1]) * dilation[0] * wp + (k % kernel[1]) * dilation[1]          # offset -> flat
    start = (np.arange(ho)[:, None] * stride[0] * wp + np.arange(wo)[None, :] * stride[1])  # window corner
    plane = (np.arange(n * c) * (hp * wp)).reshape(n, c, 1, 1)
    flat = lookup[arg] + start + plane
    dxp = np.bincount(flat.ravel(), weights=dout.ravel(), minlength=n * c * hp * wp)
    return dxp.astype(dout.dtype, copy=False).reshape(padded_shape)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)
        ``stride`` defaults to ``kernel_size``; ``padding`` (filled with -inf) is at most half
        the kernel size.
    ceil_mode : bool
        Round the output size up instead of down (keeping only windows that start inside the
        input or the left padding).
    return_indices : bool
        Also return where each maximum came from, as in PyTorch.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
    indices : ndarray of int64, shape (N, C, Ho, Wo), only if ``return_indices``
        Flat index ``h * W + w`` of the maximum within its (unpadded) input plane.
    """
    x, kernel, stride, padding, dilation, out_hw, squeeze = _pool_setup(x, kernel_size, stride, padding,
                                                                        dilation, ceil_mode)
    xp = _pool_pad(x, padding, kernel, stride, dilation, out_hw, -np.inf)
    if return_indices:
        valid = _pool_valid(x.shape[2:], kernel, stride, padding, dilation, out_hw)
        out, arg = _max_pool_argmax(xp, kernel, stride, dilation, out_hw, valid)
        indices = _max_pool_indices(arg, x.shape[2:], kernel, stride, padding, dilation)
        return (out[0], indices[0]) if squeeze else (out, indices)
    out = _max_pool_values(xp, kernel, stride, dilation, out_hw)
    return out[0] if squeeze else out


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Gradient of ``max_pool2d``: each output's gradient goes to the (first) maximum of its window.

    Returns
    -------
    dx : ndarray, shape of ``x``
        Inputs that are the maximum of several windows receive the sum of their gradients.
    """
    x, kernel, stride, padding, dilation, out_hw, squeeze = _pool_setup(x, kernel_size, stride, padding,
                                                                        dilation, ceil_mode)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout, (*x.shape[:2], *out_hw), x.dtype)
    xp = _pool_pad(x, padding, kernel, stride, dilation, out_hw, -np.inf)
    out = _max_pool_values(xp, kernel, stride, dilation, out_hw)
    valid = _pool_valid(x.shape[2:], kernel, stride, padding, dilation, out_hw)
    if np.isnan(out).any():                          # PyTorch picks the last NaN: use the exact scan
        _, arg = _max_pool_argmax(xp, kernel, stride, dilation, out_hw, valid)
    else:
        arg = _max_pool_first_max(xp, out, kernel, stride, dilation, out_hw, valid)
    dxp = _max_pool_scatter(dout, arg, xp.shape, kernel, stride, dilation)
    dx = np.ascontiguousarray(dxp[:, :, padding[0]:padding[0] + x.shape[2], padding[1]:padding[1] + x.shape[3]])
    return dx[0] if squeeze else dx


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of ``max_pool2d`` with indices: put each value back where its maximum came from, zeros elsewhere.

    Parameters
    ----------
    x, indices : ndarray, shape (N, C, Ho, Wo)
        Pooled values and the indices returned by ``max_pool2d(..., return_indices=True)``.
    output_size : (int, int) or None
        The ``(H, W)`` of the unpooled output; default ``(Ho - 1) * stride - 2 * padding + kernel_size``.
    """
    x, squeeze = _batched(x, "x", "(N, C, H, W)")
    indices = np.asarray(indices)
    indices = indices[None] if squeeze and indices.ndim == 3 else indices
    if indices.shape != x.shape:
        raise ValueError(f"indices: expected shape {x.shape} (the shape of x), got {indices.shape}")
    kernel = _pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None else _pair(stride, "stride", minimum=1)
    padding = _pair(padding, "padding", minimum=0)
    if output_size is None:
        out_hw = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + kernel[a] for a in range(2))
    else:
        out_hw = _pair(tuple(output_size)[-2:], "output_size", minimum=1)
        for a in range(2):
            default = (x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + kernel[a]
            if not default - stride[a] < out_hw[a] < default + stride[a]:
                raise ValueError(f"output_size: expected each size within the stride of the default "
                                 f"{default}, strictly between {default - stride[a]} and "
                                 f"{default + stride[a]}, got {tuple(output_size)}")
    n, c = x.shape[:2]
    plane = out_hw[0] * out_hw[1]
    if indices.size and (indices.min() < 0 or indices.max() >= plane):
        raise ValueError(f"indices: expected values in [0, {plane}) for an output of size {out_hw}, "
                         f"got values in [{indices.min()}, {indices.max()}]")
    out = np.zeros((n * c, plane), dtype=x.dtype)
    np.put_along_axis(out, indices.reshape(n * c, -1), x.reshape(n * c, -1), axis=1)
    out = out.reshape(n, c, *out_hw)
    return out[0] if squeeze else out


def _avg_pool_setup(x, kernel_size, stride, padding, ceil_mode, divisor_override):
    """Validate avg_pool2d arguments (as max pooling's, without dilation)."""
    x, kernel, stride, padding, _, out_hw, squeeze = _pool_setup(x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not _is_int(divisor_override) or divisor_override == 0):
        raise ValueError(f"divisor_override: expected a non-zero int or None, got {divisor_override!r}")
    return x, kernel, stride, padding, out_hw, squeeze


def _avg_pool_divisor(x_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override, dtype):
    """The number each window sum is divided by, shape (Ho, Wo), as PyTorch computes it.

    Windows are clipped to the padded input; with ``count_include_pad=False`` also to the input.
    """
    if divisor_override is not None:
        return np.full(out_hw, divisor_override, dtype=dtype)
    sizes = []
    for a in range(2):
        start = np.arange(out_hw[a]) * stride[a] - padding[a]
        end = np.minimum(start + kernel[a], x_hw[a] + padding[a])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, x_hw[a])
        sizes.append(end - start)
    return np.multiply.outer(sizes[0], sizes[1]).astype(dtype)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride`` defaults to ``kernel_size``; ``padding`` (zeros) is at most half the kernel.
    ceil_mode : bool
    count_include_pad : bool
        Whether the zero padding counts in the divisor.
    divisor_override : int, optional
        Divide every window sum by this number instead.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
    """
    x, kernel, stride, padding, out_hw, squeeze = _avg_pool_setup(x, kernel_size, stride, padding, ceil_mode,
                                                                  divisor_override)
    xp = _pool_pad(x, padding, kernel, stride, (1, 1), out_hw, 0.0)
    views = _PoolTaps(xp.shape, kernel, stride, (1, 1), out_hw).views(xp)
    total = views[0].copy()
    for v in views[1:]:
        total += v
    total /= _avg_pool_divisor(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad,
                               divisor_override, x.dtype)
    return total[0] if squeeze else total


def avg_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                        divisor_override=None):
    """Gradient of ``avg_pool2d``: each output spreads ``dout / divisor`` evenly over its window.

    Returns
    -------
    dx : ndarray, shape of ``x``
    """
    x, kernel, stride, padding, out_hw, squeeze = _avg_pool_setup(x, kernel_size, stride, padding, ceil_mode,
                                                                  divisor_override)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout, (*x.shape[:2], *out_hw), x.dtype)
    share = dout / _avg_pool_divisor(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad,
                                     divisor_override, x.dtype)
    padded = tuple((out_hw[a] - 1) * stride[a] + kernel[a] for a in range(2))
    taps = _PoolTaps((*x.shape[:2], max(padded[0], x.shape[2] + padding[0]),
                      max(padded[1], x.shape[3] + padding[1])), kernel, stride, (1, 1), out_hw)
    for target in taps.targets(x.dtype):
        target += share
    dxp = taps.gradient()
    dx = np.ascontiguousarray(dxp[:, :, padding[0]:padding[0] + x.shape[2], padding[1]:padding[1] + x.shape[3]])
    return dx[0] if squeeze else dx


def _adaptive_windows(size, out):
    """PyTorch's adaptive windows along one axis: ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    return start, end


def _adaptive_setup(x, output_size):
    """Validate adaptive pooling arguments (``None`` in ``output_size`` keeps that input size)."""
    x, squeeze = _batched(x, "x", "(N, C, H, W)")
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(x.shape[2 + a] if v is None else v for a, v in enumerate(output_size))
    out_hw = _pair(output_size, "output_size", minimum=1)
    if min(x.shape[2:]) < 1:
        raise ValueError(f"x: expected non-empty spatial dimensions, got shape {x.shape}")
    return x, out_hw, squeeze


def _adaptive_avg_matrix(size, out, dtype):
    """Matrix ``A`` of shape (out, size) with ``A[i, start_i:end_i] = 1 / (end_i - start_i)``."""
    start, end = _adaptive_windows(size, out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _separable(x, a_h, a_w):
    """``a_h @ x @ a_w.T`` on the last two axes of ``x``, as two plain 2-D matrix products.

    ``x`` (N, C, H, W), ``a_h`` (Ho, H), ``a_w`` (Wo, W) -> (N, C, Ho, Wo).
    """
    n, c, h, w = x.shape
    y = x.reshape(-1, w) @ a_w.T                                    # (N*C*H, Wo)
    y = y.reshape(n * c, h, -1).transpose(0, 2, 1).reshape(-1, h)   # (N*C*Wo, H)
    out = (y @ a_h.T).reshape(n, c, a_w.shape[0], a_h.shape[0])     # (N, C, Wo, Ho)
    return np.ascontiguousarray(out.transpose(0, 1, 3, 2))


def adaptive_avg_pool2d(x, output_size):
    """Adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output pixel ``(i, j)`` averages rows ``floor(i*H/Ho) .. ceil((i+1)*H/Ho) - 1`` and the
    matching columns; the windows may overlap. Averaging is separable: ``A_h @ x @ A_w.T``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W) or (C, H, W)
    output_size : int or (int, int)

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
    """
    x, (ho, wo), squeeze = _adaptive_setup(x, output_size)
    out = _separable(x, _adaptive_avg_matrix(x.shape[2], ho, x.dtype), _adaptive_avg_matrix(x.shape[3], wo, x.dtype))
    return out[0] if squeeze else out


def adaptive_avg_pool2d_backward(dout, x, output_size):
    """Gradient of ``adaptive_avg_pool2d``: ``A_h.T @ dout @ A_w``, shaped like ``x``."""
    x, (ho, wo), squeeze = _adaptive_setup(x, output_size)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout, (*x.shape[:2], ho, wo), x.dtype)
    a_h = _adaptive_avg_matrix(x.shape[2], ho, x.dtype)
    a_w = _adaptive_avg_matrix(x.shape[3], wo, x.dtype)
    dx = _separable(dout, np.ascontiguousarray(a_h.T), np.ascontiguousarray(a_w.T))
    return dx[0] if squeeze else dx


def _first_max_scan(candidates, positions, carry=None):
    """PyTorch's max-pooling scan: a candidate replaces the current maximum if strictly larger or NaN.

    ``candidates`` are K arrays of one shape, in scan order, with ``positions`` (K arrays that
    broadcast to it) and optionally ``carry`` (K more arrays, taken along from the winners).
    Returns the maxima, the winners' positions and the carried values.
    """
    best = candidates[0].copy()
    where = np.broadcast_to(positions[0], best.shape).copy()
    carried = None if carry is None else carry[0].copy()
    for k in range(1, len(candidates)):
        take = (candidates[k] > best) | np.isnan(candidates[k])
        np.copyto(best, candidates[k], where=take)
        np.copyto(where, positions[k], where=take)
        if carry is not None:
            np.copyto(carried, carry[k], where=take)
    return best, where, carried


def _adaptive_max(x, out_hw):
    """Window maxima and PyTorch's flat indices ``h * W + w`` for adaptive max pooling.

    The max over a rectangle is the max over its rows of each row's max: scan along W, then
    along H, which keeps PyTorch's row-major tie and NaN rules. A window has at most ``K``
    elements per axis; index ``start + t`` is clamped to its last element, so every window is
    scanned in ``K`` steps (a repeated element never replaces itself).
    """
    h, w = x.shape[2:]
    (hs, he), (ws, we) = _adaptive_windows(h, out_hw[0]), _adaptive_windows(w, out_hw[1])
    rows = np.minimum(hs + np.arange((he - hs).max())[:, None], he - 1)    # (Kh, Ho) row of step t
    cols = np.minimum(ws + np.arange((we - ws).max())[:, None], we - 1)    # (Kw, Wo)
    xt = np.ascontiguousarray(x.transpose(2, 3, 0, 1))     # (H, W, N, C): a gather copies whole slabs
    row_max, col, _ = _first_max_scan([xt[:, c] for c in cols], [c[:, None, None] for c in cols])
    best, row, col = _first_max_scan([row_max[r] for r in rows], [r[:, None, None, None] for r in rows],
                                     carry=[col[r] for r in rows])                  # (Ho, Wo, N, C)
    index = (row * w + col).astype(np.int64)
    return np.ascontiguousarray(best.transpose(2, 3, 0, 1)), np.ascontiguousarray(index.transpose(2, 3, 0, 1))


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W) or (C, H, W)
    output_size : int or (int, int)
    return_indices : bool
        Also return the flat index ``h * W + w`` of each maximum.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
    """
    x, out_hw, squeeze = _adaptive_setup(x, output_size)
    out, index = _adaptive_max(x, out_hw)
    if squeeze:
        out, index = out[0], index[0]
    return (out, index) if return_indices else out


def adaptive_max_pool2d_backward(dout, x, output_size):
    """Gradient of ``adaptive_max_pool2d``: each output's gradient goes to its maximum (summed if shared)."""
    x, out_hw, squeeze = _adaptive_setup(x, output_size)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout, (*x.shape[:2], *out_hw), x.dtype)
    _, index = _adaptive_max(x, out_hw)
    n, c, h, w = x.shape
    flat = index.reshape(n * c, -1) + (np.arange(n * c) * (h * w))[:, None]
    dx = np.bincount(flat.ravel(), weights=dout.reshape(-1), minlength=n * c * h * w)
    dx = dx.astype(x.dtype).reshape(x.shape)
    return dx[0] if squeeze else dx


# ---- padding ------------------------------------------------------------------------------------------

_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_widths(x, pad, mode):
    """Turn PyTorch's flat pad tuple (last axis first) into ``[(before, after), ...]`` for every axis of ``x``."""
    if mode not in _PAD_MODES:
        raise ValueError(f"mode: expected one of {sorted(_PAD_MODES)}, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(_is_int(p) for p in pad):
        raise TypeError(f"pad: expected a tuple of ints, got {pad!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of values, at most 2 * x.ndim = {2 * x.ndim}, "
                         f"got {len(pad)} values {tuple(pad)}")
    dims = len(pad) // 2
    if mode != "constant" and not (dims <= 3 and x.ndim in (dims + 1, dims + 2)):
        raise ValueError(f"pad: {mode!r} padding of the last {dims} axes needs a {dims + 1}-D or {dims + 2}-D "
                         f"input (batched or not, as PyTorch), got x of shape {x.shape}")
    widths = [(0, 0)] * x.ndim
    for k in range(dims):
        axis = x.ndim - 1 - k
        before, after = int(pad[2 * k]), int(pad[2 * k + 1])
        size = x.shape[axis]
        if mode != "constant" and min(before, after) < 0:
            raise ValueError(f"pad: negative padding is only allowed in 'constant' mode, got {tuple(pad)}")
        if mode == "reflect" and max(before, after) >= size:
            raise ValueError(f"pad: reflect padding must be smaller than the input size {size} of axis {axis}, "
                             f"got {(before, after)}")
        if mode == "circular" and max(before, after) > size:
            raise ValueError(f"pad: circular padding must be at most the input size {size} of axis {axis}, "
                             f"got {(before, after)}")
        if size + min(before, 0) + min(after, 0) < 0:  # as torch: the crops alone must fit in the axis
            raise ValueError(f"pad: {(before, after)} crops more than the size {size} of axis {axis}")
        widths[axis] = (before, after)
    return widths


def _crop_slices(widths, shape):
    """Slices of a padded array (or, for negative widths, of the input) that the two share."""
    inner = tuple(slice(max(b, 0), max(b, 0) + n + min(b, 0) + min(a, 0)) for (b, a), n in zip(widths, shape))
    outer = tuple(slice(max(-b, 0), max(-b, 0) + n + min(b, 0) + min(a, 0)) for (b, a), n in zip(widths, shape))
    return inner, outer     # padded[inner] corresponds to x[outer]


def pad(x, pad, mode="constant", value=0.0):
    """Pad (or, with negative values in 'constant' mode, crop) an array, as ``torch.nn.functional.pad``.

    Parameters
    ----------
    x : ndarray
    pad : tuple of int
        ``(left, right)`` for the last axis, then ``(top, bottom)`` for the one before, and so on.
    mode : 'constant', 'reflect', 'replicate' or 'circular'
    value : float
        Fill value of 'constant' mode.

    Returns
    -------
    out : ndarray, each padded axis of size ``n + before + after``
    """
    x = _as_float(x, "x")
    widths = _pad_widths(x, pad, mode)
    if mode != "constant":
        return np.pad(x, widths, mode=_PAD_MODES[mode])
    out = np.full([n + b + a for (b, a), n in zip(widths, x.shape)], value, dtype=x.dtype)
    inner, outer = _crop_slices(widths, x.shape)
    out[inner] = x[outer]
    return out


def pad_backward(dout, x, pad, mode="constant"):
    """Gradient of ``pad``: crop (constant mode), or also fold the copied border back (other modes).

    Returns
    -------
    dx : ndarray, shape of ``x``
    """
    x = _as_float(x, "x")
    widths = _pad_widths(x, pad, mode)
    dout = _check_dout(dout, tuple(n + b + a for (b, a), n in zip(widths, x.shape)), x.dtype)
    if mode == "constant":
        dx = np.zeros(x.shape, dtype=x.dtype)
        inner, outer = _crop_slices(widths, x.shape)
        dx[outer] = dout[inner]
        return dx
    dx = dout
    for axis, (before, after) in enumerate(widths):
        if before or after:      # padded position p copies source[p]: add its gradient there
            source = np.pad(np.arange(x.shape[axis]), (before, after), mode=_PAD_MODES[mode])
            moved = np.moveaxis(dx, axis, 0)
            folded = np.zeros((x.shape[axis], *moved.shape[1:]), dtype=x.dtype)
            np.add.at(folded, source, moved)
            dx = np.moveaxis(folded, 0, axis)
    return np.ascontiguousarray(dx)


# =============================================================================================
# Dense layers, activations, normalisation, dropout and losses
# =============================================================================================

def _check_finite(x, name):
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf of {np.size(x)}")


def _check_dim(x, dim, name="x", arg="dim"):
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"{arg}: expected an integer in [{-x.ndim}, {x.ndim - 1}] for {name} of shape "
                         f"{x.shape}, got {dim}")
    return dim % x.ndim


# ---------------------------------------------------------------------------------------------
# Linear (fully connected) layer
# ---------------------------------------------------------------------------------------------
def _check_linear(x, weight, bias=None):
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


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------
def _check_same_shape(dout, x):
    """An element-wise op's ``x`` as a float array, and ``dout`` checked to have its shape."""
    x = _as_float(x, "x")
    return _check_dout(dout, x.shape, x.dtype, what="the shape of x"), x


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


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------
def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0 <= p <= 1:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    return float(p)


def dropout(x, p=0.5, training=True, rng=None, *, return_mask=False):
    """Inverted dropout: zero each element with probability ``p``, scale the rest by ``1 / (1 - p)``.

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1]
        Probability of dropping an element.
    training : bool
        When False (evaluation), ``x`` is returned unchanged.
    rng : numpy.random.Generator, optional
        Source of the random mask. ``None`` uses a fresh, unseeded ``np.random.default_rng()``
        (not reproducible); pass your own generator for reproducible masks.
    return_mask : bool
        Also return the boolean keep-mask, which is what :func:`dropout_backward` needs.

    Returns
    -------
    out : ndarray, same shape as x
    mask : ndarray of bool, same shape as x, or None (only with ``return_mask=True``)
        True where the element was kept; None when not training (dropout is then the identity).
    """
    x = _as_float(x, "x")
    p = _check_p(p)
    if not training:
        out, mask = x, None
    else:
        rng = np.random.default_rng() if rng is None else rng
        mask = rng.random(x.shape) >= p
        out = x * _dropout_scale(mask, p, x.dtype)
    return (out, mask) if return_mask else out


def _dropout_scale(mask, p, dtype):
    """``mask / (1 - p)`` in ``dtype`` (all zeros when ``p == 1``), as PyTorch builds its noise."""
    if p == 1:
        return np.zeros(mask.shape, dtype=dtype)
    return mask.astype(dtype) / dtype.type(1 - p)


def dropout_backward(dout, mask, p=0.5):
    """Gradient of :func:`dropout` (training mode), given the mask it returned.

    Parameters
    ----------
    dout : ndarray, same shape as mask
    mask : ndarray of bool, or None
        The keep-mask from ``dropout(..., return_mask=True)``; None (evaluation mode) gives
        ``dx = dout``.
    p : float in [0, 1]
        The same ``p`` as in the forward pass.

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    dout = _as_float(dout, "dout")
    p = _check_p(p)
    if mask is None:        # evaluation mode: the identity
        return dout
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask: expected a boolean array, got dtype {mask.dtype}")
    if mask.shape != dout.shape:
        raise ValueError(f"mask: expected shape {dout.shape} (the shape of dout), got {mask.shape}")
    return dout * _dropout_scale(mask, p, dout.dtype)


# ---------------------------------------------------------------------------------------------
# Cross-entropy loss
# ---------------------------------------------------------------------------------------------
def _check_cross_entropy(logits, target):
    logits = _as_float(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits: expected shape (N, C), got {logits.shape}")
    N, C = logits.shape
    if N == 0:
        raise ValueError("logits: expected at least one row (N >= 1), got shape (0, C)")
    _check_finite(logits, "logits")
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer):
        hint = " (contains NaN/inf)" if np.issubdtype(target.dtype, np.floating) and not np.all(
            np.isfinite(target)) else ""
        raise ValueError(f"target: expected integer class labels, got dtype {target.dtype}{hint}")
    if target.shape != (N,):
        raise ValueError(f"target: expected shape ({N},) to match logits {logits.shape}, got {target.shape}")
    if target.size and (target.min() < 0 or target.max() >= C):
        raise ValueError(f"target: expected labels in [0, {C - 1}], got values in "
                         f"[{target.min()}, {target.max()}]")
    return logits, target


def cross_entropy(logits, target):
    """Mean cross-entropy between ``softmax(logits)`` and integer class labels.

    Parameters
    ----------
    logits : ndarray, shape (N, C)
        Unnormalised scores; any finite size (stable for huge values).
    target : ndarray of int, shape (N,)
        Class labels in ``[0, C)``.

    Returns
    -------
    loss : float
        ``-mean_i log softmax(logits)[i, target[i]]``.
    """
    logits, target = _check_cross_entropy(logits, target)
    logp = log_softmax(logits, dim=1)
    return float(-logp[np.arange(len(target)), target].mean())


def cross_entropy_backward(logits, target):
    """Gradient of :func:`cross_entropy` with respect to ``logits``: ``(softmax - one_hot) / N``.

    Returns
    -------
    dlogits : ndarray, shape (N, C)
    """
    logits, target = _check_cross_entropy(logits, target)
    dlogits = softmax(logits, dim=1)
    dlogits[np.arange(len(target)), target] -= 1
    dlogits /= len(target)
    return dlogits


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------
def _check_batch_norm(x, weight=None, bias=None, running_mean=None, running_var=None):
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


# ---------------------------------------------------------------------------------------------
# Flatten
# ---------------------------------------------------------------------------------------------
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
