"""Layer, group and instance normalisation (cnnbook.functional and cnnbook.nn) against PyTorch.

Forward outputs, running statistics and every gradient (x, weight, bias) are compared with
PyTorch's forward and autograd on random shapes, in float64 and float32.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st

from cnnbook import functional as F
from cnnbook import nn
from cnnbook.check import compare_with_torch, gradcheck
from engine_helpers import close, torch_grads

DTYPES = [np.float64, np.float32]
dtypes = st.sampled_from(DTYPES)
seeds = st.integers(0, 2**32 - 1)


def _data(rng, shape, dtype, scale=3.0, shift=1.0):
    return (scale * rng.standard_normal(shape) + shift).astype(dtype)


def _compare(out, grads, expected_out, expected_grads, dtype):
    """Outputs to the book's tolerance; gradients through the statistics with the float32
    allowance of the batch-norm tests (a difference of O(1) terms over a small std)."""
    assert out.dtype == dtype
    close(out, expected_out, dtype, "out", scale=10)
    for name, got, want in zip(("dx", "dweight", "dbias"), grads, expected_grads):
        if want is not None:
            assert got.dtype == dtype, name
            close(got, want, dtype, name, scale=100 if dtype == np.float32 else 10)


# --------------------------------------------------------------------------------------------
# layer_norm
# --------------------------------------------------------------------------------------------
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
       norm=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       affine=st.sampled_from(["none", "weight", "both"]), eps=st.sampled_from([1e-5, 1e-2]),
       dtype=dtypes, seed=seeds)
def test_layer_norm_forward_and_backward_match_autograd(lead, norm, affine, eps, dtype, seed):
    rng = np.random.default_rng(seed)
    shape, norm = tuple(lead) + tuple(norm), tuple(norm)
    x, dout = _data(rng, shape, dtype), rng.standard_normal(shape).astype(dtype)
    weight = rng.standard_normal(norm).astype(dtype) if affine != "none" else None
    bias = rng.standard_normal(norm).astype(dtype) if affine == "both" else None
    out_t, grads_t = torch_grads(lambda a, w, b: TF.layer_norm(a, norm, w, b, eps), dout, x,
                                 weight, bias)
    out = F.layer_norm(x, norm, weight, bias, eps)
    grads = F.layer_norm_backward(dout, x, norm, weight, eps)
    expected = list(grads_t)
    if bias is None:       # what a bias would receive: sum of dout over the leading axes
        expected[2] = dout.reshape(-1, *norm).sum(axis=0)
    _compare(out, grads, out_t, expected, dtype)
    assert grads[1].shape == grads[2].shape == norm


def test_layer_norm_accepts_an_int_normalized_shape():
    x = np.random.default_rng(0).standard_normal((3, 5))
    close(F.layer_norm(x, 5), TF.layer_norm(torch.tensor(x), (5,)), np.float64, "out")


def test_layer_norm_backward_passes_gradcheck():
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    weight, bias = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    dx, dweight, dbias = F.layer_norm_backward(dout, x, (3, 4), weight)
    gradcheck(lambda v: F.layer_norm(v, (3, 4), weight, bias), x, dout, dx)
    gradcheck(lambda w: F.layer_norm(x, (3, 4), w, bias), weight, dout, dweight)
    gradcheck(lambda b: F.layer_norm(x, (3, 4), weight, b), bias, dout, dbias)


@pytest.mark.parametrize("shape, normalized_shape, kwargs, match", [
    ((2, 4), (3,), {}, r"x: expected shape \(\*, 3\) for normalized_shape=\(3,\), got \(2, 4\)"),
    ((4,), (2, 4), {}, r"x: expected shape \(\*, 2, 4\) .* got \(4,\)"),
    ((2, 4), (4,), dict(weight=np.ones(3)), r"weight: expected shape \(4,\) .* got \(3,\)"),
    ((2, 4), (4,), dict(bias=np.ones((1, 4))), r"bias: expected shape \(4,\) .* got \(1, 4\)"),
    ((2, 4), 0, {}, r"normalized_shape: expected a positive int"),
    ((2, 4), (), {}, r"normalized_shape: expected a positive int"),
    ((2, 4), 2.0, {}, r"normalized_shape: expected a positive int"),
])
def test_layer_norm_rejects_bad_arguments(shape, normalized_shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        F.layer_norm(np.zeros(shape), normalized_shape, **kwargs)


# --------------------------------------------------------------------------------------------
# group_norm
# --------------------------------------------------------------------------------------------
@st.composite
def group_cases(draw):
    G = draw(st.integers(1, 4))
    C = G * draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    shape = (draw(st.integers(1, 3)), C, *spatial)
    assume(C // G * int(np.prod(spatial)) > 1)          # PyTorch refuses one value per group
    return G, shape


@given(case=group_cases(), affine=st.booleans(), eps=st.sampled_from([1e-5, 1e-2]),
       dtype=dtypes, seed=seeds)
def test_group_norm_forward_and_backward_match_autograd(case, affine, eps, dtype, seed):
    G, shape = case
    rng = np.random.default_rng(seed)
    C = shape[1]
    x, dout = _data(rng, shape, dtype), rng.standard_normal(shape).astype(dtype)
    weight = rng.standard_normal(C).astype(dtype) if affine else None
    bias = rng.standard_normal(C).astype(dtype) if affine else None
    out_t, grads_t = torch_grads(lambda a, w, b: TF.group_norm(a, G, w, b, eps), dout, x,
                                 weight, bias)
    grads = F.group_norm_backward(dout, x, G, weight, eps)
    expected = list(grads_t)
    if bias is None:
        expected[2] = dout.reshape(shape[0], C, -1).sum(axis=(0, 2))
    _compare(F.group_norm(x, G, weight, bias, eps), grads, out_t, expected, dtype)


def test_group_norm_interpolates_between_layer_norm_and_instance_norm():
    x = np.random.default_rng(2).standard_normal((3, 6, 4, 5))
    close(F.group_norm(x, 1), F.layer_norm(x, (6, 4, 5)), np.float64, "G = 1")
    close(F.group_norm(x, 6), F.instance_norm(x), np.float64, "G = C")


def test_group_norm_backward_passes_gradcheck():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((2, 4, 3, 2)), rng.standard_normal((2, 4, 3, 2))
    weight, bias = rng.standard_normal(4), rng.standard_normal(4)
    dx, dweight, dbias = F.group_norm_backward(dout, x, 2, weight)
    gradcheck(lambda v: F.group_norm(v, 2, weight, bias), x, dout, dx)
    gradcheck(lambda w: F.group_norm(x, 2, w, bias), weight, dout, dweight)
    gradcheck(lambda b: F.group_norm(x, 2, weight, b), bias, dout, dbias)


@pytest.mark.parametrize("shape, groups, kwargs, match", [
    ((2, 6, 3, 3), 4, {}, r"num_groups: expected a divisor of the 6 channels of x \(2, 6, 3, 3\)"),
    ((2, 6, 3, 3), 0, {}, r"num_groups: expected a positive int, got 0"),
    ((2, 6, 3, 3), 2.0, {}, r"num_groups: expected a positive int, got 2.0"),
    ((6,), 2, {}, r"x: expected shape \(N, C, ...\) with at least 2 axes, got \(6,\)"),
    ((2, 6, 3, 3), 2, dict(weight=np.ones(3)), r"weight: expected shape \(6,\) .* got \(3,\)"),
    ((2, 6, 3, 3), 2, dict(bias=np.ones(7)), r"bias: expected shape \(6,\) .* got \(7,\)"),
    ((2, 3), 3, {}, r"x: expected more than 1 value per group, got shape \(2, 3\)"),
])
def test_group_norm_rejects_bad_arguments(shape, groups, kwargs, match):
    with pytest.raises(ValueError, match=match):
        F.group_norm(np.zeros(shape), groups, **kwargs)


# --------------------------------------------------------------------------------------------
# instance_norm
# --------------------------------------------------------------------------------------------
inst_shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
                        st.integers(1, 4)).filter(lambda s: s[2] * s[3] > 1)


@given(shape=inst_shapes, affine=st.booleans(), momentum=st.sampled_from([0.1, 0.5]),
       track=st.booleans(), dtype=dtypes, seed=seeds)
def test_instance_norm_matches_autograd_and_running_stats(shape, affine, momentum, track,
                                                          dtype, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x, dout = _data(rng, shape, dtype), rng.standard_normal(shape).astype(dtype)
    weight = rng.standard_normal(C).astype(dtype) if affine else None
    bias = rng.standard_normal(C).astype(dtype) if affine else None
    rm = rng.standard_normal(C).astype(dtype) if track else None
    rv = (rng.random(C) + 0.5).astype(dtype) if track else None
    rm_t, rv_t = (torch.tensor(rm), torch.tensor(rv)) if track else (None, None)
    out_t, grads_t = torch_grads(
        lambda a, w, b: TF.instance_norm(a, rm_t, rv_t, w, b, True, momentum), dout, x,
        weight, bias)
    out = F.instance_norm(x, rm, rv, weight, bias, True, momentum)
    grads = F.instance_norm_backward(dout, x, weight)
    expected = list(grads_t)
    if bias is None:
        expected[2] = dout.sum(axis=(0, 2, 3))
    _compare(out, grads, out_t, expected, dtype)
    if track:
        close(rm, rm_t, dtype, "running_mean", scale=10)
        close(rv, rv_t, dtype, "running_var", scale=10)


@given(shape=inst_shapes, dtype=dtypes, seed=seeds)
def test_instance_norm_with_running_stats_matches_autograd(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x, dout = _data(rng, shape, dtype), rng.standard_normal(shape).astype(dtype)
    weight, bias = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = rng.standard_normal(C).astype(dtype), (rng.random(C) + 0.5).astype(dtype)
    out_t, grads_t = torch_grads(
        lambda a, w, b: TF.instance_norm(a, torch.tensor(rm), torch.tensor(rv), w, b,
                                         use_input_stats=False), dout, x, weight, bias)
    out = F.instance_norm(x, rm, rv, weight, bias, use_input_stats=False)
    grads = F.instance_norm_backward(dout, x, weight, use_input_stats=False, running_mean=rm,
                                     running_var=rv)
    _compare(out, grads, out_t, grads_t, dtype)


def test_instance_norm_backward_passes_gradcheck():
    rng = np.random.default_rng(4)
    x, dout = rng.standard_normal((2, 3, 3, 2)), rng.standard_normal((2, 3, 3, 2))
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    dx, dweight, dbias = F.instance_norm_backward(dout, x, weight)
    gradcheck(lambda v: F.instance_norm(v, None, None, weight, bias), x, dout, dx)
    gradcheck(lambda w: F.instance_norm(x, None, None, w, bias), weight, dout, dweight)
    gradcheck(lambda b: F.instance_norm(x, None, None, weight, b), bias, dout, dbias)


@pytest.mark.parametrize("shape, kwargs, match", [
    ((2, 3), {}, r"x: expected shape \(N, C, L\), \(N, C, H, W\) or \(N, C, D, H, W\), got \(2, 3\)"),
    ((2, 3, 1, 1), {}, r"x: expected more than 1 position per channel .* got shape \(2, 3, 1, 1\)"),
    ((2, 3, 2, 2), dict(weight=np.ones(2)), r"weight: expected shape \(3,\) .* got \(2,\)"),
    ((2, 3, 2, 2), dict(running_mean=np.ones(4), running_var=np.ones(3)),
     r"running_mean: expected shape \(3,\) .* got \(4,\)"),
    ((2, 3, 2, 2), dict(use_input_stats=False),
     r"running_mean, running_var: expected arrays of shape \(C,\)"),
])
def test_instance_norm_rejects_bad_arguments(shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        F.instance_norm(np.zeros(shape), **kwargs)


@pytest.mark.parametrize("op, args", [
    (F.layer_norm_backward, ((4,),)), (F.group_norm_backward, (2,)),
    (F.instance_norm_backward, ()),
])
def test_backward_rejects_dout_of_wrong_shape(op, args):
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 4, 3, 4\) \(the shape of x\)"):
        op(np.zeros((2, 4, 3, 3)), np.zeros((2, 4, 3, 4)), *args)


def test_ops_reject_non_numeric_input():
    for op, args in [(F.layer_norm, (2,)), (F.group_norm, (1,)), (F.instance_norm, ())]:
        with pytest.raises(TypeError, match=r"x: expected a real numeric array"):
            op(np.array([["a", "b"]] * 2), *args)


# --------------------------------------------------------------------------------------------
# the layers, against their torch.nn twins
# --------------------------------------------------------------------------------------------
class _NumpyLayers:
    """cnnbook.nn with every layer's dtype filled in (a stand-in for twins.library)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __getattr__(self, name):
        cls = getattr(nn, name)
        return cls if name == "Sequential" or name == "ReLU" or name == "Flatten" else \
            (lambda *a, **k: cls(*a, **k, dtype=self.dtype))


def _norm_stack(L, kind):
    norms = {"layer": lambda: L.LayerNorm((4, 6, 6)), "group": lambda: L.GroupNorm(2, 4),
             "instance": lambda: L.InstanceNorm2d(4, affine=True),
             "instance_tracked": lambda: L.InstanceNorm2d(4, affine=True,
                                                          track_running_stats=True)}
    return L.Sequential(L.Conv2d(2, 4, 3, padding=1), norms[kind](), L.ReLU(), L.Flatten(),
                        L.Linear(4 * 6 * 6, 3))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("kind", ["layer", "group", "instance", "instance_tracked"])
def test_norm_layers_equal_their_torch_twins(kind, mode, dtype):
    # both models built here rather than by twins.make, so that only these layers are needed
    torch.manual_seed(0)
    torch_model = _norm_stack(torch.nn, kind).to(getattr(torch, dtype))
    np_model = _norm_stack(_NumpyLayers(np.dtype(dtype)), kind)
    with torch.no_grad():                       # non-trivial affine parameters
        g = torch.Generator().manual_seed(1)
        torch_model[1].weight.copy_(1 + 0.3 * torch.randn(torch_model[1].weight.shape,
                                                          generator=g))
        torch_model[1].bias.copy_(0.3 * torch.randn(torch_model[1].bias.shape, generator=g))
        if kind == "instance_tracked":
            torch_model[1].running_mean.copy_(0.2 * torch.randn(4, generator=g))
            torch_model[1].running_var.copy_(1 + torch.rand(4, generator=g))
    np_model.load_state_dict(torch_model.state_dict())
    getattr(np_model, mode)()
    getattr(torch_model, mode)()
    x = np.random.default_rng(1).standard_normal((3, 2, 6, 6))
    report = compare_with_torch(np_model, torch_model, x)
    assert {"output", "grad x", "grad 1.weight", "grad 1.bias"} <= set(report)
    if kind == "instance_tracked":
        for key in ("1.running_mean", "1.running_var"):
            close(np_model.state_dict()[key], torch_model.state_dict()[key].numpy(),
                  np.dtype(dtype).type, key)


def test_norm_layers_have_torch_parameter_names_and_defaults():
    pairs = [(nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))),
             (nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False)),
             (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)),
             (nn.GroupNorm(2, 4, affine=False), torch.nn.GroupNorm(2, 4, affine=False)),
             (nn.InstanceNorm2d(3), torch.nn.InstanceNorm2d(3)),
             (nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
              torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True))]
    for ours, theirs in pairs:
        mine, ref = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(ref), type(ours).__name__
        for key in mine:
            assert np.array_equal(mine[key], ref[key].numpy()), key


def test_instance_norm2d_accepts_an_unbatched_image():
    x = np.random.default_rng(5).standard_normal((3, 4, 5))
    layer = nn.InstanceNorm2d(3, affine=True)
    out = layer(x)
    close(out, torch.nn.InstanceNorm2d(3, affine=True).double()(torch.tensor(x)).detach(),
          np.float64, "out")
    assert layer.backward(np.ones_like(out)).shape == x.shape


def test_norm_layers_reject_bad_configurations_and_inputs():
    with pytest.raises(ValueError, match=r"num_groups: expected a divisor of num_channels=6"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 6, ...\), got \(2, 4, 3\)"):
        nn.GroupNorm(3, 6)(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"x: InstanceNorm2d expects shape"):
        nn.InstanceNorm2d(3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x: expected 3 channels"):
        nn.InstanceNorm2d(3, affine=True)(np.zeros((2, 4, 3, 3)))
    with pytest.raises(ValueError, match=r"x: expected shape \(\*, 4\)"):
        nn.LayerNorm(4)(np.zeros((2, 3)))
