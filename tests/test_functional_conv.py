"""Convolution and padding in cnnbook.functional, checked against PyTorch.

Forward outputs and every ``*_backward`` are compared with ``torch.nn.functional`` and autograd
on random configurations (Hypothesis), then with central differences (gradcheck), then on edge
cases; bad arguments must raise a ValueError/TypeError that names the argument.
"""
import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbook.functional as F
from cnnbook.functional._checks import _pair
from cnnbook.functional import conv
from cnnbook.functional.conv import _conv_chunks, _row_chunks
from cnnbook.check import assert_close, gradcheck
from engine_helpers import check, check_conv_like, torch_grads

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")


def explicit(padding, kernel, dilation):
    """PyTorch has no 'full' padding: it is dilation * (k - 1) on each side."""
    if padding == "full":
        return tuple(d * (k - 1) for k, d in zip(kernel, dilation))
    return padding


ints_or_pairs = lambda lo, hi: st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


@st.composite
def conv_configs(draw):
    groups = draw(st.integers(1, 3))
    padding = draw(st.one_of(ints_or_pairs(0, 2), st.sampled_from(["valid", "same", "full"])))
    stride = 1 if padding == "same" else draw(ints_or_pairs(1, 3))
    return dict(
        n=draw(st.integers(1, 3)), c_in=groups * draw(st.integers(1, 2)), c_out=groups * draw(st.integers(1, 2)),
        h=draw(st.integers(1, 10)), w=draw(st.integers(1, 10)), kh=draw(st.integers(1, 4)), kw=draw(st.integers(1, 4)),
        stride=stride, padding=padding, dilation=draw(ints_or_pairs(1, 2)), groups=groups,
        bias=draw(st.booleans()), seed=draw(st.integers(0, 2**31 - 1)))


def make_conv(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["n"], cfg["c_in"], cfg["h"], cfg["w"])).astype(dtype)
    weight = rng.standard_normal((cfg["c_out"], cfg["c_in"] // cfg["groups"], cfg["kh"], cfg["kw"])).astype(dtype)
    bias = rng.standard_normal(cfg["c_out"]).astype(dtype) if cfg["bias"] else None
    return rng, x, weight, bias


def run_conv2d_against_torch(cfg, dtype):
    rng, x, weight, bias = make_conv(cfg, dtype)
    if cfg.get("unbatched"):
        x = x[0]    # one (C_in, H, W) image, as PyTorch accepts
    kw = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=cfg["groups"])
    dil = _pair(cfg["dilation"], "dilation")
    tkw = dict(kw, padding=explicit(cfg["padding"], (cfg["kh"], cfg["kw"]), dil))
    try:
        TF.conv2d(torch.tensor(x), torch.tensor(weight), None, **tkw)
    except RuntimeError:  # e.g. the kernel is larger than the padded input: we must refuse too
        with pytest.raises(ValueError, match="weight: the .* kernel size"):
            F.conv2d(x, weight, bias, **kw)
        return
    dout = rng.standard_normal(TF.conv2d(torch.tensor(x), torch.tensor(weight), None, **tkw).shape).astype(dtype)
    check_conv_like(lambda a, b, c: F.conv2d(a, b, c, **kw), lambda d, a, b: F.conv2d_backward(d, a, b, **kw),
                    lambda a, b, c: TF.conv2d(a, b, c, **tkw), x, weight, bias, dout, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(cfg=conv_configs())
def test_conv2d_and_backward_match_torch(dtype, cfg):
    run_conv2d_against_torch(cfg, dtype)


@st.composite
def depthwise_configs(draw):
    """Depthwise convolutions (groups = C_in > 1, any channel multiplier): the row layout's cases."""
    channels = draw(st.integers(2, 5))
    padding = draw(st.one_of(ints_or_pairs(0, 3), st.sampled_from(["valid", "same", "full"])))
    stride = 1 if padding == "same" else draw(ints_or_pairs(1, 3))
    unbatched = draw(st.booleans())
    return dict(
        n=1 if unbatched else draw(st.integers(1, 3)), c_in=channels, c_out=channels * draw(st.integers(1, 3)),
        h=draw(st.integers(1, 12)), w=draw(st.integers(1, 12)), kh=draw(st.integers(1, 5)), kw=draw(st.integers(1, 5)),
        stride=stride, padding=padding, dilation=draw(ints_or_pairs(1, 3)), groups=channels,
        bias=unbatched or draw(st.booleans()), unbatched=unbatched, seed=draw(st.integers(0, 2**31 - 1)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(cfg=depthwise_configs())
def test_depthwise_conv2d_and_backward_match_torch(dtype, cfg):
    run_conv2d_against_torch(cfg, dtype)


@st.composite
def conv_transpose_configs(draw):
    cfg = draw(conv_configs())
    stride, dilation = _pair(cfg["stride"], "s"), _pair(cfg["dilation"], "d")
    cfg["stride"], cfg["dilation"] = stride, dilation
    cfg["padding"] = draw(ints_or_pairs(0, 2))
    cfg["output_padding"] = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    cfg["h"], cfg["w"] = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    return cfg


def run_conv_transpose2d_against_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["n"], cfg["c_in"], cfg["h"], cfg["w"])).astype(dtype)
    weight = rng.standard_normal((cfg["c_in"], cfg["c_out"] // cfg["groups"], cfg["kh"], cfg["kw"])).astype(dtype)
    bias = rng.standard_normal(cfg["c_out"]).astype(dtype) if cfg["bias"] else None
    kw = dict(stride=cfg["stride"], padding=cfg["padding"], output_padding=cfg["output_padding"],
              groups=cfg["groups"], dilation=cfg["dilation"])
    try:
        shape = TF.conv_transpose2d(torch.tensor(x), torch.tensor(weight), None, **kw).shape
    except RuntimeError:  # a negative output size
        shape = None
    if shape is None or 0 in shape:
        # torch raises for a negative size but returns an empty tensor for a zero size; the engine
        # rejects both, naming the output size, rather than hand a student an empty array
        with pytest.raises(ValueError, match="output size"):
            F.conv_transpose2d(x, weight, bias, **kw)
        return
    dout = rng.standard_normal(shape).astype(dtype)
    check_conv_like(lambda a, b, c: F.conv_transpose2d(a, b, c, **kw),
                    lambda d, a, b: F.conv_transpose2d_backward(d, a, b, **kw),
                    lambda a, b, c: TF.conv_transpose2d(a, b, c, **kw), x, weight, bias, dout, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(cfg=conv_transpose_configs())
def test_conv_transpose2d_and_backward_match_torch(dtype, cfg):
    run_conv_transpose2d_against_torch(cfg, dtype)


@given(n=st.integers(1, 3), groups=st.integers(1, 3), cin=st.integers(1, 2), cout=st.integers(1, 2),
       length=st.integers(1, 12), k=st.integers(1, 4), stride=st.integers(1, 3), dilation=st.integers(1, 2),
       padding=st.one_of(st.integers(0, 2), st.sampled_from(["valid", "same"])), seed=st.integers(0, 2**31 - 1))
def test_conv1d_and_backward_match_torch(n, groups, cin, cout, length, k, stride, dilation, padding, seed):
    stride = 1 if padding == "same" else stride
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cin, length))
    weight = rng.standard_normal((groups * cout, cin, k))
    bias = rng.standard_normal(groups * cout)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    try:
        shape = TF.conv1d(torch.tensor(x), torch.tensor(weight), None, **kw).shape
    except RuntimeError:
        with pytest.raises(ValueError, match="weight: the .* kernel size"):
            F.conv1d(x, weight, bias, **kw)
        return
    dout = rng.standard_normal(shape)
    out, (dx, dweight, dbias) = torch_grads(lambda a, b, c: TF.conv1d(a, b, c, **kw), dout, x, weight, bias)
    check(F.conv1d(x, weight, bias, **kw), out, np.float64, "out")
    got = F.conv1d_backward(dout, x, weight, **kw)
    for value, ref, name in zip(got, (dx, dweight, dbias), ("dx", "dweight", "dbias")):
        check(value, ref, np.float64, name)


@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), dims=st.integers(1, 3),
       mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]),
       values=st.lists(st.integers(-2, 3), min_size=6, max_size=6), seed=st.integers(0, 2**31 - 1))
def test_pad_and_backward_match_torch(shape, dims, mode, values, seed):
    if mode != "constant":  # PyTorch: non-negative, and the input has dims + 1 or dims + 2 axes
        values = [abs(v) for v in values]
        dims = min(dims, len(shape) - 1)
    pad = tuple(values[:2 * min(dims, len(shape))])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    extra = dict(value=1.5) if mode == "constant" else {}
    try:
        shape_out = TF.pad(torch.tensor(x), pad, mode=mode, **extra).shape
    except RuntimeError:
        with pytest.raises(ValueError, match="pad"):
            F.pad(x, pad, mode=mode, **extra)
        return
    dout = rng.standard_normal(shape_out)
    out, (dx,) = torch_grads(lambda a: TF.pad(a, pad, mode=mode, **extra), dout, x)
    check(F.pad(x, pad, mode=mode, **extra), out, np.float64, "out")
    check(F.pad_backward(dout, x, pad, mode=mode), dx, np.float64, "dx")


# ---- central differences ------------------------------------------------------------------------------

GRAD_KW = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)


def test_conv2d_backward_dx_passes_gradcheck():
    rng = np.random.default_rng(0)
    x, weight = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 2, 3, 2))
    dout = rng.standard_normal(F.conv2d(x, weight, **GRAD_KW).shape)
    dx, _, _ = F.conv2d_backward(dout, x, weight, **GRAD_KW)
    gradcheck(lambda a: F.conv2d(a, weight, **GRAD_KW), x, dout, dx, name="dx")


def test_conv2d_backward_dweight_and_dbias_pass_gradcheck():
    rng = np.random.default_rng(1)
    x, weight, bias = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 2, 3, 2)), rng.standard_normal(4)
    dout = rng.standard_normal(F.conv2d(x, weight, **GRAD_KW).shape)
    _, dweight, dbias = F.conv2d_backward(dout, x, weight, **GRAD_KW)
    gradcheck(lambda w: F.conv2d(x, w, bias, **GRAD_KW), weight, dout, dweight, name="dweight")
    gradcheck(lambda b: F.conv2d(x, weight, b, **GRAD_KW), bias, dout, dbias, name="dbias")


def test_conv_transpose2d_backward_passes_gradcheck():
    rng = np.random.default_rng(2)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=1)
    x, weight, bias = rng.standard_normal((1, 4, 3, 4)), rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(2)
    dout = rng.standard_normal(F.conv_transpose2d(x, weight, bias, **kw).shape)
    dx, dweight, dbias = F.conv_transpose2d_backward(dout, x, weight, **kw)
    gradcheck(lambda a: F.conv_transpose2d(a, weight, bias, **kw), x, dout, dx, name="dx")
    gradcheck(lambda w: F.conv_transpose2d(x, w, bias, **kw), weight, dout, dweight, name="dweight")
    gradcheck(lambda b: F.conv_transpose2d(x, weight, b, **kw), bias, dout, dbias, name="dbias")


def test_conv1d_backward_passes_gradcheck():
    rng = np.random.default_rng(3)
    x, weight = rng.standard_normal((2, 3, 9)), rng.standard_normal((2, 3, 3))
    kw = dict(stride=2, padding=1, dilation=2)
    dout = rng.standard_normal(F.conv1d(x, weight, **kw).shape)
    dx, dweight, _ = F.conv1d_backward(dout, x, weight, **kw)
    gradcheck(lambda a: F.conv1d(a, weight, **kw), x, dout, dx, name="dx")
    gradcheck(lambda w: F.conv1d(x, w, **kw), weight, dout, dweight, name="dweight")


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_backward_passes_gradcheck(mode):
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 4))
    pad = (2, 1, 1, 2) if mode != "constant" else (2, -1, 1, 0)
    dout = np.random.default_rng(5).standard_normal(F.pad(x, pad, mode).shape)
    gradcheck(lambda a: F.pad(a, pad, mode), x, dout, F.pad_backward(dout, x, pad, mode), name="dx")


# ---- padding modes and edge cases ----------------------------------------------------------------

@pytest.mark.parametrize("kernel, dilation", [((2, 4), (1, 1)), ((3, 2), (2, 1)), ((4, 4), (1, 3))])
def test_same_padding_puts_the_extra_pixel_bottom_right_like_torch(kernel, dilation):
    rng = np.random.default_rng(6)
    x, weight = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((2, 3, *kernel))
    ours = F.conv2d(x, weight, padding="same", dilation=dilation)
    assert ours.shape[2:] == x.shape[2:]
    check(ours, TF.conv2d(torch.tensor(x), torch.tensor(weight), padding="same", dilation=dilation),
          np.float64, "same")
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    by_hand = TF.pad(torch.tensor(x), (total[1] // 2, total[1] - total[1] // 2, total[0] // 2, total[0] - total[0] // 2))
    check(ours, TF.conv2d(by_hand, torch.tensor(weight), dilation=dilation), np.float64, "explicit pad")


def test_same_padding_backward_matches_torch():
    rng = np.random.default_rng(7)
    x, weight = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 2, 4))
    dout = rng.standard_normal((2, 3, 5, 6))
    _, (dx, dweight) = torch_grads(lambda a, b: TF.conv2d(a, b, padding="same"), dout, x, weight)
    got = F.conv2d_backward(dout, x, weight, padding="same")
    check(got[0], dx, np.float64, "dx")
    check(got[1], dweight, np.float64, "dweight")


def test_full_padding_gives_size_n_plus_k_minus_1_and_matches_explicit_padding():
    rng = np.random.default_rng(8)
    x, weight = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((3, 2, 3, 2))
    out = F.conv2d(x, weight, padding="full", dilation=(1, 2))
    assert out.shape == (1, 3, 5 + 3 - 1, 4 + (2 * (2 - 1) + 1) - 1)
    check(out, TF.conv2d(torch.tensor(x), torch.tensor(weight), padding=(2, 2), dilation=(1, 2)), np.float64, "full")


def test_valid_padding_is_no_padding():
    rng = np.random.default_rng(9)
    x, weight = rng.standard_normal((1, 2, 6, 5)), rng.standard_normal((1, 2, 3, 3))
    check(F.conv2d(x, weight, padding="valid"), F.conv2d(x, weight, padding=0), np.float64, "valid")


@pytest.mark.parametrize("x_shape, w_shape, kw", [
    ((1, 1, 1, 1), (2, 1, 1, 1), {}),                                   # 1x1 input and kernel
    ((2, 3, 4, 5), (2, 3, 4, 5), {}),                                   # kernel == input size
    ((1, 2, 3, 9), (3, 2, 2, 4), dict(stride=(1, 3))),                  # H != W, non-square kernel and stride
    ((1, 4, 7, 7), (4, 1, 3, 3), dict(groups=4, padding=1)),            # depthwise
    ((3, 2, 6, 6), (4, 2, 1, 1), {}),                                   # 1x1 conv (no im2col copy)
    ((1, 2, 6, 6), (2, 2, 1, 1), dict(stride=2)),                       # strided 1x1 conv
])
def test_conv2d_edge_cases_match_torch(x_shape, w_shape, kw):
    rng = np.random.default_rng(10)
    x, weight = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out = TF.conv2d(torch.tensor(x), torch.tensor(weight), **kw)
    dout = rng.standard_normal(out.shape)
    _, (dx, dweight) = torch_grads(lambda a, b: TF.conv2d(a, b, **kw), dout, x, weight)
    check(F.conv2d(x, weight, **kw), out, np.float64, "out")
    got = F.conv2d_backward(dout, x, weight, **kw)
    check(got[0], dx, np.float64, "dx")
    check(got[1], dweight, np.float64, "dweight")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op, x_shape, w_shape, kw", [
    ("conv2d", (2, 8, 12, 12), (8, 1, 3, 3), dict(padding=1, groups=8)),                      # depthwise
    ("conv2d", (2, 4, 11, 10), (8, 1, 3, 3), dict(stride=2, padding=2, dilation=2, groups=4)),  # x2 channels
    ("conv2d", (3, 9, 8), (3, 1, 4, 2), dict(padding="same", groups=3)),                      # unbatched
    ("conv2d", (2, 4, 12, 12), (6, 4, 3, 3), dict(padding=2, dilation=2)),                    # dilated
    ("conv2d", (2, 6, 14, 14), (16, 6, 5, 5), {}),                                            # LeNet layer 2
    ("conv2d", (1, 2, 5, 34), (3, 2, 3, 3), dict(padding=1)),                                 # 32+ columns
    ("conv_transpose2d", (2, 6, 6, 6), (6, 3, 4, 4), dict(stride=2, padding=1)),              # upsampling
    ("conv_transpose2d", (2, 4, 5, 6), (4, 1, 3, 3), dict(stride=2, padding=1, groups=4, output_padding=1)),
])
def test_depthwise_dilated_and_transposed_shapes_of_the_benchmark_match_torch(dtype, op, x_shape, w_shape, kw):
    rng = np.random.default_rng(16)
    x, weight = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    torch_op = getattr(TF, op)
    bias = rng.standard_normal(torch_op(torch.tensor(x), torch.tensor(weight), **kw).shape[-3]).astype(dtype)
    dout = rng.standard_normal(torch_op(torch.tensor(x), torch.tensor(weight), **kw).shape).astype(dtype)
    forward, backward = getattr(F, op), getattr(F, op + "_backward")
    check_conv_like(lambda a, b, c: forward(a, b, c, **kw), lambda d, a, b: backward(d, a, b, **kw),
                    lambda a, b, c: torch_op(a, b, c, **kw), x, weight, bias, dout, dtype)


def test_conv2d_accepts_an_unbatched_input_like_torch():
    rng = np.random.default_rng(11)
    x, weight, dout = rng.standard_normal((2, 5, 4)), rng.standard_normal((3, 2, 2, 2)), rng.standard_normal((3, 4, 3))
    _, (dx, dweight) = torch_grads(lambda a, b: TF.conv2d(a, b), dout, x, weight)
    assert F.conv2d(x, weight).shape == (3, 4, 3)
    got = F.conv2d_backward(dout, x, weight)
    check(got[0], dx, np.float64, "dx")
    check(got[1], dweight, np.float64, "dweight")


def test_conv2d_keeps_float32_and_turns_integers_into_float64():
    x32 = np.ones((1, 1, 3, 3), dtype=np.float32)
    assert F.conv2d(x32, np.ones((1, 1, 2, 2))).dtype == np.float32
    ints = np.arange(9).reshape(1, 1, 3, 3)
    out = F.conv2d(ints, np.ones((1, 1, 2, 2), dtype=np.int64))
    assert out.dtype == np.float64
    check(out, TF.conv2d(torch.tensor(ints, dtype=torch.float64), torch.ones(1, 1, 2, 2, dtype=torch.float64)),
          np.float64, "int input")


@pytest.mark.parametrize("stride, groups", [(2, 1), (1, 1), (1, 2), (2, 2)])   # groups 2: depthwise
def test_conv2d_gives_the_same_result_when_the_batch_is_processed_in_chunks(monkeypatch, stride, groups):
    rng = np.random.default_rng(12)
    x, weight = rng.standard_normal((5, 2, 6, 6)), rng.standard_normal((4 if groups == 2 else 3, 2 // groups, 3, 3))
    bias = rng.standard_normal(weight.shape[0])
    kw = dict(stride=stride, padding=1, groups=groups)
    dout = rng.standard_normal(F.conv2d(x, weight, **kw).shape)
    whole = F.conv2d(x, weight, bias, **kw), *F.conv2d_backward(dout, x, weight, **kw)
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)   # one sample per chunk
    assert len(_conv_chunks(x.shape, x.itemsize, (3, 3), 3, (3, 3), ((1, 1), (1, 1)))) == 5
    assert len(_row_chunks(x.shape, x.itemsize, (3, 3), (3, 3))) == 5
    chunked = F.conv2d(x, weight, bias, **kw), *F.conv2d_backward(dout, x, weight, **kw)
    for a, b, name in zip(chunked, whole, ("out", "dx", "dweight", "dbias")):
        check(a, b, np.float64, name)


def test_conv2d_forward_peak_memory_stays_near_the_output_size():
    """The im2col buffer is chunked: a 3x3 conv must not hold 9 copies of its input at once."""
    x = np.random.default_rng(13).standard_normal((32, 16, 32, 32)).astype(np.float32)   # 2 MB
    weight = np.ones((16, 16, 3, 3), dtype=np.float32)
    out_bytes = x.nbytes                                                                 # same size
    tracemalloc.start()
    F.conv2d(x, weight, padding=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= 2.5 * out_bytes, f"peak {peak / 2**20:.1f} MB for an output of {out_bytes / 2**20:.1f} MB"


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(14)
    x, weight = rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((4, 3, 3, 2))
    kw = dict(stride=2, padding=1, dilation=(1, 2))
    dout = rng.standard_normal(F.conv2d(x, weight, **kw).shape)
    dx, _, _ = F.conv2d_backward(dout, x, weight, **kw)
    op = tuple(n - ((m - 1) * 2 - 2 + d * (k - 1) + 1) for n, m, k, d in zip(x.shape[2:], dout.shape[2:], (3, 2), (1, 2)))
    check(F.conv_transpose2d(dout, weight, output_padding=op, **kw), dx, np.float64, "conv_transpose2d")


def test_conv_transpose2d_book_example_2x2_input_4x4_kernel_stride_3_gives_7x7():
    rng = np.random.default_rng(15)
    x, weight = rng.standard_normal((1, 1, 2, 2)), rng.standard_normal((1, 1, 4, 4))
    out = F.conv_transpose2d(x, weight, stride=3)
    assert out.shape == (1, 1, 7, 7)
    check(out, TF.conv_transpose2d(torch.tensor(x), torch.tensor(weight), stride=3), np.float64, "out")


# ---- bad input -----------------------------------------------------------------------------------

X = np.zeros((2, 3, 8, 8))
W = np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: F.conv2d(X, np.zeros((4, 4, 3, 3))), ValueError, r"x: expected C_in .* = 4 channels, got 3"),
    (lambda: F.conv2d(np.zeros((2, 4, 8, 8)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"groups: 2 does not divide the 3 output channels"),
    (lambda: F.conv2d(X, np.zeros((4, 1, 3, 3)), groups=2), ValueError, r"groups: 2 does not divide the 3 input"),
    (lambda: F.conv2d(X, W, groups=0), ValueError, r"groups: expected a positive int"),
    (lambda: F.conv2d(X, W, padding="same", stride=2), ValueError, r"padding='same' needs stride=1, got stride=\(2, 2\)"),
    (lambda: F.conv2d(X, W, padding="half"), ValueError, r"padding: expected .*'same'.*got 'half'"),
    (lambda: F.conv2d(np.zeros((3, 8)), W), ValueError, r"x: expected a 4-D array .*got shape \(3, 8\)"),
    (lambda: F.conv2d(np.zeros((1, 2, 3, 8, 8)), W), ValueError, r"x: expected a 4-D array"),
    (lambda: F.conv2d(X, np.zeros((4, 3, 3))), ValueError, r"weight: expected a 4-D array"),
    (lambda: F.conv2d(X, np.zeros((4, 3, 0, 2))), ValueError, r"weight: expected every dimension .* at least 1, got shape \(4, 3, 0, 2\)"),
    (lambda: F.conv2d(X, np.zeros((0, 3, 2, 2))), ValueError, r"weight: expected every dimension"),
    (lambda: F.conv2d(np.zeros((5, 8, 8)), np.zeros((4, 1, 3, 3))), ValueError,
     r"x: expected C_in = .* 1 channels, got 5 \(a 3-D x is one unbatched image \(C_in, H, W\), as in PyTorch; a batch of grey images has shape \(N, 1, H, W\)\)"),
    (lambda: F.conv2d(X, np.zeros((4, 3, 9, 3))), ValueError, r"weight: the height kernel size 9.*padded input height 8"),
    (lambda: F.conv2d(X, W, dilation=4), ValueError, r"weight: .*effective size 9 with dilation 4.*height 8"),
    (lambda: F.conv2d(X, W, stride=0), ValueError, r"stride: expected values >= 1, got 0"),
    (lambda: F.conv2d(X, W, stride=(1, -2)), ValueError, r"stride: expected values >= 1"),
    (lambda: F.conv2d(X, W, dilation=0), ValueError, r"dilation: expected values >= 1"),
    (lambda: F.conv2d(X, W, padding=-1), ValueError, r"padding: expected values >= 0, got -1"),
    (lambda: F.conv2d(X, W, stride=1.5), TypeError, r"stride: expected an int or a pair of ints, got 1.5"),
    (lambda: F.conv2d(X, W, padding=(1, 2, 3)), TypeError, r"padding: expected an int or a pair"),
    (lambda: F.conv2d(X, W, bias=np.zeros(3)), ValueError, r"bias: expected shape \(4,\).*got \(3,\)"),
    (lambda: F.conv2d(X.astype(complex), W), TypeError, r"x: expected a real numeric array \(float32, float64, integer or bool\), got dtype complex128"),
    (lambda: F.conv2d_backward(np.zeros((2, 4, 5, 5)), X, W), ValueError, r"dout: expected shape \(2, 4, 6, 6\).*got \(2, 4, 5, 5\)"),
    (lambda: F.conv_transpose2d(X, np.zeros((4, 2, 3, 3))), ValueError, r"x: expected 4 channels \(weight.shape\[0\]\), got 3"),
    (lambda: F.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), stride=2, output_padding=2), ValueError,
     r"output_padding: must be smaller than stride or dilation"),
    (lambda: F.conv_transpose2d(np.zeros((1, 3, 1, 1)), np.zeros((3, 1, 1, 1)), padding=1), ValueError,
     r"output size \(-1, -1\) is not positive"),
    (lambda: F.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), padding="same"), ValueError, r"padding: conv_transpose2d expects"),
    (lambda: F.conv_transpose2d_backward(np.zeros((2, 2, 9, 9)), X, np.zeros((3, 2, 3, 3))), ValueError,
     r"dout: expected shape \(2, 2, 10, 10\)"),
    (lambda: F.conv1d(np.zeros((1, 3, 8)), W), ValueError, r"weight: expected a 3-D array"),
    (lambda: F.conv1d(np.zeros(5), np.zeros((1, 1, 2))), ValueError, r"x: expected a 3-D array \(N, C_in, L\)"),
    (lambda: F.conv1d(np.zeros((1, 1, 5)), np.zeros((1, 1, 2)), stride=0), ValueError, r"stride: expected values >= 1"),
    (lambda: F.pad(X, (1, 1), mode="mirror"), ValueError, r"mode: expected one of"),
    (lambda: F.pad(X, (1, 1, 1)), ValueError, r"pad: expected an even number of values"),
    (lambda: F.pad(X, (8, 0, 0, 0), mode="reflect"), ValueError, r"pad: reflect padding must be smaller than the input size 8"),
    (lambda: F.pad(X, (9, 0, 0, 0), mode="circular"), ValueError, r"pad: circular padding must be at most"),
    (lambda: F.pad(X, (-1, 0, 0, 0), mode="replicate"), ValueError, r"pad: negative padding is only allowed"),
    (lambda: F.pad(X, (1, 1), mode="reflect"), ValueError, r"pad: 'reflect' padding of the last 1 axes needs a 2-D or 3-D"),
    (lambda: F.pad(X, (-5, -4)), ValueError, r"pad: \(-5, -4\) crops more than the size 8"),
    (lambda: F.pad(np.zeros((1, 1)), (1, -2)), ValueError, r"pad: \(1, -2\) crops more than the size 1"),
    (lambda: F.pad_backward(np.zeros((2, 3, 8, 9)), X, (1, 1)), ValueError, r"dout: expected shape \(2, 3, 8, 10\)"),
])
def test_bad_arguments_raise_an_error_naming_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
