"""Exercise 7.2 cannot be passed by a numerical derivative: such cheats lose its points.

The re-review of chapter 7 passed 7.2's check with a complex-step derivative (cheat C2): it
stripped the check's complex-refusing array subclass with ``np.asarray(x).view(np.ndarray)`` and
probed 64 channels at a time, vectorised. The check no longer relies on the arrays: its last
trial has two positions of 65,536 channels and gives the answer 1,000 lines, 256 MB and 5 s.
A numerical derivative evaluates the layer once per channel (65,536 times the work of the
derived formula, which needs about 0.01 s), and a loop over channels runs out of lines. Each
test fills in the student copy of chapter 7 with one answer to 7.2 (the other exercises stay
blank) and grades it with the instructor's grader.
"""
import pytest
from grade_helpers import grade_answer

HONEST = '''
def channel_rms_norm_backward_np(dout, x, weight, eps):
    per_channel = (1, -1) + (1,) * (x.ndim - 2)
    r = np.sqrt((x**2).mean(axis=1, keepdims=True) + eps)
    xhat = x / r
    g = dout * weight.reshape(per_channel)
    gx = (g * xhat).sum(axis=1, keepdims=True)
    dx = (g - xhat * gx / x.shape[1]) / r
    deps = float(-0.5 * (gx / r**2).sum())
    dweight = (dout * xhat).sum(axis=(0,) + tuple(range(2, x.ndim)))
    return dx, dweight, deps
'''

FORWARD = '''
def _forward(x, weight, eps):
    per = (1, -1) + (1,) * (x.ndim - 2)
    return x / np.sqrt((x**2).mean(axis=1, keepdims=True) + eps) * weight.reshape(per)


def _dweight(dout, x, eps):
    return (dout * _forward(x, np.ones(x.shape[1]), eps)).sum(
        axis=(0,) + tuple(range(2, x.ndim)))
'''

CHEATS = {  # name: (answer, what the failure says)
    # the re-review's C2: a complex step, vectorised over chunks of 64 channels
    "complex step, vectorised": (FORWARD + '''

def channel_rms_norm_backward_np(dout, x, weight, eps):
    dout, x, weight = (np.asarray(a).view(np.ndarray) for a in (dout, x, weight))
    h, C = 1e-30, x.shape[1]
    dx = np.zeros_like(x)
    for start in range(0, C, 64):
        idx = np.arange(start, min(C, start + 64))
        k = len(idx)
        xs = np.repeat(x[None].astype(complex), k, axis=0)
        xs[np.arange(k), :, idx] += 1j * h
        y = _forward(xs.reshape((-1,) + x.shape[1:]), weight, eps).reshape(xs.shape)
        dx[:, idx] = np.moveaxis((dout[None] * y.imag / h).sum(axis=2), 0, 1)
    deps = float((dout * _forward(x.astype(complex), weight.astype(complex),
                                  eps + 1j * h).imag / h).sum())
    return dx, _dweight(dout, x, eps), deps
''', "a numerical derivative does not fit"),
    # central differences in long double, vectorised the same way
    "long-double differences, vectorised": (FORWARD + '''

def channel_rms_norm_backward_np(dout, x, weight, eps):
    dout, x, weight = (np.asarray(a).view(np.ndarray) for a in (dout, x, weight))
    h, C = np.longdouble(1e-6), x.shape[1]
    xl, wl = x.astype(np.longdouble), weight.astype(np.longdouble)
    dx = np.zeros_like(x)
    for start in range(0, C, 64):
        idx = np.arange(start, min(C, start + 64))
        k = len(idx)
        up, down = np.repeat(xl[None], k, axis=0), np.repeat(xl[None], k, axis=0)
        up[np.arange(k), :, idx] += h
        down[np.arange(k), :, idx] -= h
        flat = (-1,) + x.shape[1:]
        y = (_forward(up.reshape(flat), wl, eps)
             - _forward(down.reshape(flat), wl, eps)).reshape(up.shape) / (2 * h)
        dx[:, idx] = np.moveaxis((dout[None] * y).sum(axis=2), 0, 1).astype(float)
    deps = float((dout * (_forward(xl, wl, eps + h) - _forward(xl, wl, eps - h))
                  / (2 * h)).sum())
    return dx, _dweight(dout, x, eps), deps
''', "a numerical derivative does not fit"),
    # a complex step, one channel at a time
    "complex step, per channel": (FORWARD + '''

def channel_rms_norm_backward_np(dout, x, weight, eps):
    dout, x, weight = (np.asarray(a).view(np.ndarray) for a in (dout, x, weight))
    h = 1e-30
    dx = np.zeros_like(x)
    for c in range(x.shape[1]):
        xc = x.astype(complex)
        xc[:, c] += 1j * h
        dx[:, c] = (dout * _forward(xc, weight, eps).imag / h).sum(axis=1)
    deps = float((dout * _forward(x.astype(complex), weight.astype(complex),
                                  eps + 1j * h).imag / h).sum())
    return dx, _dweight(dout, x, eps), deps
''', "loops over channels do not fit"),
}


def graded_72(tmp_path, answer):
    return grade_answer(tmp_path, "07_normalization", "def channel_rms_norm_backward_np(",
                        answer)


def test_the_derived_backward_gets_the_points(tmp_path):
    results, report = graded_72(tmp_path, HONEST)
    assert results["7.2"].earned == 2 and results["7.2"].status == "ok", report.lines()
    assert all(results[e].earned == 0 for e in ("7.1", "7.3"))  # left blank


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_a_numerical_derivative_loses_the_points(tmp_path, cheat):
    answer, failure = CHEATS[cheat]
    results, report = graded_72(tmp_path, answer)
    assert results["7.2"].earned == 0 and results["7.2"].status == "failed", report.lines()
    assert failure in results["7.2"].detail, results["7.2"].detail
