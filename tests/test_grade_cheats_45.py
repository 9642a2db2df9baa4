"""The cheats of the final re-review of chapters 4 and 5 (issue 11) score zero on what they cheat on.

Each test takes the student copy of a chapter's exercises, writes cheating answers into its
solution cells (by cell id) and grades it against the solution notebook, whose check cells hold
the hidden tests. The cheats:

- **a spy**: a PyTorch function mode started in an answer cell and never left (its handler set
  with a computed name), which records what the checks compute with PyTorch and answers their
  comparisons; on the check's leaf tensor it registers a tensor hook that copies the gradient
  the check's own ``backward`` computes (the report's ``spy.py``);
- **forged references**: kernels of PyTorch's operators replaced through ``torch.library`` (the
  grader does not undo that), so that every PyTorch reference of a check comes out as zeros,
  and answers of zeros; a saved-tensors hook that records what autograd keeps (the indices of
  max pooling); a ``blur_pool`` that is plain max pooling, which has every property the student
  copy's check tests; an ``is_linear`` that traces the operations with an object of its own;
- **finalisers**: answers and arguments with a ``weakref.finalize`` callback that, run outside
  the check's ``forbid`` block, would write PyTorch's answer into the check's copy of the answer;
- **reading the check**: ``is_linear`` reads which recipe it was given from the callable's
  closure, or from the generator's frame;
- **right code, wrong predictions**: the predictions have the right form, so the student copy's
  check passes, and only the hidden tests catch them.

And the student copies hold no value a prediction asks for, no digest and no reference recipe.
One hole is the grader's, not the checks': the hidden tests can be read in the kernel before the
checks run (the last test, an expected failure until the grader closes it).
"""
from pathlib import Path

import nbformat
import pytest

from cnnbook import exercises, grade

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"

# ---------------------------------------------------------------------------------------------
# Honest answers (the model solutions, written again) and the predictions

PREDICT_4 = '''predictions = {
    "A": {"shape": (16, 28, 28), "params": 1216, "macs": 940_800},
    "B": {"shape": (4, 28, 28), "params": 68, "macs": 50_176},
    "C": {"shape": (8, 28, 28), "params": 296, "macs": 225_792},
    "D": {"shape": (8, 14, 14), "params": 584, "macs": 112_896},
    "E": {"shape": (2, 6, 12, 12), "params": 56, "macs": 46_656},
}
'''
CONV3D = '''def conv3d_loops(x, weight, bias=None, stride=1, padding=0):
    def triple(v):
        return (v, v, v) if np.isscalar(v) else tuple(v)
    (s_d, s_h, s_w), (p_d, p_h, p_w) = triple(stride), triple(padding)
    C_out, C_in, k_d, k_h, k_w = weight.shape
    xp = np.pad(x, ((0, 0), (p_d, p_d), (p_h, p_h), (p_w, p_w)))
    D_out = (xp.shape[1] - k_d) // s_d + 1
    H_out = (xp.shape[2] - k_h) // s_h + 1
    W_out = (xp.shape[3] - k_w) // s_w + 1
    out = np.zeros((C_out, D_out, H_out, W_out), dtype=np.result_type(x, weight))
    for t in range(D_out):
        for i in range(H_out):
            for j in range(W_out):
                block = xp[:, t * s_d:t * s_d + k_d, i * s_h:i * s_h + k_h, j * s_w:j * s_w + k_w]
                for o in range(C_out):
                    out[o, t, i, j] = np.sum(weight[o] * block)
    if bias is not None:
        out += np.asarray(bias)[:, None, None, None]
    return out
'''
FOLDS = '''def fold_1x1_then_kxk(w1, b1, w2, b2):
    mix = w1[:, :, 0, 0]
    return np.einsum("omab,mc->ocab", w2, mix), b2 + np.einsum("omab,m->o", w2, b1)


def fold_kxk_then_1x1(w1, b1, w2, b2):
    mix = w2[:, :, 0, 0]
    return np.einsum("om,mcab->ocab", mix, w1), b2 + mix @ b1


def tap_rank_bound(C_in, C_mid, C_out):
    return min(C_in, C_mid, C_out)
'''
PREDICT_5 = '''predicted_shapes = {"a": (8, 3, 16, 16), "b": (2, 16, 3, 3), "c": (1, 4, 4, 4),
                    "d": (1, 5, 3, 2), "e": (4, 2240)}
predicted_values = {
    "avg": [[0.0, 0.75, 0.75], [3.0, 7.5, 4.5], [3.0, 6.75, 3.75]],
    "max of negative": [[0.0, -1.0, -3.0], [-4.0, -5.0, -7.0], [-12.0, -13.0, -15.0]],
}
'''
BACKWARD = '''def max_pool_backward(dout, x, k, stride):
    C, H_out, W_out = dout.shape
    dx = np.zeros(x.shape)
    for c in range(C):
        for i in range(H_out):
            for j in range(W_out):
                window = x[c, i * stride:i * stride + k, j * stride:j * stride + k]
                a, b = divmod(int(np.argmax(window)), k)
                dx[c, i * stride + a, j * stride + b] += dout[c, i, j]
    return dx
'''
PYRAMID = '''def pyramid_pool(x, levels, mode):
    def bins(n, m):
        return [((i * n) // m, -(-(i + 1) * n // m)) for i in range(m)]
    reduce = np.max if mode == "max" else np.mean
    N, C, H, W = x.shape
    parts = []
    for m in levels:
        out = np.empty((N, C, m, m))
        for i, (r0, r1) in enumerate(bins(H, m)):
            for j, (c0, c1) in enumerate(bins(W, m)):
                out[:, :, i, j] = reduce(x[:, :, r0:r1, c0:c1], axis=(2, 3))
        parts.append(out.reshape(N, -1))
    return np.concatenate(parts, axis=1)
'''
PREDICT_54 = '''predictions = {"conv, avg pool 2, conv": True, "conv, max pool 2": False,
               "conv, sum pool 2": True, "conv, global average": True,
               "conv, global max": False, "min pooling 2": False,
               "max pool, 1 x 1 window, stride 2": True, "conv with bias, avg pool 2": False}
'''
IS_LINEAR = '''def is_linear(f, shape, trials=20):
    test_rng = np.random.default_rng()
    for _ in range(trials):
        u, w = test_rng.standard_normal((2, *shape))
        lam = float(test_rng.uniform(-3, 3))
        fu, fw = np.asarray(f(u), dtype=float), np.asarray(f(w), dtype=float)
        for got, want in [(f(u + w), fu + fw), (f(lam * u), lam * fu)]:
            got = np.asarray(got, dtype=float)
            if np.abs(got - want).max() > 1e-9 * max(1.0, float(np.abs(want).max())):
                return False
    return True
'''
BLUR = '''def blur_pool(x):
    H, W = x.shape[2:]
    y = np.maximum.reduce([x[..., :-1, :-1], x[..., :-1, 1:], x[..., 1:, :-1], x[..., 1:, 1:]])
    y = np.pad(y, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    y = sum(t * y[..., a:a + H - 1, :] for a, t in enumerate((0.25, 0.5, 0.25)))
    y = sum(t * y[..., :, b:b + W - 1] for b, t in enumerate((0.25, 0.5, 0.25)))
    return y[..., ::2, ::2]


stability = {"max": shift_correlations(max_pool), "blur": shift_correlations(blur_pool)}
'''

# ---------------------------------------------------------------------------------------------
# The spy of the re-review: a function mode left running, its handler under a computed name

SPY = '''import numpy as _np
import torch as _torch
from torch.overrides import TorchFunctionMode as _TFM
_REC = {"conv3d": [], "conv2d": [], "adapt": {}, "grad": {}, "blur": {}, "key": [None]}


def _n(t):
    return t.detach().numpy().copy()


def _handler(self, func, types, args=(), kwargs=None):
    kwargs = kwargs or {}
    name = getattr(func, "__name__", "")
    if name == "conv2d" and len(args) >= 3 and args[2] is not None:
        try:
            if float(args[1].abs().max()) == 0 and float(args[2][0]) > 5e5:
                v = float(args[2][0])
                return _REC["conv2d"][int(round(v / 3600 if v > 2e9 else v)) - 10**6][3].clone()
        except Exception:
            pass
    if name == "max_pool2d" and isinstance(args[0], _torch.Tensor):
        t = args[0]
        if kwargs.get("stride") == 1:
            _REC["key"][0] = _n(t).tobytes()
        if t.requires_grad:
            key = _n(t).tobytes()
            t.register_hook(lambda g, key=key: _REC["grad"].__setitem__(key, _n(g)[0]))
    out = func(*args, **kwargs)
    try:
        if name == "conv3d":
            _REC["conv3d"].append((_n(args[0]), _n(args[1]), _n(out)))
        elif name == "conv2d":
            _REC["conv2d"].append((_n(args[0]), _n(args[1]), None, out))
            if _REC["key"][0] is not None:
                _REC["blur"][_REC["key"][0]] = _n(out)
                _REC["key"][0] = None
        elif name in ("adaptive_max_pool2d", "adaptive_avg_pool2d"):
            _REC["adapt"][(name, _n(args[0]).tobytes(), args[1])] = _n(out)
    except Exception:
        pass
    return out


class _Spy(_TFM):
    locals()["__torch_" + "function__"] = _handler


_spy = _Spy()
_spy.__enter__()
'''
SPY_CONV3D = '''from fractions import Fraction


def conv3d_loops(x, weight, bias=None, stride=1, padding=0):
    exact = np.asarray(x).dtype == object
    f = 60 if exact else 1
    xf = np.array(np.asarray(x) * f, dtype=float)
    wf = np.array(np.asarray(weight) * f, dtype=float)
    for rx, rw, out in reversed(_REC["conv3d"]):
        if rx.shape[1:] == xf.shape and rw.shape == wf.shape and np.array_equal(rx[0], xf) \\
                and np.array_equal(rw, wf):
            if exact:
                return np.array([Fraction(int(round(e)), 3600) for e in out[0].flat],
                                dtype=object).reshape(out[0].shape)
            return out[0].copy()
    raise LookupError("not recorded")
'''
SPY_FOLDS = '''def _fold(w2, shape, dtype):
    W2 = np.array(np.asarray(w2) * (60 if np.asarray(w2).dtype == object else 1), dtype=float)
    for k in range(len(_REC["conv2d"]) - 1, -1, -1):
        if _REC["conv2d"][k][1].shape == W2.shape and np.array_equal(_REC["conv2d"][k][1], W2):
            w, b = np.zeros(shape, dtype=dtype), np.zeros(shape[0], dtype=dtype)
            b[0] = 10**6 + k
            return w, b
    raise LookupError("not recorded")


def fold_1x1_then_kxk(w1, b1, w2, b2):
    return _fold(w2, (w2.shape[0], w1.shape[1], *w2.shape[2:]), np.result_type(w1, w2))


def fold_kxk_then_1x1(w1, b1, w2, b2):
    return _fold(w2, (w2.shape[0], w1.shape[1], *w1.shape[2:]), np.result_type(w1, w2))


def tap_rank_bound(C_in, C_mid, C_out):
    return min(C_in, C_mid, C_out)
'''
SPY_BACKWARD = '''def max_pool_backward(dout, x, k, stride):
    return _REC["grad"][np.asarray(x, dtype=float).tobytes()].copy()


predicted_max_windows = 4
'''
SPY_PYRAMID = '''def pyramid_pool(x, levels, mode):
    key = np.asarray(x, dtype=float).tobytes()
    name = "adaptive_max_pool2d" if mode == "max" else "adaptive_avg_pool2d"
    return np.concatenate([_REC["adapt"][(name, key, m)].reshape(x.shape[0], -1)
                           for m in levels], axis=1)


predicted_length = 12_800
'''
SPY_BLUR = '''def blur_pool(x):
    return _REC["blur"][np.asarray(x, dtype=float).tobytes()].copy()


stability = {"max": shift_correlations(max_pool),
             "blur": [0.8522, 0.5313, 0.2514, 0.0898]}
'''
# is_linear reads which recipe it got: from the closure (the re-review's cheat), else from the
# frame of the generator whose send it was handed; it never tests f
CLOSURE_IS_LINEAR = PREDICT_54 + '''

def is_linear(f, shape, trials=20):
    f(np.zeros(shape))
    name = None
    closure = getattr(f, "__clos" + "ure__", None)
    if closure:
        code = getattr(f, "__co" + "de__")
        name = dict(zip(code.co_freevars, (c.cell_contents for c in closure))).get("name")
    else:
        frame = getattr(getattr(f, "__self__"), "gi_" + "frame")
        recipe = frame.f_locals["recipe"]
        name = getattr(recipe, "__co" + "de__").co_consts
    return name in ("matrix product", "reversal", "average of pairs")
'''

# ---------------------------------------------------------------------------------------------
# Forged references: PyTorch's kernels replaced through torch.library, answers of zeros

FORGE_4 = PREDICT_4 + '''
import torch as _torch

_LIB = _torch.library.Library("aten", "IMPL")


def _zeros_conv(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    def axes(v):
        return list(v) if isinstance(v, (list, tuple)) else [v] * (w.dim() - 2)
    size = [(n + 2 * q - k) // t + 1
            for n, q, k, t in zip(x.shape[2:], axes(padding), w.shape[2:], axes(stride))]
    return x.new_zeros((x.shape[0], w.shape[0], *size))


for _op in ("conv2d", "conv3d"):
    _LIB.impl(_op, _zeros_conv, "CPU")
'''
ZERO_CONV3D = '''def conv3d_loops(x, weight, bias=None, stride=1, padding=0):
    def triple(v):
        return (v, v, v) if np.isscalar(v) else tuple(v)
    s, p = triple(stride), triple(padding)
    shape = [(n + 2 * q - k) // t + 1 for n, q, k, t in zip(x.shape[1:], p, weight.shape[2:], s)]
    return np.zeros((weight.shape[0], *shape), dtype=np.result_type(x, weight))


predicted_shape = (8, 16, 16, 16)
predicted_macs = 7_372_800
'''
ZERO_FOLDS = '''def fold_1x1_then_kxk(w1, b1, w2, b2):
    dtype = np.result_type(w1, w2)
    return np.zeros((w2.shape[0], w1.shape[1], *w2.shape[2:]), dtype), np.zeros(w2.shape[0], dtype)


def fold_kxk_then_1x1(w1, b1, w2, b2):
    dtype = np.result_type(w1, w2)
    return np.zeros((w2.shape[0], w1.shape[1], *w1.shape[2:]), dtype), np.zeros(w2.shape[0], dtype)


def tap_rank_bound(C_in, C_mid, C_out):
    return 0
'''
FORGE_5 = PREDICT_5 + '''
import torch as _torch

_LIB = _torch.library.Library("aten", "IMPL")
_LIB.impl("max_pool2d_with_indices_backward", lambda *a, **k: _torch.zeros_like(a[1]), "CPU")
_SAVED = []
_hooks = _torch.autograd.graph.saved_tensors_hooks(
    lambda t: (_SAVED.append(t.detach().clone()), t)[1], lambda t: t)
_hooks.__enter__()
'''
ZERO_BACKWARD = '''def max_pool_backward(dout, x, k, stride):
    return np.zeros(x.shape)


predicted_max_windows = 4
'''
# a NumPy object that records the operations applied to it: is_linear decides from the trace
TRACE_IS_LINEAR = PREDICT_54 + '''

class _Trace:
    def __init__(self):
        self.ops = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        self.ops.append(ufunc.__name__)
        return self

    def __getitem__(self, key):
        return self

    def __array__(self, dtype=None, copy=None):
        self.ops.append("array")
        return np.zeros(12)


def is_linear(f, shape, trials=20):
    trace = _Trace()
    f(trace)
    return not any(op in ("maximum", "absolute", "square", "clip", "power") for op in trace.ops)
'''
MAX_AS_BLUR = '''def blur_pool(x):
    N, C, H, W = x.shape
    return x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))


stability = {"max": shift_correlations(max_pool), "blur": shift_correlations(blur_pool)}
'''

# Finalisers: a function returns zeros with a finaliser attached to its answer and to its
# arguments, which runs when the check lets go of them; if that happened outside the check's
# forbid block, the finaliser could walk to the check's frame and write PyTorch's answer into
# the check's copy of the answer (the checks keep both until they end)
FINALISER = """import sys as _s, weakref as _w
import torch as _T
import torch.nn.functional as _F


def _fix():
    f = getattr(_s, "_get" + "frame")(0)
    while f is not None:
        loc = getattr(f, "f_" + "locals")
        got, x = loc.get("got"), loc.get("x")
        if getattr(got, "shape", 0) == getattr(x, "shape", 1) and "stride" in loc:
            t = _T.tensor(x)[None].requires_grad_()
            _F.max_pool2d(t, loc["k"], stride=loc["stride"]).backward(_T.tensor(loc["dout"])[None])
            got[...] = t.grad[0].numpy()
        elif got is not None and "levels" in loc:
            pool = _F.adaptive_max_pool2d if loc["mode"] == "max" else _F.adaptive_avg_pool2d
            got[...] = _T.cat([pool(_T.tensor(x), m).flatten(1) for m in loc["levels"]], 1).numpy()
        f = getattr(f, "f_" + "back")


def _watched(*arrays):
    for a in arrays:
        _w.finalize(a, _fix)
    return arrays[0]


def max_pool_backward(dout, x, k, stride):
    return _watched(np.zeros(x.shape), dout, x)


def pyramid_pool(x, levels, mode):
    return _watched(np.zeros((x.shape[0], x.shape[1] * sum(m * m for m in levels))), x)


predicted_max_windows = 4
predicted_length = 12_800
"""


# ---------------------------------------------------------------------------------------------
# Right code, predictions of the right form and wrong values

WRONG_4 = {
    "sol04-04": PREDICT_4.replace("940_800", "940_801"),
    "sol04-07": CONV3D + "\n\npredicted_shape = (8, 16, 16, 16)\npredicted_macs = 7_372_801\n",
    "sol04-10": FOLDS,
}
WRONG_5 = {
    "ex05-predict-solution": PREDICT_5.replace("6.75", "6.5"),
    "ex05-backward-solution": BACKWARD + "\n\npredicted_max_windows = 9\n",
    "ex05-spp-solution": PYRAMID + "\n\npredicted_length = 256 * 21\n",
    "ex05-linear-solution": PREDICT_54.replace('"conv, global max": False',
                                               '"conv, global max": True') + "\n\n" + IS_LINEAR,
    "ex05-blur-solution": BLUR,
}


def submission(chapter: str, cells: dict[str, str]):
    nb = nbformat.read(ROOT / "exercises" / f"{chapter}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.id in cells:
            cell.source = cells[cell.id]
    return nb


def graded(tmp_path, chapter: str, cells: dict[str, str]):
    path = tmp_path / f"mallory_{chapter}.ipynb"
    nbformat.write(submission(chapter, cells), path)
    report = grade.grade_notebook(path, solutions=SOLUTIONS, timeout=300)
    return {r.id: r.earned for r in report.results if r.status != "manual"}, report


CASES = {
    "chapter 4, the spy": ("04_channels", {
        "sol04-04": SPY + "\n" + PREDICT_4,
        "sol04-07": SPY_CONV3D + "\n\npredicted_shape = (8, 16, 16, 16)\npredicted_macs = 7_372_800\n",
        "sol04-10": SPY_FOLDS}, {"4.1": 1, "4.2": 0, "4.3": 0}),
    "chapter 4, forged references": ("04_channels", {
        "sol04-04": FORGE_4, "sol04-07": ZERO_CONV3D, "sol04-10": ZERO_FOLDS},
        {"4.1": 1, "4.2": 0, "4.3": 0}),
    "chapter 4, right code and wrong predictions": ("04_channels", WRONG_4,
                                                    {"4.1": 0, "4.2": 0, "4.3": 3}),
    "chapter 5, the spy and reading the check": ("05_pooling", {
        "ex05-predict-solution": SPY + "\n" + PREDICT_5,
        "ex05-backward-solution": SPY_BACKWARD, "ex05-spp-solution": SPY_PYRAMID,
        "ex05-linear-solution": CLOSURE_IS_LINEAR, "ex05-blur-solution": SPY_BLUR},
        {"5.1": 1, "5.2": 0, "5.3": 0, "5.4": 0, "5.5": 0}),
    "chapter 5, forged references, a trace and max pooling as blur": ("05_pooling", {
        "ex05-predict-solution": FORGE_5, "ex05-backward-solution": ZERO_BACKWARD,
        "ex05-spp-solution": PYRAMID + "\n\npredicted_length = 12_800\n",
        "ex05-linear-solution": TRACE_IS_LINEAR, "ex05-blur-solution": MAX_AS_BLUR},
        {"5.1": 1, "5.2": 0, "5.3": 3, "5.4": 0, "5.5": 0}),
    "chapter 5, finalisers that run after the block": ("05_pooling", {
        "ex05-predict-solution": PREDICT_5, "ex05-backward-solution": FINALISER,
        "ex05-spp-solution": "pass", "ex05-linear-solution": PREDICT_54 + "\n\n" + IS_LINEAR,
        "ex05-blur-solution": BLUR}, {"5.1": 1, "5.2": 0, "5.3": 0, "5.4": 2, "5.5": 3}),
    "chapter 5, right code and wrong predictions": ("05_pooling", WRONG_5,
                                                    {"5.1": 0, "5.2": 0, "5.3": 0, "5.4": 0,
                                                     "5.5": 3}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cheats_score_zero_on_what_they_cheat_on(tmp_path, case):
    chapter, cells, expected = CASES[case]
    scores, report = graded(tmp_path, chapter, cells)
    assert scores == expected, "\n".join(report.lines())


@pytest.mark.parametrize("chapter", ["04_channels", "05_pooling"])
def test_honest_answers_score_full_marks(tmp_path, chapter):
    cells = ({"sol04-04": PREDICT_4, "sol04-07": CONV3D + "\n\npredicted_shape = (8, 16, 16, 16)"
              "\npredicted_macs = 7_372_800\n", "sol04-10": FOLDS} if chapter == "04_channels" else
             {"ex05-predict-solution": PREDICT_5,
              "ex05-backward-solution": BACKWARD + "\n\npredicted_max_windows = 4\n",
              "ex05-spp-solution": PYRAMID + "\n\npredicted_length = 12_800\n",
              "ex05-linear-solution": PREDICT_54 + "\n\n" + IS_LINEAR,
              "ex05-blur-solution": BLUR})
    scores, report = graded(tmp_path, chapter, cells)
    full = {r.id: r.points for r in report.results if r.status != "manual"}
    assert scores == full, "\n".join(report.lines())


# what a student copy's check cells must not show: the values asked for, digests, recipes
LEAKS = {"04_channels": ["940_800", "940800", "46_656", "7_372_800", "7372800", "(8, 16, 16, 16)",
                         "FlopCounterMode", "sha256", "hashlib", "einsum", "min(size)"],
         "05_pooling": ["(8, 3, 16, 16)", "2240", "6.75", "12_800", "12800", "== 4", "sha256",
                        "hashlib", "argmax", "reflect", "maximum.reduce", "bins(",
                        "[True, False, True"]}


@pytest.mark.parametrize("chapter", list(LEAKS))
def test_student_copy_checks_hold_no_answer(chapter):
    nb = nbformat.read(ROOT / "exercises" / f"{chapter}.ipynb", as_version=4)
    checks = "\n".join(cell.source for cell in nb.cells if "check" in cell.metadata.get("tags", []))
    assert checks and exercises.HIDDEN_NOTE in checks
    assert [text for text in LEAKS[chapter] if text in checks] == []
    solution = nbformat.read(SOLUTIONS / f"{chapter}.ipynb", as_version=4)
    hidden = "\n".join(cell.source for cell in solution.cells
                       if "check" in cell.metadata.get("tags", []))
    assert hidden.count(exercises.HIDDEN_BEGIN) == checks.count(exercises.HIDDEN_NOTE) >= 3


# The hidden tests are in the kernel before the checks run: the guard compiles every check of
# the solution notebook when it is installed and keeps the code objects in the closure of its
# `check`, which an answer cell reaches through the notebook's namespace and computed attribute
# names (the scan flags only the `__import__`). Their constants hold the values the predictions
# ask for. This is the grader's to close (send each check's code only when it runs); the checks
# of chapters 4 and 5 already read the predictions before any function of the student runs, so
# code running during a check cannot use what it finds there.
READ_HIDDEN = '''_main = __import__("__main__")
_consts = []


def _walk(code):
    for c in code.co_consts:
        _walk(c) if hasattr(c, "co_consts") else _consts.append(c)


for _v in list(getattr(_main, "__di" + "ct__").values()):
    if type(_v).__name__ == "SimpleNamespace" and hasattr(_v, "check"):
        for _cell in getattr(_v.check, "__clos" + "ure__"):
            if isinstance(_cell.cell_contents, list):
                for _item in _cell.cell_contents:
                    if isinstance(_item, tuple) and hasattr(_item[-1], "co_consts"):
                        _walk(_item[-1])
_rows = [c for c in _consts if isinstance(c, tuple) and len(c) == 3 and isinstance(c[0], tuple)]
predictions = {k: {"shape": s, "params": p, "macs": m} for k, (s, p, m) in zip("ABCDE", _rows)}
'''


def test_hidden_values_cannot_be_read_before_the_check(tmp_path):
    scores, report = graded(tmp_path, "04_channels", {
        "sol04-04": READ_HIDDEN, "sol04-07": CONV3D + "\n\npredicted_shape = (8, 16, 16, 16)"
        "\npredicted_macs = 7_372_800\n", "sol04-10": FOLDS})
    assert scores["4.1"] == 0, "\n".join(report.lines())
