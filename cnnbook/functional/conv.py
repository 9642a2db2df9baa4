"""Convolutions: ``conv2d``, ``conv_transpose2d`` and ``conv1d``, each with its ``*_backward``.

One machine does all of them: ``_im2col`` copies every receptive field of the padded input into
a column, ``_conv_forward`` multiplies the kernels by those columns (one batched matrix product
per chunk of the batch), and ``_col2im`` scatters columns back (its adjoint), which gives the
input gradient and the transposed convolution.

Where copying ``Wo`` elements at a time costs more than the product (depthwise convolutions,
strided input gradients), the same steps run in the *row layout* (``_RowConv``), which moves
whole rows of the padded input at once.
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_float, _batched, _check_dout, _is_int, _pair
from .padding import _crop, _pad_hw


_CHUNK_BYTES = 32 * 2**20  # the im2col buffer of one batch chunk holds at most this many bytes


def _window(offset, stride, n_out):
    """Slice picking, for each of ``n_out`` outputs, the input at ``start + offset`` (start = o * stride)."""
    return slice(offset, offset + stride * (n_out - 1) + 1, stride)


def _conv_padding(padding, kernel_size, stride, dilation):
    """Per-side padding ``((top, bottom), (left, right))`` for an int, a pair or a mode.

    'valid' is no padding; 'same' pads dilation*(k-1) in total, the extra pixel of an
    odd total going to the bottom/right (as PyTorch), and needs stride 1; 'full' pads
    dilation*(k-1) on each side.
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
        raise ValueError("padding: expected an int, a pair, 'valid', 'same' or 'full', "
                         f"got {padding!r}")
    ph, pw = _pair(padding, "padding", minimum=0)
    return ((ph, ph), (pw, pw))


def _conv_out_size(size, pads, kernel, stride, dilation, axis):
    """Output length of a convolution along one axis.

    Raises ValueError when the (dilated) kernel does not fit in the padded input.
    """
    padded = size + pads[0] + pads[1]
    effective = dilation * (kernel - 1) + 1
    if effective > padded:
        raise ValueError(f"weight: the {axis} kernel size {kernel} (effective size "
                         f"{effective} with dilation {dilation}) is larger than the "
                         f"padded input {axis} {padded} (input {size} + padding "
                         f"{pads[0]} + {pads[1]})")
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
        C_in, C_out = weight.shape[0], weight.shape[1] * groups
        if C_in % groups:
            raise ValueError(f"groups: {groups} does not divide the {C_in} input channels "
                             f"(weight.shape = {weight.shape})")
        if x_channels != C_in:
            raise ValueError(f"x: expected {C_in} channels (weight.shape[0]), got {x_channels}{hint}")
        return C_out
    C_out, C_in = weight.shape[0], weight.shape[1] * groups
    if C_out % groups:
        raise ValueError(f"groups: {groups} does not divide the {C_out} output channels "
                         f"(weight.shape = {weight.shape})")
    if x_channels != C_in:
        if x_channels % groups:
            raise ValueError(f"groups: {groups} does not divide the {x_channels} input channels of x")
        raise ValueError(f"x: expected C_in = weight.shape[1] * groups = {weight.shape[1]} * {groups} = "
                         f"{C_in} channels, got {x_channels}{hint}")
    return C_out


def _conv_bias(bias, C_out, dtype):
    """Check that ``bias`` is None or has shape ``(C_out,)``; return it in ``dtype``."""
    if bias is None:
        return None
    bias = _as_float(bias, "bias")
    if bias.shape != (C_out,):
        raise ValueError(f"bias: expected shape ({C_out},) (one per output channel), got {bias.shape}")
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


def _batch_chunks(N, bytes_per_sample, budget):
    """Split ``range(n)`` into slices whose buffers hold at most ``budget`` bytes (one sample at least)."""
    step = max(1, int(budget // max(bytes_per_sample, 1)))
    return [slice(i, min(i + step, N)) for i in range(0, N, step)]


def _conv_chunks(x_shape, itemsize, kernel_size, C_out, out_hw, pads):
    """Batch chunks for the im2col buffers: at most 32 MB, and about an eighth of the output (at
    least 1 MB), so that each chunk's share of the output is still in the CPU cache when the bias
    is added to it; small chunks cost nothing in speed and keep the peak memory low."""
    N, C, H, W = x_shape
    per_sample = itemsize * C * (kernel_size[0] * kernel_size[1] * out_hw[0] * out_hw[1]
                                 + (H + sum(pads[0])) * (W + sum(pads[1])))
    out_bytes = itemsize * N * C_out * out_hw[0] * out_hw[1]
    return _batch_chunks(N, per_sample, min(_CHUNK_BYTES, max(out_bytes // 8, 2**20)))


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
    (kH, kW), (sh, sw), (dh, dw), (Ho, Wo) = kernel_size, stride, dilation, out_hw
    N, C = xp.shape[:2]
    if (kH, kW, sh, sw) == (1, 1, 1, 1) and xp.shape[2:] == (Ho, Wo) and not ones_row:
        return xp.reshape(N, C, Ho * Wo)                       # a 1x1 convolution needs no copy
    span = (dh * (kH - 1) + 1, dw * (kW - 1) + 1)               # the dilated kernel's extent
    windows = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))  # a view, no copy
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :Ho, :Wo]          # (N, C, Ho, Wo, kH, kW)
    k = C * kH * kW
    cols = np.empty((N, k + ones_row, Ho * Wo), dtype=xp.dtype)
    _copy_windows(cols[:, :k].reshape(N, C, kH, kW, Ho, Wo), windows.transpose(0, 1, 4, 5, 2, 3), sh, dh)
    if ones_row:
        cols[:, k] = 1
    return cols


def _copy_windows(cols, windows, stride_h, dilation_h):
    """``cols[...] = windows``, both (N, C, kH, kW, Ho, Wo): the copy of ``_im2col``, in a faster order.

    Copied as it stands, the copy moves ``Wo`` elements at a time, slow for narrow outputs. With
    stride 1 in height, kernel row ``i`` sees the rows kernel row 0 sees, ``i * dH`` further down:
    so first copy the ``kW`` column shifts of every input row (``Wo`` at a time, but ``kH`` times
    less data), then each kernel row is one block of ``Ho * Wo`` contiguous elements. Measured:
    20 % faster for LeNet's second layer (``Wo = 10``), 2 % slower from ``Wo = 32`` on.
    """
    N, C, kH, kW, Ho, Wo = cols.shape
    if stride_h != 1 or kH == 1 or Wo >= 32:
        np.copyto(cols, windows)
        return
    s_n, s_c, _, s_j, s_h, s_w = windows.strides
    shifts = np.lib.stride_tricks.as_strided(windows, (N, C, kW, Ho + dilation_h * (kH - 1), Wo),
                                             (s_n, s_c, s_j, s_h, s_w))   # the input rows under each j
    shifts = np.ascontiguousarray(shifts)
    for i in range(kH):
        cols[:, :, i] = shifts[:, :, :, i * dilation_h:i * dilation_h + Ho]


def _matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``; a product over one term (a column times a row) is a broadcast
    multiply, which NumPy's matmul does not hand to BLAS and runs 20 times slower."""
    return np.multiply(a, b, out=out) if a.shape[-1] == 1 else np.matmul(a, b, out=out)


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
    (kH, kW), (sh, sw), (dh, dw), (Ho, Wo) = kernel_size, stride, dilation, out_hw
    N, C = padded_shape[:2]
    cols = cols.reshape(N, C, kH, kW, Ho, Wo)
    xp = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kH):
        for j in range(kW):
            xp[:, :, _window(i * dh, sh, Ho), _window(j * dw, sw, Wo)] += cols[:, :, i, j]
    return xp


def _conv_forward(x, weight, stride, pads, dilation, groups, out_hw, bias=None):
    """``out[n, g*Cog + o] = weight[g*Cog + o] . cols[n, g] + bias``: one batched matmul per chunk.

    Without groups the bias joins the weights as one more column, multiplied by a row of ones in
    ``cols``; with groups it is added to each chunk while that part of the output is in the cache.
    """
    if _is_depthwise(weight.shape, groups):    # one matrix-vector product per plane: see _RowConv
        return _conv_forward_rows(x, weight, stride, pads, dilation, groups, out_hw, bias)
    N, (C_out, _, kH, kW) = x.shape[0], weight.shape
    w_mat = weight.reshape(groups, C_out // groups, -1)        # (G, C_out/G, C_in/G * kH * kW)
    fold = bias is not None and groups == 1
    if fold:
        w_mat = np.concatenate([w_mat, bias.reshape(1, C_out, 1)], axis=2)
    out = np.empty((N, C_out, out_hw[0] * out_hw[1]), dtype=x.dtype)
    for chunk in _conv_chunks(x.shape, x.itemsize, (kH, kW), C_out, out_hw, pads):
        cols = _im2col(_pad_hw(x[chunk], pads), (kH, kW), stride, dilation, out_hw, ones_row=fold)
        m = cols.shape[0]
        np.matmul(w_mat, cols.reshape(m, groups, -1, cols.shape[-1]),
                  out=out[chunk].reshape(m, groups, C_out // groups, -1))
        if bias is not None and not fold:
            out[chunk] += bias[:, None]
        del cols                                                # free it before the next chunk's
    return out.reshape(N, C_out, *out_hw)


def _conv_input_grad(dout, weight, x_shape, stride, pads, dilation, groups):
    """Gradient of a convolution with respect to its input (= a transposed convolution of ``dout``).

    ``dout`` (N, C_out, Ho, Wo), ``weight`` (C_out, C_in/G, kH, kW) -> dx of shape ``x_shape``.
    With a stride, the row layout adds whole rows at a time (``_conv_input_grad_rows``).
    """
    if stride != (1, 1):
        return _conv_input_grad_rows(dout, weight, x_shape, stride, pads, dilation, groups)
    if _is_depthwise(weight.shape, groups):
        return _conv_input_grad_stride1(dout, weight, x_shape, pads, dilation, groups)
    N, C_out, Ho, Wo = dout.shape
    kH, kW = weight.shape[2:]
    padded = (x_shape[2] + sum(pads[0]), x_shape[3] + sum(pads[1]))
    w_t = weight.reshape(groups, C_out // groups, -1).transpose(0, 2, 1)   # (G, C_in/G*kH*kW, C_out/G)
    w_t = np.ascontiguousarray(w_t)                        # a transposed view would miss the BLAS path
    dx = np.empty(x_shape, dtype=dout.dtype)
    for chunk in _conv_chunks(x_shape, dout.itemsize, (kH, kW), C_out, (Ho, Wo), pads):
        d = dout[chunk].reshape(-1, groups, C_out // groups, Ho * Wo)
        dcols = _matmul(w_t, d)                                            # (n, G, C_in/G*kH*kW, P)
        m = d.shape[0]
        dxp = _col2im(dcols.reshape(m, -1, Ho * Wo), (m, x_shape[1], *padded), (kH, kW), stride,
                      dilation, (Ho, Wo))
        dx[chunk] = _crop(dxp, pads, x_shape[2:])
        del dcols, dxp
    return dx


def _conv_weight_grad(dout, x, weight_shape, stride, pads, dilation, groups):
    """Gradient of a convolution with respect to its weight: ``sum_n dout[n] @ cols[n].T`` per group.

    Only the first ``Ho x Wo`` windows are used, ``(Ho, Wo) = dout.shape[2:]``.
    """
    if _is_depthwise(weight_shape, groups):
        return _conv_weight_grad_rows(dout, x, weight_shape, stride, pads, dilation, groups)
    N, C_out, Ho, Wo = dout.shape
    dweight = np.zeros((groups, C_out // groups, int(np.prod(weight_shape[1:]))), dtype=dout.dtype)
    for chunk in _conv_chunks(x.shape, x.itemsize, weight_shape[2:], C_out, (Ho, Wo), pads):
        cols = _im2col(_pad_hw(x[chunk], pads), weight_shape[2:], stride, dilation, (Ho, Wo))
        m = cols.shape[0]
        cols = cols.reshape(m, groups, -1, Ho * Wo)
        d = dout[chunk].reshape(m, groups, C_out // groups, Ho * Wo)
        dweight += np.matmul(d, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        del cols
    return dweight.reshape(weight_shape)


# ---- the row layout ------------------------------------------------------------------------------
# ``_im2col`` copies ``Wo`` elements at a time, and so does ``_col2im``'s scatter-add. Where the
# copy or the scatter outweighs the matrix product (a depthwise convolution is one matrix-vector
# product per plane; a strided input gradient scatters into a strided view), the row layout is
# faster: the padded input is split into its stride phases and each kernel offset reads (or adds)
# whole rows of a phase, ``Ho * Wq`` elements in one run, at the price of ``Wq - Wo`` extra
# columns per row, which read on into the next row and are dropped.


def _is_depthwise(weight_shape, groups):
    """One input channel per group (groups = C_in), as in MobileNet and EfficientNet."""
    return groups > 1 and weight_shape[1] == 1


def _phase_span(size, pad, phase, stride, length):
    """Where the input lands in one stride phase of a padded axis.

    Phase ``phase`` of an axis padded by ``pad`` in front holds the padded elements
    ``u * stride + phase``, ``u = 0 .. length - 1``. Returns the slice of the phase that holds
    input elements (the rest is padding, zero) and the matching strided slice of the input.
    A negative ``pad`` crops the input.
    """
    u0 = max(0, -(-(pad - phase) // stride))          # first u that falls inside the input
    first = u0 * stride + phase - pad
    count = min(length - u0, -(-(size - first) // stride)) if first < size else 0
    if count <= 0:
        return slice(0, 0), slice(0, 0)
    return slice(u0, u0 + count), slice(first, first + (count - 1) * stride + 1, stride)


def _fill_phases(planes, x, pads):
    """Write ``x`` into the stride phases of its padded version (the padding stays as it is).

    Parameters
    ----------
    planes : ndarray, shape (sH, sW, N, C, Hq, Wq)
        ``planes[a, b, n, c, u, v] = xp[n, c, u * sH + a, v * sW + b]`` for the padded input ``xp``.
    x : ndarray, shape (N, C, H, W)
    pads : ((top, bottom), (left, right)); negative values crop ``x``
    """
    sH, sW, _, _, Hq, Wq = planes.shape
    for a in range(sH):
        rows, x_rows = _phase_span(x.shape[2], pads[0][0], a, sH, Hq)
        for b in range(sW):
            cols, x_cols = _phase_span(x.shape[3], pads[1][0], b, sW, Wq)
            planes[a, b, :, :, rows, cols] = x[:, :, x_rows, x_cols]


def _read_phases(x, planes, pads):
    """The adjoint of ``_fill_phases``: ``x`` (N, C, H, W) gets the input positions of the phases."""
    sH, sW, _, _, Hq, Wq = planes.shape
    x[...] = 0                                   # positions beyond every phase: no offset reaches them
    for a in range(sH):
        rows, x_rows = _phase_span(x.shape[2], pads[0][0], a, sH, Hq)
        for b in range(sW):
            cols, x_cols = _phase_span(x.shape[3], pads[1][0], b, sW, Wq)
            x[:, :, x_rows, x_cols] = planes[a, b, :, :, rows, cols]


def _tap_runs(kernel_size, stride, dilation, Wq, L):
    """For each kernel offset ``(i, j)``: its phase ``(a, b)`` and the run of the flattened phase it reads.

    Offset row ``i`` reads phase row ``a = i*dH % sH``, ``r = i*dH // sH`` rows down (the same
    for columns), so output ``(h, w)`` reads element ``(h + r) * Wq + w + c`` of the phase.
    """
    (kH, kW), (sH, sW), (dH, dW) = kernel_size, stride, dilation
    runs = []
    for i in range(kH):
        r, a = divmod(i * dH, sH)
        for j in range(kW):
            c, b = divmod(j * dW, sW)
            runs.append((i, j, a, b, slice(r * Wq + c, r * Wq + c + L)))
    return runs


def _im2col_rows(taps, planes, kernel_size, stride, dilation):
    """im2col in the row layout, channel-major: the input under each kernel offset.

    Parameters
    ----------
    taps : ndarray, shape (G, C/G, kH, kW, N, Ho * Wq)
        Filled in: ``taps[g, c, i, j, n, h * Wq + w]`` is the input under offset ``(i, j)`` of
        output ``(h, w)``, for ``w < Wo``.
    planes : ndarray, shape (sH, sW, N, C, Hq, Wq), from ``_fill_phases``
    kernel_size, stride, dilation : pairs of int
    """
    (sH, sW), (dH, dW) = stride, dilation
    G, C_g, _, _, N, L = taps.shape
    Wq = planes.shape[-1]
    flat = planes.reshape(sH, sW, N, G, C_g, -1).transpose(0, 1, 3, 4, 2, 5)   # (.., G, C/G, N, Hq*Wq)
    if dH % sH == 0 and dW % sW == 0:
        # every offset reads phase (0, 0), shifted by (i*dH/sH, j*dW/sW): one strided view, one copy
        g, c, n, q = flat.strides[2:]
        strides = (g, c, dH // sH * Wq * q, dW // sW * q, n, q)
        taps[...] = np.lib.stride_tricks.as_strided(flat[0, 0], taps.shape, strides)
        return
    for i, j, a, b, run in _tap_runs(kernel_size, stride, dilation, Wq, L):
        taps[:, :, i, j] = flat[a, b, ..., run]          # one copy of whole rows per offset


def _row_layout(kernel_size, stride, dilation, out_hw):
    """Shape ``(Hq, Wq)`` of a stride phase: the output width plus the widest offset shift, and
    one row more than the lowest offset reaches, so that the last offset reads a full run."""
    (kH, kW), (sH, sW), (dH, dW), (Ho, Wo) = kernel_size, stride, dilation, out_hw
    return Ho + (dH * (kH - 1)) // sH + 1, Wo + (dW * (kW - 1)) // sW


class _RowConv:
    """The row layout of one convolution, with buffers reused by every chunk of the batch.

    Parameters
    ----------
    x_shape : (N, C, H, W)
    dtype : float32 or float64
    weight_shape : (C_out, C/G, kH, kW)
    stride, pads, dilation, groups, out_hw
        As in ``_conv_forward``.
    step : int
        Samples per chunk.
    ones_row : bool
        End each group's columns with a row of ones, for a bias.
    """

    def __init__(self, x_shape, dtype, weight_shape, stride, pads, dilation, groups, out_hw, step,
                 ones_row=False):
        self.kernel, self.stride, self.pads, self.dilation = weight_shape[2:], stride, pads, dilation
        self.groups, self.out_hw = groups, out_hw
        Hq, self.Wq = _row_layout(self.kernel, stride, dilation, out_hw)
        self.planes = np.zeros((*stride, step, x_shape[1], Hq, self.Wq), dtype=dtype)
        self.k, self.ones_row, self.cols = int(np.prod(weight_shape[1:])), ones_row, None
        self._prod = self._dout = None

    def columns(self, x):
        """The columns of a chunk ``x`` (n, C, H, W), shape (G, C/G * kH * kW (+ 1), n * Ho * Wq)."""
        n = x.shape[0]
        if self.cols is None:                   # allocated at the first chunk, reused by the others
            step, L = self.planes.shape[2], self.out_hw[0] * self.Wq
            self.cols = np.empty((self.groups, self.k + self.ones_row, step, L), dtype=x.dtype)
            self.cols[:, self.k:] = 1
        _fill_phases(self.planes[:, :, :n], x, self.pads)
        cols = self.cols[:, :, :n]
        taps = cols[:, :self.k].reshape(self.groups, -1, *self.kernel, n, cols.shape[-1])
        _im2col_rows(taps, self.planes[:, :, :n], self.kernel, self.stride, self.dilation)
        return cols.reshape(self.groups, cols.shape[1], -1)

    def phase_taps(self):
        """The kernel offsets grouped by the stride phase they read: ``{(a, b): [(i, j, run), ...]}``."""
        phases = {}
        L = self.out_hw[0] * self.Wq
        for i, j, a, b, run in _tap_runs(self.kernel, self.stride, self.dilation, self.Wq, L):
            phases.setdefault((a, b), []).append((i, j, run))
        return phases

    def output(self, prod, n):
        """A product ``(G, C_out/G, n * Ho * Wq)`` as a view of shape (n, C_out, Ho, Wo), extra columns dropped."""
        Ho, Wo = self.out_hw
        return prod.reshape(-1, n, Ho, self.Wq)[..., :Wo].transpose(1, 0, 2, 3)

    def dout_rows(self, dout):
        """``dout`` (n, C_out, Ho, Wo) in the row layout, zero in the extra columns: (G, C_out/G, n * Ho * Wq)."""
        n, C_out, Ho, Wo = dout.shape
        if self._dout is None:                  # the extra columns stay zero from chunk to chunk
            self._dout = np.zeros((C_out, self.planes.shape[2], Ho, self.Wq), dtype=dout.dtype)
        d = self._dout[:, :n]
        d[..., :Wo] = dout.transpose(1, 0, 2, 3)
        return d.reshape(self.groups, C_out // self.groups, -1)

    def product(self, a, b):
        """``a @ b`` (G, rows, n * Ho * Wq) for one chunk, in a buffer that the next chunk reuses
        (fresh large arrays for every chunk cost page faults)."""
        if self._prod is None or self._prod.shape[1] < a.shape[1]:
            self._prod = np.empty((*a.shape[:2], self.planes.shape[2] * self.out_hw[0] * self.Wq), dtype=b.dtype)
        return _matmul(a, b, out=self._prod[:, :a.shape[1], :b.shape[-1]])


def _row_chunks(x_shape, itemsize, kernel_size, out_hw):
    """Batch chunks for the row layout: columns of at most 4 MB (fewer, larger NumPy calls)."""
    kH, kW = kernel_size
    per_sample = itemsize * x_shape[1] * kH * kW * out_hw[0] * (out_hw[1] + kW)   # about Ho * Wq per offset
    return _batch_chunks(x_shape[0], per_sample, min(_CHUNK_BYTES, 4 * 2**20))


def _conv_forward_rows(x, weight, stride, pads, dilation, groups, out_hw, bias=None):
    """``_conv_forward`` in the row layout, for depthwise convolutions.

    Columns are channel-major, so each group's product runs over the whole chunk at once.
    """
    N, C_out = x.shape[0], weight.shape[0]
    w_mat = weight.reshape(groups, C_out // groups, -1)        # (G, C_out/G, C_in/G * kH * kW)
    if bias is not None:                                       # the bias rides along, as in _conv_forward
        w_mat = np.concatenate([w_mat, bias.reshape(groups, -1, 1)], axis=2)
    chunks = _row_chunks(x.shape, x.itemsize, weight.shape[2:], out_hw)
    conv = _RowConv(x.shape, x.dtype, weight.shape, stride, pads, dilation, groups, out_hw, chunks[0].stop,
                    ones_row=bias is not None)
    out = np.empty((N, C_out, *out_hw), dtype=x.dtype)
    for chunk in chunks:
        prod = conv.product(w_mat, conv.columns(x[chunk]))    # (G, C_out/G, n * Ho * Wq)
        out[chunk] = conv.output(prod, chunk.stop - chunk.start)
    return out


def _conv_weight_grad_rows(dout, x, weight_shape, stride, pads, dilation, groups):
    """``_conv_weight_grad`` in the row layout: ``sum dout @ cols.T`` per group, for depthwise convolutions."""
    C_out = weight_shape[0]
    chunks = _row_chunks(x.shape, x.itemsize, weight_shape[2:], dout.shape[2:])
    conv = _RowConv(x.shape, x.dtype, weight_shape, stride, pads, dilation, groups, dout.shape[2:],
                    chunks[0].stop)
    dweight = np.zeros((groups, C_out // groups, int(np.prod(weight_shape[1:]))), dtype=dout.dtype)
    for chunk in chunks:
        cols = conv.columns(x[chunk])                          # (G, C_in/G * kH * kW, n * Ho * Wq)
        dweight += np.matmul(conv.dout_rows(dout[chunk]), cols.transpose(0, 2, 1))
    return dweight.reshape(weight_shape)


def _offsets_weight_t(weight, groups, taps):
    """The transposed weight of some kernel offsets: (G, C_in/G * len(taps), C_out/G), rows (c, tap).

    ``weight`` (C_out, C_in/G, kH, kW); ``taps`` a list of ``(i, j, run)``.
    """
    C_out, C_in_g = weight.shape[:2]
    w = np.stack([weight[:, :, i, j] for i, j, _ in taps], axis=2)          # (C_out, C_in/G, T)
    return np.ascontiguousarray(w.reshape(groups, C_out // groups, -1).transpose(0, 2, 1))


def _conv_input_grad_rows(dout, weight, x_shape, stride, pads, dilation, groups):
    """``_conv_input_grad`` in the row layout, for strided convolutions.

    For each stride phase, ``dcols = weight.T @ dout`` for the kernel offsets that fall in it
    (per group), added back one whole run per offset and plane while the product is still in
    the cache; then the phases are interleaved into ``dx``.
    """
    C_out, C_in_g = weight.shape[:2]
    chunks = _row_chunks(x_shape, dout.itemsize, weight.shape[2:], dout.shape[2:])
    conv = _RowConv(x_shape, dout.dtype, weight.shape, stride, pads, dilation, groups, dout.shape[2:],
                    chunks[0].stop)
    phases = [(phase, taps, _offsets_weight_t(weight, groups, taps)) for phase, taps in conv.phase_taps().items()]
    dx = np.empty(x_shape, dtype=dout.dtype)
    for chunk in chunks:
        n = chunk.stop - chunk.start
        d = conv.dout_rows(dout[chunk])                        # (G, C_out/G, n * Ho * Wq)
        planes = conv.planes[:, :, :n]
        planes[...] = 0
        flat = planes.reshape(*planes.shape[:2], n, groups, C_in_g, -1).transpose(0, 1, 3, 4, 2, 5)
        for (a, b), taps, w_t in phases:
            dcols = conv.product(w_t, d).reshape(groups, C_in_g, len(taps), n, -1)
            for t, (_, _, run) in enumerate(taps):
                flat[a, b, ..., run] += dcols[:, :, t]
        _read_phases(dx[chunk], planes, pads)
    return dx


def _flip_transpose(weight, groups):
    """The kernel of a stride-1 input gradient: flipped, input and output channels exchanged.

    ``weight`` (C_out, C_in/G, kH, kW) -> (C_in, C_out/G, kH, kW).
    """
    C_out, C_in_g, kH, kW = weight.shape
    w = weight.reshape(groups, C_out // groups, C_in_g, kH, kW).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return np.ascontiguousarray(w).reshape(groups * C_in_g, C_out // groups, kH, kW)


def _conv_input_grad_stride1(dout, weight, x_shape, pads, dilation, groups):
    """Input gradient of a stride-1 convolution as a convolution of ``dout``; for depthwise ones.

    ``dx[u] = sum_i dout[u + top - i*d] w[i]``: the flipped kernel slides over ``dout`` padded
    by ``d*(k-1) - top`` in front and by whatever makes the output ``x``'s size behind (cropped
    where negative), input and output channels exchanged. The scatter-add of ``_col2im`` would
    cost ``kH * kW`` passes over the input; this is one convolution.
    """
    back = [(d * (k - 1) - p0, size - n_out + p0)          # (front, behind) for each axis
            for k, d, (p0, _), size, n_out in zip(weight.shape[2:], dilation, pads, x_shape[2:],
                                                  dout.shape[2:])]
    (t, b), (l, r) = back
    d = dout[:, :, max(-t, 0):dout.shape[2] - max(-b, 0), max(-l, 0):dout.shape[3] - max(-r, 0)]
    pads = tuple((max(p0, 0), max(p1, 0)) for p0, p1 in back)
    return _conv_forward(d, _flip_transpose(weight, groups), (1, 1), pads, dilation, groups, x_shape[2:])


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
    C_out = _conv_weight(weight, x.shape[1], groups, transposed=True, unbatched=squeeze)
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
    out_shape = (x.shape[0], C_out, *out_hw)
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
