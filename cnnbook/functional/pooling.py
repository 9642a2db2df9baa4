"""Pooling: max, average and adaptive pooling (and max unpooling), each with its ``*_backward``.

A pooling window is read as one strided view of the padded input per kernel offset (``_PoolTaps``),
so every op is a loop over the ``kH * kW`` offsets of whole-array operations.
"""
from __future__ import annotations

import numpy as np

from ._checks import _batched, _check_dout, _is_int, _pair
from .conv import _window
from .padding import _crop, _pad_hw


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
    """Window maxima and the kernel offset (row-major) of the maximum PyTorch picks.

    PyTorch's scan (:func:`_first_max_scan`) over one view per kernel offset, padding excluded:
    the first of equal maxima wins, and the last NaN.
    """
    views = _PoolTaps(xp.shape, kernel, stride, dilation, out_hw).views(xp)
    best, arg, _ = _first_max_scan(views, list(range(len(views))), valid=valid)
    return best, arg


def _max_pool_indices(arg, x_hw, kernel, stride, padding, dilation):
    """Turn kernel offsets into PyTorch's indices: the flat position ``h * W + w`` in each input plane."""
    Ho, Wo = arg.shape[2:]
    h = np.arange(Ho)[:, None] * stride[0] - padding[0] + (arg // kernel[1]) * dilation[0]
    w = np.arange(Wo)[None, :] * stride[1] - padding[1] + (arg % kernel[1]) * dilation[1]
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
    N, C, Hp, Wp = padded_shape
    Ho, Wo = dout.shape[2:]
    k = np.arange(kernel[0] * kernel[1])
    lookup = (k // kernel[1]) * dilation[0] * Wp + (k % kernel[1]) * dilation[1]          # offset -> flat
    start = (np.arange(Ho)[:, None] * stride[0] * Wp + np.arange(Wo)[None, :] * stride[1])  # window corner
    plane = (np.arange(N * C) * (Hp * Wp)).reshape(N, C, 1, 1)
    flat = lookup[arg] + start + plane
    dxp = np.bincount(flat.ravel(), weights=dout.ravel(), minlength=N * C * Hp * Wp)
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
    dx = np.ascontiguousarray(_crop(dxp, [(p, p) for p in padding], x.shape[2:]))
    return dx[0] if squeeze else dx


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of ``max_pool2d``: each value goes back where its maximum came from.

    Every other output position is zero.

    Parameters
    ----------
    x, indices : ndarray, shape (N, C, Ho, Wo)
        Pooled values, and the indices that ``max_pool2d(..., return_indices=True)``
        returned.
    output_size : (int, int) or None
        The ``(H, W)`` of the unpooled output; by default
        ``(Ho - 1) * stride - 2 * padding + kernel_size``.
    """
    x, squeeze = _batched(x, "x", "(N, C, H, W)")
    indices = np.asarray(indices)
    indices = indices[None] if squeeze and indices.ndim == 3 else indices
    if indices.shape != x.shape:
        raise ValueError(f"indices: expected shape {x.shape} (the shape of x), "
                         f"got {indices.shape}")
    kernel = _pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None else _pair(stride, "stride", minimum=1)
    padding = _pair(padding, "padding", minimum=0)
    defaults = [(x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + kernel[a]
                for a in range(2)]
    if output_size is None:
        out_hw = tuple(defaults)
    else:
        out_hw = _pair(tuple(output_size)[-2:], "output_size", minimum=1)
        for a, default in enumerate(defaults):
            if not default - stride[a] < out_hw[a] < default + stride[a]:
                raise ValueError(
                    f"output_size: expected each size within the stride of the default "
                    f"{default}, strictly between {default - stride[a]} and "
                    f"{default + stride[a]}, got {tuple(output_size)}")
    N, C = x.shape[:2]
    plane = out_hw[0] * out_hw[1]
    if indices.size and (indices.min() < 0 or indices.max() >= plane):
        raise ValueError(f"indices: expected values in [0, {plane}) for an output of "
                         f"size {out_hw}, got values in [{indices.min()}, "
                         f"{indices.max()}]")
    out = np.zeros((N * C, plane), dtype=x.dtype)
    np.put_along_axis(out, indices.reshape(N * C, -1), x.reshape(N * C, -1),
                      axis=1)
    out = out.reshape(N, C, *out_hw)
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
    dx = np.ascontiguousarray(_crop(dxp, [(p, p) for p in padding], x.shape[2:]))
    return dx[0] if squeeze else dx


def _adaptive_windows(size, out):
    """PyTorch's adaptive windows on one axis.

    Window ``i`` is ``[floor(i * size / out), ceil((i + 1) * size / out))``.
    """
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
    N, C, H, W = x.shape
    y = x.reshape(-1, W) @ a_w.T                                    # (N*C*H, Wo)
    y = y.reshape(N * C, H, -1).transpose(0, 2, 1).reshape(-1, H)   # (N*C*Wo, H)
    out = (y @ a_h.T).reshape(N, C, a_w.shape[0], a_h.shape[0])     # (N, C, Wo, Ho)
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
    x, (Ho, Wo), squeeze = _adaptive_setup(x, output_size)
    out = _separable(x, _adaptive_avg_matrix(x.shape[2], Ho, x.dtype), _adaptive_avg_matrix(x.shape[3], Wo, x.dtype))
    return out[0] if squeeze else out


def adaptive_avg_pool2d_backward(dout, x, output_size):
    """Gradient of ``adaptive_avg_pool2d``: ``A_h.T @ dout @ A_w``, shaped like ``x``."""
    x, (Ho, Wo), squeeze = _adaptive_setup(x, output_size)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout, (*x.shape[:2], Ho, Wo), x.dtype)
    a_h = _adaptive_avg_matrix(x.shape[2], Ho, x.dtype)
    a_w = _adaptive_avg_matrix(x.shape[3], Wo, x.dtype)
    dx = _separable(dout, np.ascontiguousarray(a_h.T), np.ascontiguousarray(a_w.T))
    return dx[0] if squeeze else dx


def _first_max_scan(candidates, positions, carry=None, valid=None):
    """PyTorch's max-pooling scan: a candidate replaces the current maximum if strictly larger or NaN.

    So the first of equal maxima wins, and the last NaN. This rule is written here only; max
    pooling's backward uses a faster equivalent when no window holds a NaN.

    Parameters
    ----------
    candidates : list of K ndarrays of one shape, in scan order
    positions : list of K ints or arrays that broadcast to that shape
        What to record for the winner (e.g. its kernel offset or its row).
    carry : list of K arrays, optional
        More values taken along from the winners.
    valid : list of K boolean arrays, optional
        Where each candidate takes part (False: padding); the scan starts, at each output,
        from its first valid candidate.

    Returns
    -------
    best, where, carried : the maxima, the winners' positions and carried values (or None)
    """
    shape = candidates[0].shape
    best = np.full(shape, -np.inf, dtype=candidates[0].dtype)
    where = np.zeros(shape, dtype=np.result_type(*[np.asarray(p) for p in positions]))
    carried = None if carry is None else np.zeros(np.shape(carry[0]), dtype=carry[0].dtype)
    started = np.zeros(shape, dtype=bool)               # has this output seen a candidate yet?
    for k, c in enumerate(candidates):
        take = (c > best) | np.isnan(c) | ~started
        if valid is not None:
            take &= valid[k]
        started |= take
        np.copyto(best, c, where=take)
        np.copyto(where, positions[k], where=take)
        if carry is not None:
            np.copyto(carried, carry[k], where=take)
    return best, where, carried


def _adaptive_steps(size, out):
    """Position of step ``t`` of every adaptive window, shape (K, out), K the largest window.

    Step ``t`` is ``start + t``, clamped to the window's last element, so that every window is
    covered in ``K`` steps; a repeated element changes neither a maximum nor a first position.
    """
    start, end = _adaptive_windows(size, out)
    return np.minimum(start + np.arange((end - start).max())[:, None], end - 1)


def _adaptive_max_scan(x, out_hw):
    """PyTorch's exact scan for adaptive max pooling, NaN included: ``(out, index)``.

    The max over a rectangle is the max over its rows of each row's max: scan along W, then
    along H, which keeps PyTorch's row-major rules (the first of equal maxima wins, and the last
    NaN). Used only when a window holds a NaN; ``_adaptive_max`` is faster otherwise.
    """
    H, W = x.shape[2:]
    rows, cols = _adaptive_steps(H, out_hw[0]), _adaptive_steps(W, out_hw[1])
    xt = np.ascontiguousarray(x.transpose(2, 3, 0, 1))     # (H, W, N, C): a gather copies whole slabs
    row_max, col, _ = _first_max_scan([xt[:, c] for c in cols], [c[:, None, None] for c in cols])
    best, row, col = _first_max_scan([row_max[r] for r in rows], [r[:, None, None, None] for r in rows],
                                     carry=[col[r] for r in rows])                  # (Ho, Wo, N, C)
    index = (row * W + col).astype(np.int64)
    return np.ascontiguousarray(best.transpose(2, 3, 0, 1)), np.ascontiguousarray(index.transpose(2, 3, 0, 1))


def _adaptive_column_max(x, out_h):
    """Maximum of each column over each adaptive window of rows.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    out_h : int
        Ho, the number of windows of rows.

    Returns
    -------
    col_max : ndarray, shape (Ho, N, C, W)
        ``col_max[i, n, c, w] = max(x[n, c, start_i:end_i, w])``, NaN if the column holds one.
        Window-major, so that each window's result is contiguous (twice as fast to update).
    """
    start, end = _adaptive_windows(x.shape[2], out_h)
    col_max = np.empty((out_h, *x.shape[:2], x.shape[3]), dtype=x.dtype)
    for i in range(out_h):      # row by row: whole rows are fast to compare, a max-reduce over axis 2 is not
        np.copyto(col_max[i], x[:, :, start[i]])
        for h in range(start[i] + 1, end[i]):
            np.maximum(col_max[i], x[:, :, h], out=col_max[i])    # propagates NaN, as PyTorch
    return col_max


def _adaptive_first_row(x, col_max):
    """For each column of each window of rows, the number of rows before the first maximal one.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), without NaN
    col_max : ndarray, shape (Ho, N, C, W), from ``_adaptive_column_max``

    Returns
    -------
    before : ndarray of int32, shape (Ho, N, C, W)
        Column ``w`` of window ``i`` first reaches its maximum in row ``start_i + before[i, ..., w]``.
    """
    start, end = _adaptive_windows(x.shape[2], col_max.shape[0])
    before = np.zeros(col_max.shape, dtype=np.int32)
    for i in range(col_max.shape[0]):
        found = np.zeros(col_max.shape[1:], dtype=bool)
        count = np.zeros(col_max.shape[1:], dtype=np.min_scalar_type(end[i] - start[i]))  # rows found in
        for h in range(start[i], end[i] - 1):      # not found before the last row: it is the last
            found |= x[:, :, h] == col_max[i]
            count += found
        before[i] = (end[i] - 1 - start[i]) - count.astype(np.int32)
    return before


def _adaptive_max(x, out_hw, with_index=True):
    """Window maxima (and PyTorch's flat indices ``h * W + w``) of adaptive max pooling.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    out_hw : (int, int)
    with_index : bool

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
    index : ndarray of int64, shape (N, C, Ho, Wo), or None without ``with_index``

    Maxima are separable: over the rows of each window (``_adaptive_column_max``), then over its
    columns, with the columns moved to the front so that each is one contiguous slab. Row-major
    order is the order of the flat index, so a window's first maximum is the smallest
    ``h * W + w`` among the columns reaching the maximum, each at its first maximal row. A window
    holding a NaN takes PyTorch's exact scan instead (``_adaptive_max_scan``).
    """
    H, W = x.shape[2:]
    (hs, _), (ws, we) = _adaptive_windows(H, out_hw[0]), _adaptive_windows(W, out_hw[1])
    col_max = _adaptive_column_max(x, out_hw[0])
    cm_t = np.ascontiguousarray(col_max.transpose(3, 0, 1, 2))        # (W, Ho, N, C)
    out_t = np.empty((out_hw[1], *cm_t.shape[1:]), dtype=x.dtype)      # (Wo, Ho, N, C)
    for j in range(out_hw[1]):
        np.maximum.reduce(cm_t[ws[j]:we[j]], axis=0, out=out_t[j])
    out = np.ascontiguousarray(out_t.transpose(2, 3, 1, 0))
    if not with_index:
        return out, None
    if np.isnan(out).any():
        return _adaptive_max_scan(x, out_hw)
    before = _adaptive_first_row(x, col_max)
    key_t = before.transpose(3, 0, 1, 2) * np.int32(W) + np.arange(W, dtype=np.int32).reshape(W, 1, 1, 1)
    index_t = np.empty(out_t.shape, dtype=np.int32)
    for j in range(out_hw[1]):
        hit = cm_t[ws[j]:we[j]] == out_t[j]
        np.minimum.reduce(np.where(hit, key_t[ws[j]:we[j]], H * W), axis=0, out=index_t[j])
    index = index_t.transpose(2, 3, 1, 0) + (hs * W)[:, None]
    return out, index.astype(np.int64)


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
    out, index = _adaptive_max(x, out_hw, with_index=return_indices)
    if not return_indices:
        return out[0] if squeeze else out
    return (out[0], index[0]) if squeeze else (out, index)


def adaptive_max_pool2d_backward(dout, x, output_size):
    """Gradient of ``adaptive_max_pool2d``: each output's gradient goes to its maximum (summed if shared)."""
    x, out_hw, squeeze = _adaptive_setup(x, output_size)
    dout = _check_dout(dout[None] if squeeze and np.ndim(dout) == 3 else dout, (*x.shape[:2], *out_hw), x.dtype)
    _, index = _adaptive_max(x, out_hw)
    N, C, H, W = x.shape
    flat = index.reshape(N * C, -1) + (np.arange(N * C) * (H * W))[:, None]
    dx = np.zeros(x.shape, dtype=x.dtype)
    np.add.at(dx.reshape(-1), flat.reshape(-1), dout.reshape(-1))   # in output order, as PyTorch adds
    return dx[0] if squeeze else dx
