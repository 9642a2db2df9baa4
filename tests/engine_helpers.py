"""Helpers shared by the engine-vs-PyTorch tests."""
import numpy as np
import torch

from cnnbook.check import assert_close, tolerance


def close(actual, expected, dtype, name, scale=1.0):
    """``assert_close`` with rtol = atol = ``tolerance(dtype) * scale``.

    ``scale`` > 1 is for results that cancel: a float32 sum of terms of size S carries an error
    of about 1e-7 * S, whatever the size of the result, so the test names the size of the terms.
    """
    tol = tolerance(dtype) * scale
    assert_close(actual, expected, rtol=tol, atol=tol, name=name)


def check(actual, expected, dtype, name):
    """The engine's result has ``dtype`` and equals ``expected`` within ``tolerance(dtype)``.

    In float32 the absolute tolerance is scaled to the largest magnitude in ``expected`` (a
    convolution or pooling output sums terms of that size).
    """
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert actual.dtype == dtype, f"{name}: dtype {actual.dtype}, expected {dtype}"
    tol = tolerance(dtype)
    scale = 1.0
    if dtype == np.float32:
        scale = max(1.0, float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)))
    assert_close(actual, expected, rtol=tol, atol=tol * scale, name=name)


def torch_grads(fn, dout, *arrays):
    """Run ``fn`` on tensors made from ``arrays`` (None stays None); return output and gradients."""
    tensors = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out = out[0] if isinstance(out, tuple) else out
    out.backward(torch.tensor(dout))
    return out, [None if t is None else t.grad for t in tensors]


def torch_grad(fn, x, dout):
    """The gradient of ``fn`` at a tensor copy of ``x`` for the upstream gradient ``dout``."""
    return torch_grads(fn, dout, x)[1][0]


def check_conv_like(np_op, np_backward, torch_op, x, weight, bias, dout, dtype):
    """Compare a convolution-like op and its ``*_backward`` with PyTorch's forward and autograd.

    ``np_op(x, weight, bias)``, ``np_backward(dout, x, weight) -> (dx, dweight, dbias)`` and
    ``torch_op(x, weight, bias)`` carry their keyword arguments already (e.g. via a lambda).
    """
    out, (dx, dweight, dbias) = torch_grads(torch_op, dout, x, weight, bias)
    check(np_op(x, weight, bias), out, dtype, "out")
    got = np_backward(dout, x, weight)
    check(got[0], dx, dtype, "dx")
    check(got[1], dweight, dtype, "dweight")
    check(got[2], dout.sum(axis=(0, 2, 3)) if dbias is None else dbias, dtype, "dbias")
