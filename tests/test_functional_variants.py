"""Chapter 6's engine ops: pixel (un)shuffle and the locally connected convolution, against PyTorch.

Forward and backward on random configurations (Hypothesis), float64 and float32, edge cases and
bad arguments. PyTorch has no locally connected layer; the reference is built from
``torch.nn.functional.unfold`` and one weight matrix per output position.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbook.functional as F
import cnnbook.nn as nn
from engine_helpers import check, torch_grads

DTYPES = [np.float64, np.float32]


# ------------------------------------------------------------------------------ pixel shuffle

@settings(max_examples=40, deadline=None)
@given(r=st.integers(1, 3), C=st.integers(1, 3), H=st.integers(1, 4), W=st.integers(1, 4),
       lead=st.sampled_from([(), (2,), (1, 2)]), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**16))
def test_pixel_shuffle_and_unshuffle_match_torch_forward_and_backward(r, C, H, W, lead, dtype,
                                                                       seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, C * r * r, H, W)).astype(dtype)
    dout = rng.standard_normal((*lead, C, H * r, W * r)).astype(dtype)
    out, (dx,) = torch_grads(lambda t: TF.pixel_shuffle(t, r), dout, x)
    check(F.pixel_shuffle(x, r), out, dtype, "pixel_shuffle")
    check(F.pixel_shuffle_backward(dout, x, r), dx, dtype, "pixel_shuffle_backward")

    y = rng.standard_normal((*lead, C, H * r, W * r)).astype(dtype)
    dout = rng.standard_normal((*lead, C * r * r, H, W)).astype(dtype)
    out, (dy,) = torch_grads(lambda t: TF.pixel_unshuffle(t, r), dout, y)
    check(F.pixel_unshuffle(y, r), out, dtype, "pixel_unshuffle")
    check(F.pixel_unshuffle_backward(dout, y, r), dy, dtype, "pixel_unshuffle_backward")


def test_pixel_shuffle_places_channel_blocks_in_squares():
    x = np.arange(8.0).reshape(1, 8, 1, 1)            # C = 2, r = 2
    out = F.pixel_shuffle(x, 2)
    assert out.shape == (1, 2, 2, 2)
    assert out[0, 0].tolist() == [[0, 1], [2, 3]] and out[0, 1].tolist() == [[4, 5], [6, 7]]
    assert np.array_equal(F.pixel_unshuffle(out, 2), x)
    assert F.pixel_shuffle(np.ones((4, 2, 2), dtype=int), 2).dtype == np.float64


def test_pixel_shuffle_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"x: the channels \(6"):
        F.pixel_shuffle(np.zeros((1, 6, 2, 2)), 2)
    with pytest.raises(ValueError, match="upscale_factor"):
        F.pixel_shuffle(np.zeros((1, 4, 2, 2)), 0)
    with pytest.raises(ValueError, match="downscale_factor"):
        F.pixel_unshuffle(np.zeros((1, 4, 2, 2)), 1.5)
    with pytest.raises(ValueError, match=r"x: height and width \(3, 4"):
        F.pixel_unshuffle(np.zeros((1, 1, 3, 4)), 2)
    with pytest.raises(ValueError, match="at least 3 axes"):
        F.pixel_shuffle(np.zeros((4, 2)), 2)
    with pytest.raises(ValueError, match="dout: expected shape"):
        F.pixel_shuffle_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 4, 2, 2)), 2)
    with pytest.raises(TypeError, match="x: expected a real numeric array"):
        F.pixel_shuffle(np.zeros((1, 4, 2, 2), dtype=complex), 2)


def test_pixel_shuffle_layers_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 18, 3, 2))
    layer = nn.PixelShuffle(3)
    out = layer(x)
    check(out, TF.pixel_shuffle(torch.tensor(x), 3), np.float64, "PixelShuffle")
    dout = rng.standard_normal(out.shape)
    check(layer.backward(dout), F.pixel_unshuffle(dout, 3), np.float64, "PixelShuffle.backward")
    un = nn.PixelUnshuffle(3)
    check(un(out), x, np.float64, "PixelUnshuffle")
    assert repr(layer) == "PixelShuffle(upscale_factor=3)"
    assert list(layer.named_parameters()) == []


# ------------------------------------------------------------------ locally connected layer

def torch_local(x, weight, bias, stride, padding):
    """The reference: unfold the patches, one (C_out x C_in k k) matrix per output position."""
    C_out, H_out, W_out, C_in, kH, kW = weight.shape
    cols = TF.unfold(x, (kH, kW), padding=padding, stride=stride)        # (N, C_in kH kW, L)
    cols = cols.reshape(x.shape[0], C_in * kH * kW, H_out, W_out)
    out = torch.einsum("nkhw,ohwk->nohw", cols, weight.reshape(C_out, H_out, W_out, -1))
    return out if bias is None else out + bias


@st.composite
def local_configs(draw):
    kH, kW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    H = draw(st.integers(max(1, kH - 2 * ph), 7))
    W = draw(st.integers(max(1, kW - 2 * pw), 7))
    return dict(N=draw(st.integers(1, 2)), C_in=draw(st.integers(1, 3)),
                C_out=draw(st.integers(1, 3)), H=H, W=W, kernel=(kH, kW), stride=(sh, sw),
                padding=(ph, pw), bias=draw(st.booleans()), unbatched=draw(st.booleans()))


@settings(max_examples=60, deadline=None)
@given(cfg=local_configs(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_conv2d_local_matches_the_unfold_construction_forward_and_backward(cfg, dtype, seed):
    rng = np.random.default_rng(seed)
    (kH, kW), (sh, sw), (ph, pw) = cfg["kernel"], cfg["stride"], cfg["padding"]
    H_out, W_out = (cfg["H"] + 2 * ph - kH) // sh + 1, (cfg["W"] + 2 * pw - kW) // sw + 1
    x = rng.standard_normal((cfg["N"], cfg["C_in"], cfg["H"], cfg["W"])).astype(dtype)
    weight = rng.standard_normal((cfg["C_out"], H_out, W_out, cfg["C_in"], kH, kW)).astype(dtype)
    bias = rng.standard_normal((cfg["C_out"], H_out, W_out)).astype(dtype) if cfg["bias"] else None
    dout = rng.standard_normal((cfg["N"], cfg["C_out"], H_out, W_out)).astype(dtype)
    out, (dx, dw, db) = torch_grads(
        lambda a, w, b: torch_local(a, w, b, cfg["stride"], cfg["padding"]), dout, x, weight, bias)
    if cfg["unbatched"]:
        x, dout, out, dx = x[0], dout[0], out[0], dx[0]
        if cfg["N"] > 1:
            return
    got = F.conv2d_local(x, weight, bias, stride=cfg["stride"], padding=cfg["padding"])
    check(got, out, dtype, "conv2d_local")
    gx, gw, gb = F.conv2d_local_backward(dout, x, weight, stride=cfg["stride"],
                                         padding=cfg["padding"])
    check(gx, dx, dtype, "dx")
    check(gw, dw, dtype, "dweight")
    if bias is not None:
        check(gb, db, dtype, "dbias")
    assert gb.shape == (cfg["C_out"], H_out, W_out)


def test_conv2d_local_with_one_kernel_everywhere_is_conv2d():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 8))
    kernel = rng.standard_normal((4, 3, 3, 3))
    H_out, W_out = 5, 4                                   # stride 2, padding 1
    shared = np.broadcast_to(kernel[:, None, None], (4, H_out, W_out, 3, 3, 3)).copy()
    check(F.conv2d_local(x, shared, stride=2, padding=1),
          F.conv2d(x, kernel, stride=2, padding=1), np.float64, "shared local = conv2d")


def test_conv2d_local_gradients_match_central_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 5, 4))
    weight = rng.standard_normal((2, 3, 2, 2, 3, 3))
    bias = rng.standard_normal((2, 3, 2))
    f = lambda a: F.conv2d_local(a, weight, bias).sum()
    dx, dw, db = F.conv2d_local_backward(np.ones((1, 2, 3, 2)), x, weight)
    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        num[idx] = (f(x + e) - f(x - e)) / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-6)
    assert np.array_equal(db, np.ones((2, 3, 2)))


def test_conv2d_local_rejects_bad_arguments():
    x = np.zeros((1, 2, 5, 5))
    with pytest.raises(ValueError, match="weight: expected a 6-D array"):
        F.conv2d_local(x, np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="weight: expected 2 input channels"):
        F.conv2d_local(x, np.zeros((1, 3, 3, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"give \(3, 3\) output positions"):
        F.conv2d_local(x, np.zeros((1, 4, 4, 2, 3, 3)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d_local(x, np.zeros((1, 1, 1, 2, 6, 6)))
    with pytest.raises(ValueError, match=r"bias: expected shape \(1, 3, 3\)"):
        F.conv2d_local(x, np.zeros((1, 3, 3, 2, 3, 3)), np.zeros(1))
    with pytest.raises(ValueError, match="x: expected a 4-D array"):
        F.conv2d_local(np.zeros((5, 5)), np.zeros((1, 3, 3, 1, 3, 3)))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d_local(x, np.zeros((1, 3, 3, 2, 3, 3)), stride=0)
    with pytest.raises(ValueError, match="dout: expected shape"):
        F.conv2d_local_backward(np.zeros((1, 1, 2, 2)), x, np.zeros((1, 3, 3, 2, 3, 3)))


def test_locally_connected_layer_counts_weights_and_trains_like_the_functional_pair():
    layer = nn.LocallyConnected2d(3, 4, input_size=(8, 7), kernel_size=3, stride=1, padding=1,
                                  rng=np.random.default_rng(0))
    shapes = {name: p.shape for name, p in layer.named_parameters()}
    assert shapes == {"weight": (4, 8, 7, 3, 3, 3), "bias": (4, 8, 7)}
    assert layer.output_size == (8, 7)
    bound = 1 / np.sqrt(27)
    assert np.abs(layer.weight.data).max() <= bound
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 7))
    out = layer(x)
    dout = np.ones_like(out)
    dx = layer.backward(dout)
    rx, rw, rb = F.conv2d_local_backward(dout, x, layer.weight.data, stride=1, padding=1)
    assert np.array_equal(dx, rx) and np.array_equal(layer.weight.grad, rw)
    assert np.array_equal(layer.bias.grad, rb)
    no_bias = nn.LocallyConnected2d(1, 1, 4, 2, bias=False)
    assert [name for name, _ in no_bias.named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match="kernel_size"):
        nn.LocallyConnected2d(1, 1, 3, 5)
